package acgs.mod_a

blocked if input.data.n > 100
