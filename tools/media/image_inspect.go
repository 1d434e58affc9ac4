package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"
	"slices"
	"strings"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// The inspect operation: what an image file holds, from its headers.

// inspect answers detect and metadata, reading only what they need.
func inspect(ctx context.Context, ps *perm.Set, p tools.Params, op string) (any, error) {
	path := p.String("file_path")
	mf, err := open(ps, "file_path", path)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	src := src{r: mf.f, size: mf.size}
	head, err := src.head(512)
	if err != nil {
		return nil, tools.Failed("read %s: %v", path, err)
	}
	format := detectImage(head)
	if op == "detect" {
		return map[string]any{"format": format, "mime": mimeOf(format), "decodable": slices.Contains(decodable, format), "file_size": mf.size}, nil
	}
	if !slices.Contains(decodable, format) {
		if format == "unknown" {
			return nil, tools.Failed("%s is not a recognised image file", path)
		}
		return nil, tools.Failed("metadata for %s files is not supported (it is read from %s)", format, strings.Join(decodable, ", "))
	}
	c, err := decodeConfig(format, bufio.NewReader(io.NewSectionReader(mf.f, 0, mf.size)))
	if err != nil {
		return nil, tools.Failed("decode %s header: %v", format, err)
	}
	if c.Width <= 0 || c.Height <= 0 {
		return nil, tools.Failed("image header declares %dx%d pixels", c.Width, c.Height)
	}
	res := map[string]any{
		"format":      format,
		"mime":        mimeOf(format),
		"width":       c.Width,
		"height":      c.Height,
		"pixels":      int64(c.Width) * int64(c.Height),
		"color_model": colorModel(c.ColorModel),
		"file_size":   mf.size,
	}
	if n := int64(c.Width) * int64(c.Height); n > maxPixels {
		res["warnings"] = []any{fmt.Sprintf("over the %d-pixel limit: other operations will refuse it", maxPixels)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch format {
	case "png":
		err = pngInfo(src, res)
	case "jpeg":
		err = jpegInfo(src, res)
	case "gif":
		var gi gifFrames
		gi, err = gifInfo(ctx, bufio.NewReader(io.NewSectionReader(mf.f, 0, mf.size)))
		if err == nil {
			res["version"] = gi.version
			res["frames"] = gi.frames
			if gi.loop >= 0 {
				res["loop_count"] = gi.loop
			}
			res["duration_ms"] = gi.delay * 10
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func colorModel(m color.Model) string {
	switch m {
	case color.RGBAModel:
		return "rgba"
	case color.RGBA64Model:
		return "rgba64"
	case color.NRGBAModel:
		return "nrgba"
	case color.NRGBA64Model:
		return "nrgba64"
	case color.GrayModel:
		return "gray"
	case color.Gray16Model:
		return "gray16"
	case color.YCbCrModel:
		return "ycbcr"
	case color.NYCbCrAModel:
		return "nycbcra"
	case color.CMYKModel:
		return "cmyk"
	case color.AlphaModel:
		return "alpha"
	}
	if _, ok := m.(color.Palette); ok {
		return "paletted"
	}
	return "other"
}

// pngInfo walks a PNG's chunks up to the first IDAT.
func pngInfo(src src, res map[string]any) error {
	h, err := src.at(8, 8+13)
	if err != nil || string(h[4:8]) != "IHDR" {
		return tools.Failed("malformed PNG: no IHDR chunk")
	}
	ihdr := h[8:]
	res["bit_depth"] = int(ihdr[8])
	res["color_type"] = map[byte]string{0: "grayscale", 2: "rgb", 3: "palette", 4: "grayscale_alpha", 6: "rgba"}[ihdr[9]]
	res["interlaced"] = ihdr[12] == 1
	animated := false
	text := map[string]any{}
	off := int64(8)
	for n := 0; n < pngMaxChunks; n++ {
		c, err := src.at(off, 8)
		if err != nil {
			return tools.Failed("malformed PNG: chunk header at offset %d is truncated", off)
		}
		size, typ := int64(be.Uint32(c)), string(c[4:8])
		if size > 1<<31-1 || size > src.size-off-12 {
			return tools.Failed("malformed PNG: chunk %q at offset %d claims %d bytes, past the end of the file", typ, off, size)
		}
		switch typ {
		case "acTL":
			animated = true
		case "tEXt":
			if d, err := src.at(off+8, min(size, maxTagBytes)); err == nil && len(text) < maxTags {
				if k, v, ok := bytes.Cut(d, []byte{0}); ok && len(k) > 0 {
					text[clip(latin1(k))] = clip(latin1(v))
				}
			}
		}
		if typ == "IDAT" || typ == "IEND" {
			break
		}
		off += 12 + size
	}
	res["animated"] = animated
	if len(text) > 0 {
		res["text"] = text
	}
	return nil
}

// jpegInfo walks a JPEG's segments up to the start of scan.
func jpegInfo(src src, res map[string]any) error {
	off := int64(2)
	for n := 0; n < pngMaxChunks; n++ {
		m, err := src.at(off, 4)
		if err != nil {
			return nil // metadata came from the decoder; the walk is best effort
		}
		if m[0] != 0xff {
			return nil
		}
		marker := m[1]
		if marker == 0xff { // fill byte
			off++
			continue
		}
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			off += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 {
			return nil
		}
		size := int64(be.Uint16(m[2:]))
		if size < 2 {
			return tools.Failed("malformed JPEG: segment 0x%02x at offset %d has length %d", marker, off, size)
		}
		switch {
		case marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc:
			if d, err := src.at(off+4, 6); err == nil {
				res["precision"] = int(d[0])
				res["components"] = int(d[5])
			}
			res["progressive"] = marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce
		case marker == 0xe1:
			if d, err := src.at(off+4, min(size-2, maxTagBytes)); err == nil && bytes.HasPrefix(d, []byte("Exif\x00\x00")) {
				if o := exifOrientation(d[6:]); o > 0 {
					res["orientation"] = o
				}
			}
		}
		off += 2 + size
	}
	return nil
}

// exifOrientation returns the Orientation tag (1 to 8) of a TIFF-format
// Exif block, or 0.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo interface {
		Uint16([]byte) uint16
		Uint32([]byte) uint32
	}
	switch string(t[:2]) {
	case "II":
		bo = le
	case "MM":
		bo = be
	default:
		return 0
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[ifd:]))
	for i := int64(0); i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// gifFrames is what a walk of a GIF's blocks finds.
type gifFrames struct {
	version string
	frames  int
	loop    int // -1: no looping extension
	delay   int // total, in hundredths of a second
}

// gifInfo walks a GIF's blocks without decoding any frame.
func gifInfo(ctx context.Context, r io.Reader) (gifFrames, error) {
	br := bufio.NewReader(r)
	bad := func(what string) (gifFrames, error) { return gifFrames{}, tools.Failed("malformed GIF: %s", what) }
	h := make([]byte, 13)
	if _, err := io.ReadFull(br, h); err != nil {
		return bad("header is truncated")
	}
	g := gifFrames{version: string(h[3:6]), loop: -1}
	skip := func(n int) error { _, err := br.Discard(n); return err }
	if h[10]&0x80 != 0 {
		if err := skip(3 << (h[10]&7 + 1)); err != nil {
			return bad("global color table is truncated")
		}
	}
	// subBlocks reads a run of data sub-blocks and returns copies of the
	// first two.
	subBlocks := func() (first, second []byte, err error) {
		for i := 0; ; i++ {
			if i&4095 == 4095 {
				if err := ctx.Err(); err != nil {
					return nil, nil, err
				}
			}
			n, err := br.ReadByte()
			if err != nil {
				return nil, nil, err
			}
			if n == 0 {
				return first, second, nil
			}
			if i >= 2 {
				if err := skip(int(n)); err != nil {
					return nil, nil, err
				}
				continue
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, nil, err
			}
			if i == 0 {
				first = b
			} else {
				second = b
			}
		}
	}
	for n := 0; n < pngMaxChunks; n++ {
		if err := ctx.Err(); err != nil {
			return gifFrames{}, err
		}
		t, err := br.ReadByte()
		if err != nil {
			return bad("no trailer (truncated)")
		}
		switch t {
		case 0x3b:
			return g, nil
		case 0x21:
			label, err := br.ReadByte()
			if err != nil {
				return bad("extension is truncated")
			}
			first, second, err := subBlocks()
			if err != nil {
				if ctx.Err() != nil {
					return gifFrames{}, ctx.Err()
				}
				return bad("extension is truncated")
			}
			switch {
			case label == 0xf9 && len(first) >= 4:
				g.delay += int(le.Uint16(first[1:]))
			case label == 0xff && (string(first) == "NETSCAPE2.0" || string(first) == "ANIMEXTS1.0") &&
				len(second) >= 3 && second[0] == 1:
				g.loop = int(le.Uint16(second[1:]))
			}
		case 0x2c:
			d := make([]byte, 9)
			if _, err := io.ReadFull(br, d); err != nil {
				return bad("image descriptor is truncated")
			}
			if d[8]&0x80 != 0 {
				if err := skip(3 << (d[8]&7 + 1)); err != nil {
					return bad("local color table is truncated")
				}
			}
			if _, err := br.ReadByte(); err != nil { // LZW minimum code size
				return bad("image data is truncated")
			}
			if _, _, err := subBlocks(); err != nil {
				if ctx.Err() != nil {
					return gifFrames{}, ctx.Err()
				}
				return bad("image data is truncated")
			}
			g.frames++
		default:
			return bad(fmt.Sprintf("unknown block 0x%02x", t))
		}
	}
	return bad(fmt.Sprintf("more than %d blocks", pngMaxChunks))
}
