package vuhttp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Reading a body as its response type says: kept (decompressed, within the
// limit) or discarded.

var gzipPool sync.Pool // *gzip.Reader

// encoding is a body's Content-Encoding, as far as the engine decodes it.
type encoding uint8

const (
	identity encoding = iota
	gzipped
	deflated
	otherEncoding // kept as sent
)

func parseEncoding(v string) encoding {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "identity":
		return identity
	case "gzip", "x-gzip":
		return gzipped
	case "deflate":
		return deflated
	}
	return otherEncoding
}

// errReader remembers the error its reader returned, so a decoder's
// failure can be told from the network's.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// keep reads r (the body, framing removed) into resp.Body, decoding enc,
// and fails with ErrTooLarge past limit bytes. length is the body's
// declared length (-1: unknown).
func keep(r io.Reader, resp *Response, enc encoding, length, limit int64) error {
	if enc == identity || enc == otherEncoding {
		if length > limit {
			return fmt.Errorf("%w: %d bytes declared, the limit is %d", ErrTooLarge, length, limit)
		}
		if length >= 0 {
			b := grow(resp.buf, int(length))
			n, err := io.ReadFull(r, b)
			resp.buf, resp.Body, resp.BodySize = b[:0], b[:n], int64(n)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		err := readAll(r, resp, limit)
		resp.BodySize = int64(len(resp.Body))
		return err
	}
	src := &errReader{r: r}
	var dec io.Reader
	var closeDec func()
	switch enc {
	case gzipped:
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(src)
		} else {
			err = zr.Reset(src)
		}
		if err != nil {
			return decodeErr(src, err)
		}
		dec, closeDec = zr, func() { gzipPool.Put(zr) }
	case deflated:
		// "deflate" is zlib-wrapped by the standard, bare by many servers:
		// the first two bytes tell.
		var hdr [2]byte
		n, err := io.ReadFull(src, hdr[:])
		if err != nil {
			return decodeErr(src, err)
		}
		in := io.MultiReader(bytes.NewReader(hdr[:n]), src)
		if hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			zr, err := zlib.NewReader(in)
			if err != nil {
				return decodeErr(src, err)
			}
			dec, closeDec = zr, func() { zr.Close() }
		} else {
			fr := flate.NewReader(in)
			dec, closeDec = fr, func() { fr.Close() }
		}
	}
	defer closeDec()
	err := readAll(dec, resp, limit)
	resp.BodySize = int64(len(resp.Body))
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return decodeErr(src, err)
	}
	// What follows the compressed stream (nothing, usually) is read, so the
	// connection can carry the next request.
	_, err = io.Copy(io.Discard, src)
	return err
}

// decodeErr is the network's error when the body's read failed, a
// decompression error otherwise.
func decodeErr(src *errReader, err error) error {
	if src.err != nil {
		return src.err
	}
	return &Error{Code: CodeDecompression, Msg: "decompressing the response body: " + err.Error(), Err: err}
}

// grow returns b with room for n bytes.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}

// readAll reads r into resp.Body, in resp's buffer, up to limit bytes.
func readAll(r io.Reader, resp *Response, limit int64) error {
	b := resp.buf[:0]
	defer func() { resp.buf = b[:0] }()
	for {
		if len(b) == cap(b) {
			if int64(len(b)) > limit {
				resp.Body = b
				return fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
			}
			size := min(max(2*cap(b), 512), int(min(limit+1, 1<<62)))
			nb := make([]byte, len(b), size)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			resp.Body = b[:limit]
			return fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
		}
		if err == io.EOF {
			resp.Body = b
			return nil
		}
		if err != nil {
			resp.Body = b
			return err
		}
	}
}
