package files

import "context"

// WithWatchReady returns ctx carrying f, which file_watcher calls once its
// watches are in place and before it waits, so a test changes files only
// when the change will be seen.
func WithWatchReady(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, readyKey{}, f)
}
