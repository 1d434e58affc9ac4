error("module failed to load")
