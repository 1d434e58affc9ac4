return require("mods.cycle_b")
