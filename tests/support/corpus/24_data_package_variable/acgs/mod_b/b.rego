package acgs.mod_b

blocked if input.context.mode == "locked"
