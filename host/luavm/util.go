package luavm

import (
	"context"
	"slices"
)

func sortStrings(s []string) { slices.Sort(s) }

// ctxErrText is the error text for a context that ended: its cause when
// one was given (naming the limit), else the context's error.
func ctxErrText(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil {
		return c.Error()
	}
	return ctx.Err().Error()
}
