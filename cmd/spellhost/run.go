package main

func runCmd(gs *globalState, args []string) error   { return usageErr("run: not built yet") }
func checkCmd(gs *globalState, args []string) error { return usageErr("check: not built yet") }
