return require("mods.cycle_a")
