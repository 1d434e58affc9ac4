// Command spellhost runs Lua stress scenarios and error-injection tests
// against a kernel of tools, and reports what it measured.
package main

import "os"

func main() { os.Exit(int(Main(newOSState(), os.Args[1:]))) }
