package exitcode_test

import (
	"errors"
	"fmt"
	"testing"

	"spellhost/host/exitcode"
)

func TestCodes(t *testing.T) {
	if exitcode.Of(nil) != exitcode.OK {
		t.Fatal("nil error is not OK")
	}
	plain := errors.New("boom")
	if exitcode.Of(plain) != exitcode.Failure {
		t.Fatal("plain error is not Failure")
	}
	e := exitcode.WithCodeIfNone(plain, exitcode.InvalidConfig)
	if exitcode.Of(e) != exitcode.InvalidConfig || e.Error() != "boom" || !errors.Is(e, plain) {
		t.Fatalf("coded error: %v %d", e, exitcode.Of(e))
	}
	// The first code wins, even through wrapping.
	e2 := exitcode.WithCodeIfNone(fmt.Errorf("run: %w", e), exitcode.ScriptException)
	if exitcode.Of(e2) != exitcode.InvalidConfig {
		t.Fatalf("code = %d, want the inner 104", exitcode.Of(e2))
	}
	if exitcode.WithCodeIfNone(nil, exitcode.Failure) != nil {
		t.Fatal("nil error gained a code")
	}
}
