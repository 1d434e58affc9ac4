//go:build !unix

package main

import "errors"

// mkfifo fails: there are no FIFOs here, so the scripts that need one
// are skipped.
func mkfifo(string) error { return errors.New("no FIFOs on this system") }
