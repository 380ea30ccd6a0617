package acgs.limits

over if input.data.memory_mb > 2048
