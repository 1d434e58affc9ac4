//go:build unix

package main

import "syscall"

// mkfifo makes a FIFO for an adversarial script's "-- fifo:" line.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
