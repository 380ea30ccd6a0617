package acgs.helpers

trusted if input.context.agent.trust_level >= 0.8

small if input.data.memory_mb <= 2048
