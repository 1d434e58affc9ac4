package perm

import "os/exec"

var execLookPath = exec.LookPath
