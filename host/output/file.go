package output

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
)

// file is an output's file: buffered, and gzip-compressed when its name
// ends in .gz. Flush pushes what is buffered through the compressor to
// the file, so a reader sees every complete line written so far.
type file struct {
	f  *os.File
	gz *gzip.Writer
	w  *bufio.Writer
}

// createFile creates (or truncates) path for an output.
func createFile(path string) (*file, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	out := &file{f: f}
	var dst io.Writer = f
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		// The fastest level: the writer must keep up with a busy run.
		out.gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		dst = out.gz
	}
	out.w = bufio.NewWriterSize(dst, 64<<10)
	return out, nil
}

func (f *file) Flush() error {
	if err := f.w.Flush(); err != nil {
		return err
	}
	if f.gz != nil {
		return f.gz.Flush()
	}
	return nil
}

func (f *file) Close() error {
	err := f.w.Flush()
	if f.gz != nil {
		err = errors.Join(err, f.gz.Close())
	}
	return errors.Join(err, f.f.Close())
}
