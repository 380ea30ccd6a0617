package acgs.checks

failed contains "memory" if input.data.memory_mb > 2048

failed contains "network" if input.data.flags.network == true

failed contains "trust" if input.context.agent.trust_level < 0.5
