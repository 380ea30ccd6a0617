package acgs.denies

memory if input.data.memory_mb > 2048

trust if input.context.agent.trust_level < 0.5
