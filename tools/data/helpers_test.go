package data_test

import "spellhost/tools/internal/tooltest"

// The shared helpers under the short names the tests use.
var (
	call     = tooltest.Call
	callErr  = tooltest.CallErr
	testPerm = tooltest.Perm
)
