package media_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"

	"spellhost/tools"
	"spellhost/tools/media"
	"spellhost/tools/perm"
)

// ipWebP is a 1x1 lossless WebP image.
const ipWebP = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="

// ipGrid is a w x h image whose every pixel has its own colour; the top
// left pixel is transparent.
func ipGrid(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, ipColor(x, y))
		}
	}
	m.SetNRGBA(0, 0, color.NRGBA{0, 0, 0, 0})
	return m
}

func ipColor(x, y int) color.NRGBA { return color.NRGBA{uint8(10*x + 1), uint8(10*y + 1), 7, 255} }

func ipPNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ipJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, ipGrid(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ipPaletted is a w x h image on a four-colour palette.
func ipPaletted(w, h int) *image.Paletted {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{9, 9, 9, 255}}
	m := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range m.Pix {
		m.Pix[i] = uint8(i % 4)
	}
	return m
}

func ipGIF(t testing.TB, frames int) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for range frames {
		g.Image = append(g.Image, ipPaletted(8, 6))
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ipChunk builds a PNG chunk with its CRC.
func ipChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// ipPNGHeader returns a PNG whose IHDR declares w x h, with the rest of
// a 1x1 image: a decompression bomb's header.
func ipPNGHeader(t testing.TB, w, h uint32) []byte {
	t.Helper()
	d := ipPNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	ihdr := bytes.Clone(d[16:29])
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	return append(append(bytes.Clone(d[:8]), ipChunk("IHDR", ihdr)...), d[33:]...)
}

func ipTool(t *testing.T) (tools.Tool, string) {
	t.Helper()
	ps, dir := testPerm(t)
	return media.ImageProcessor(ps), dir
}

// ipRead decodes a written file.
func ipRead(t *testing.T, path string) (image.Image, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, format, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return m, format
}

func TestImageProcessorMetadata(t *testing.T) {
	tool, dir := ipTool(t)
	pngData := ipPNG(t, ipGrid(4, 3))
	withText := append(append(bytes.Clone(pngData[:33]), ipChunk("tEXt", []byte("Title\x00Hello"))...), pngData[33:]...)
	jpg := ipJPEG(t, 64, 48)
	exif := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	seg := append([]byte{0xff, 0xe1, 0, byte(len(exif) + 2)}, exif...)
	rotated := append(append(bytes.Clone(jpg[:2]), seg...), jpg[2:]...)
	var bm, tf bytes.Buffer
	if err := bmp.Encode(&bm, ipGrid(5, 4)); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tf, ipGrid(6, 2), nil); err != nil {
		t.Fatal(err)
	}
	webp, _ := base64.StdEncoding.DecodeString(ipWebP)
	cases := []struct {
		name string
		data []byte
		want map[string]any
	}{
		{"png", withText, map[string]any{"format": "png", "mime": "image/png", "width": 4, "height": 3, "pixels": int64(12),
			"color_model": "nrgba", "bit_depth": 8, "color_type": "rgba", "interlaced": false, "animated": false,
			"text": map[string]any{"Title": "Hello"}}},
		{"jpeg", jpg, map[string]any{"format": "jpeg", "mime": "image/jpeg", "width": 64, "height": 48, "color_model": "ycbcr",
			"progressive": false, "precision": 8, "components": 3}},
		{"jpeg exif orientation", rotated, map[string]any{"format": "jpeg", "orientation": 6}},
		{"gif animated", ipGIF(t, 3), map[string]any{"format": "gif", "width": 8, "height": 6, "color_model": "paletted",
			"version": "89a", "frames": 3, "loop_count": 0, "duration_ms": 300}},
		{"bmp", bm.Bytes(), map[string]any{"format": "bmp", "mime": "image/bmp", "width": 5, "height": 4}},
		{"tiff", tf.Bytes(), map[string]any{"format": "tiff", "width": 6, "height": 2}},
		{"webp", webp, map[string]any{"format": "webp", "mime": "image/webp", "width": 1, "height": 1}},
		{"png bomb header", ipPNGHeader(t, 50000, 50000), map[string]any{"width": 50000, "pixels": int64(2_500_000_000)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "in.img", c.data)
			res := call(t, tool, map[string]any{"file_path": "in.img"})
			apCheck(t, res, c.want)
			if res["file_size"] != int64(len(c.data)) {
				t.Errorf("file_size %v", res["file_size"])
			}
			if c.name == "png bomb header" && res["warnings"] == nil {
				t.Error("no warning about the pixel limit")
			}
		})
	}
}

func TestImageProcessorDetect(t *testing.T) {
	tool, dir := ipTool(t)
	webp, _ := base64.StdEncoding.DecodeString(ipWebP)
	cases := []struct {
		name, format string
		decodable    bool
		data         []byte
	}{
		{"png", "png", true, ipPNG(t, ipGrid(2, 2))},
		{"jpeg", "jpeg", true, ipJPEG(t, 8, 8)},
		{"gif", "gif", true, ipGIF(t, 1)},
		{"webp", "webp", true, webp},
		{"tiff", "tiff", true, []byte("II*\x00\x08\x00\x00\x00")},
		{"ico", "ico", false, []byte{0, 0, 1, 0, 1, 0}},
		{"avif", "avif", false, vpBox("ftyp", []byte("avif"), vpU32(0))},
		{"svg", "svg", false, []byte("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>")},
		{"psd", "psd", false, []byte("8BPS\x00\x01")},
		{"text", "unknown", false, []byte("not an image")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "in.bin", c.data)
			res := call(t, tool, map[string]any{"operation": "detect", "file_path": "in.bin"})
			if res["format"] != c.format || res["decodable"] != c.decodable {
				t.Fatalf("got %v, want %s decodable=%v", res, c.format, c.decodable)
			}
		})
	}
}

func TestImageProcessorTransform(t *testing.T) {
	tool, dir := ipTool(t)
	mediaWriteFile(t, dir, "grid.png", ipPNG(t, ipGrid(4, 3)))
	mediaWriteFile(t, dir, "photo.jpg", ipJPEG(t, 64, 48))
	mediaWriteFile(t, dir, "tall.png", ipPNG(t, ipGrid(48, 64)))
	mediaWriteFile(t, dir, "pal.gif", ipGIF(t, 1))
	mediaWriteFile(t, dir, "anim.gif", ipGIF(t, 3))
	webp, _ := base64.StdEncoding.DecodeString(ipWebP)
	mediaWriteFile(t, dir, "dot.webp", webp)

	cases := []struct {
		name   string
		params map[string]any
		format string // of the written file, as image.Decode names it
		w, h   int
	}{
		{"resize width keeps aspect", map[string]any{"operation": "resize", "file_path": "photo.jpg", "width": 32}, "jpeg", 32, 24},
		{"resize height keeps aspect", map[string]any{"operation": "resize", "file_path": "photo.jpg", "height": 12}, "jpeg", 16, 12},
		{"resize both", map[string]any{"operation": "resize", "file_path": "photo.jpg", "width": 10, "height": 30, "interpolation": "bilinear"}, "jpeg", 10, 30},
		{"resize up tall", map[string]any{"operation": "resize", "file_path": "tall.png", "width": 96}, "png", 96, 128},
		{"resize gif", map[string]any{"operation": "resize", "file_path": "pal.gif", "width": 16}, "gif", 16, 12},
		{"thumbnail default box", map[string]any{"operation": "thumbnail", "file_path": "photo.jpg"}, "jpeg", 64, 48},
		{"thumbnail wide", map[string]any{"operation": "thumbnail", "file_path": "photo.jpg", "width": 16, "height": 16}, "jpeg", 16, 12},
		{"thumbnail tall", map[string]any{"operation": "thumbnail", "file_path": "tall.png", "width": 16, "height": 16}, "png", 12, 16},
		{"convert png to jpeg", map[string]any{"operation": "convert", "file_path": "grid.png", "target_format": "jpeg", "quality": 80}, "jpeg", 4, 3},
		{"convert png to gif", map[string]any{"operation": "convert", "file_path": "grid.png", "target_format": "gif"}, "gif", 4, 3},
		{"convert gif to png", map[string]any{"operation": "convert", "file_path": "pal.gif", "target_format": "png"}, "png", 8, 6},
		{"convert webp to png", map[string]any{"operation": "convert", "file_path": "dot.webp", "target_format": "png"}, "png", 1, 1},
		{"convert jpeg to bmp", map[string]any{"operation": "convert", "file_path": "photo.jpg", "target_format": "bmp"}, "bmp", 64, 48},
		{"convert jpeg to tiff", map[string]any{"operation": "convert", "file_path": "photo.jpg", "target_format": "tiff"}, "tiff", 64, 48},
		{"crop", map[string]any{"operation": "crop", "file_path": "photo.jpg", "x": 10, "y": 5, "width": 20, "height": 7}, "jpeg", 20, 7},
		{"rotate 90", map[string]any{"operation": "rotate", "file_path": "photo.jpg", "degrees": 90}, "jpeg", 48, 64},
		{"rotate 180", map[string]any{"operation": "rotate", "file_path": "photo.jpg", "degrees": 180}, "jpeg", 64, 48},
		{"rotate -90", map[string]any{"operation": "rotate", "file_path": "photo.jpg", "degrees": -90}, "jpeg", 48, 64},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out", c.name)
			if i == 0 {
				if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c.params["target_path"] = out
			res := call(t, tool, c.params)
			m, format := ipRead(t, out)
			if format != c.format || m.Bounds().Dx() != c.w || m.Bounds().Dy() != c.h {
				t.Fatalf("wrote %s %v, want %s %dx%d", format, m.Bounds(), c.format, c.w, c.h)
			}
			fi, _ := os.Stat(out)
			if res["width"] != c.w || res["height"] != c.h || res["format"] != c.format || res["target_path"] != out ||
				res["bytes_written"] != int(fi.Size()) {
				t.Fatalf("result %v", res)
			}
		})
	}

	t.Run("extension picks the format", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "convert", "file_path": "grid.png", "target_path": "grid.gif"})
		if _, f := ipRead(t, filepath.Join(dir, "grid.gif")); f != "gif" || res["format"] != "gif" {
			t.Fatalf("format %s, result %v", f, res)
		}
	})

	t.Run("crop and rotate are exact", func(t *testing.T) {
		src := ipGrid(4, 3)
		call(t, tool, map[string]any{"operation": "crop", "file_path": "grid.png", "target_path": "crop.png", "x": 1, "y": 1, "width": 3, "height": 2})
		m, _ := ipRead(t, filepath.Join(dir, "crop.png"))
		for y := range 2 {
			for x := range 3 {
				if got := color.NRGBAModel.Convert(m.At(x, y)); got != src.At(x+1, y+1) {
					t.Fatalf("crop (%d,%d) = %v, want %v", x, y, got, src.At(x+1, y+1))
				}
			}
		}
		for _, deg := range []int{90, 180, 270} {
			out := filepath.Join(dir, "rot.png")
			call(t, tool, map[string]any{"operation": "rotate", "file_path": "grid.png", "target_path": out, "degrees": deg, "overwrite": true})
			m, _ := ipRead(t, out)
			for y := range 3 {
				for x := range 4 {
					var nx, ny int
					switch deg {
					case 90:
						nx, ny = 2-y, x
					case 180:
						nx, ny = 3-x, 2-y
					case 270:
						nx, ny = y, 3-x
					}
					if got := color.NRGBAModel.Convert(m.At(nx, ny)); got != src.At(x, y) {
						t.Fatalf("rotate %d: (%d,%d) = %v, want %v", deg, nx, ny, got, src.At(x, y))
					}
				}
			}
		}
	})

	t.Run("gif rotation keeps the palette", func(t *testing.T) {
		call(t, tool, map[string]any{"operation": "rotate", "file_path": "pal.gif", "target_path": "rot.gif", "degrees": 90})
		f, err := os.Open(filepath.Join(dir, "rot.gif"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		g, err := gif.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		pm := g.(*image.Paletted)
		src := ipPaletted(8, 6)
		if len(pm.Palette) != 4 || pm.Bounds().Dx() != 6 {
			t.Fatalf("palette %d colours, bounds %v", len(pm.Palette), pm.Bounds())
		}
		if pm.At(5, 0) != src.At(0, 0) || pm.At(0, 7) != src.At(7, 5) {
			t.Fatal("pixels moved wrongly")
		}
	})

	t.Run("nearest neighbour doubles pixels", func(t *testing.T) {
		call(t, tool, map[string]any{"operation": "resize", "file_path": "grid.png", "target_path": "nn.png", "width": 8, "height": 6, "interpolation": "nearest"})
		m, _ := ipRead(t, filepath.Join(dir, "nn.png"))
		src := ipGrid(4, 3)
		if got := color.NRGBAModel.Convert(m.At(5, 3)); got != src.At(2, 1) {
			t.Fatalf("got %v, want %v", got, src.At(2, 1))
		}
	})

	t.Run("jpeg output is flattened onto white", func(t *testing.T) {
		clear := image.NewNRGBA(image.Rect(0, 0, 16, 16))
		mediaWriteFile(t, dir, "clear.png", ipPNG(t, clear))
		call(t, tool, map[string]any{"operation": "convert", "file_path": "clear.png", "target_path": "clear.jpg"})
		m, _ := ipRead(t, filepath.Join(dir, "clear.jpg"))
		if r, g, b, _ := m.At(8, 8).RGBA(); r>>8 < 250 || g>>8 < 250 || b>>8 < 250 {
			t.Fatalf("transparent became %v, want white", m.At(8, 8))
		}
	})

	t.Run("animated gif warns", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "thumbnail", "file_path": "anim.gif", "target_path": "anim-thumb.gif", "width": 4})
		if res["warnings"] == nil {
			t.Fatalf("no warning: %v", res)
		}
	})

	t.Run("catmull-rom matches a single pass", func(t *testing.T) {
		// The tool scales in bands, one axis at a time; the result must
		// match one call of the scaler to within rounding.
		for _, size := range [][2]int{{20, 30}, {100, 40}, {30, 150}} {
			out := filepath.Join(dir, "cr.png")
			call(t, tool, map[string]any{"operation": "resize", "file_path": "tall.png", "target_path": out,
				"width": size[0], "height": size[1], "overwrite": true})
			got, _ := ipRead(t, out)
			want := image.NewRGBA(image.Rect(0, 0, size[0], size[1]))
			src := ipGrid(48, 64)
			draw.CatmullRom.Scale(want, want.Bounds(), src, src.Bounds(), draw.Src, nil)
			for y := range size[1] {
				for x := range size[0] {
					gr, gg, gb, ga := got.At(x, y).RGBA()
					wr, wg, wb, wa := want.At(x, y).RGBA()
					for i, d := range []int{int(gr>>8) - int(wr>>8), int(gg>>8) - int(wg>>8), int(gb>>8) - int(wb>>8), int(ga>>8) - int(wa>>8)} {
						if d < -2 || d > 2 {
							t.Fatalf("%v at (%d,%d) channel %d: got %v, want %v", size, x, y, i, got.At(x, y), want.At(x, y))
						}
					}
				}
			}
		}
	})
}

func TestImageProcessorErrors(t *testing.T) {
	tool, dir := ipTool(t)
	grid := ipPNG(t, ipGrid(4, 3))
	mediaWriteFile(t, dir, "grid.png", grid)
	mediaWriteFile(t, dir, "cut.png", grid[:len(grid)-20])
	mediaWriteFile(t, dir, "bomb.png", ipPNGHeader(t, 50000, 50000))
	mediaWriteFile(t, dir, "wide.png", ipPNGHeader(t, 1, 30_000_000))
	mediaWriteFile(t, dir, "exists.png", grid)
	mediaWriteFile(t, dir, "notes.txt", []byte("hello"))
	mediaWriteFile(t, dir, "icon.ico", []byte{0, 0, 1, 0, 1, 0})
	// A GIF whose logical screen is 65535 x 65535.
	g := ipGIF(t, 1)
	bigGIF := bytes.Clone(g)
	binary.LittleEndian.PutUint16(bigGIF[6:], 65535)
	binary.LittleEndian.PutUint16(bigGIF[8:], 65535)
	mediaWriteFile(t, dir, "bomb.gif", bigGIF)
	// A JPEG whose frame header declares 60000 x 60000.
	jpg := ipJPEG(t, 8, 8)
	sof := bytes.Index(jpg, []byte{0xff, 0xc0})
	bigJPEG := bytes.Clone(jpg)
	binary.BigEndian.PutUint16(bigJPEG[sof+5:], 60000)
	binary.BigEndian.PutUint16(bigJPEG[sof+7:], 60000)
	mediaWriteFile(t, dir, "bomb.jpg", bigJPEG)

	op := func(kv ...any) map[string]any {
		m := map[string]any{"file_path": "grid.png", "target_path": "o.png"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"missing file_path", map[string]any{"operation": "metadata"}, tools.TypeValidation, []string{`"file_path"`}},
		{"bad operation", op("operation", "blur"), tools.TypeValidation, []string{`"operation"`}},
		{"bad interpolation", op("operation", "resize", "width", 2, "interpolation", "lanczos"), tools.TypeValidation, []string{`"interpolation"`}},
		{"bad target_format", op("operation", "convert", "target_format", "webp"), tools.TypeValidation, []string{`"target_format"`}},
		{"width as string", op("operation", "resize", "width", "2"), tools.TypeValidation, []string{`"width"`}},
		{"metadata with target", map[string]any{"file_path": "grid.png", "target_path": "o.png"}, tools.TypeValidation, []string{`"target_path"`, "metadata"}},
		{"degrees on resize", op("operation", "resize", "width", 2, "degrees", 90), tools.TypeValidation, []string{`"degrees"`, "resize"}},
		{"missing target", map[string]any{"operation": "resize", "file_path": "grid.png", "width": 2}, tools.TypeValidation, []string{`"target_path"`}},
		{"resize without size", op("operation", "resize"), tools.TypeValidation, []string{`"width"`, `"height"`}},
		{"width zero", op("operation", "resize", "width", 0), tools.TypeValidation, []string{`"width"`}},
		{"width too large", op("operation", "resize", "width", 70000), tools.TypeValidation, []string{`"width"`, "65535"}},
		{"output over the pixel limit", op("operation", "resize", "width", 60000, "height", 60000), tools.TypeTooLarge, []string{"pixel limit"}},
		{"crop without height", op("operation", "crop", "width", 2), tools.TypeValidation, []string{`"height"`}},
		{"crop outside", op("operation", "crop", "x", 3, "width", 2, "height", 1), tools.TypeValidation, []string{"does not fit", "4x3"}},
		{"crop negative", op("operation", "crop", "x", -1, "width", 2, "height", 1), tools.TypeValidation, []string{`"x"`}},
		{"rotate without degrees", op("operation", "rotate"), tools.TypeValidation, []string{`"degrees"`}},
		{"rotate 45", op("operation", "rotate", "degrees", 45), tools.TypeValidation, []string{`"degrees"`, "45"}},
		{"quality 0", op("operation", "convert", "target_path", "o.jpg", "quality", 0), tools.TypeValidation, []string{`"quality"`}},
		{"quality for png", op("operation", "convert", "target_format", "png", "quality", 50), tools.TypeValidation, []string{`"quality"`, "JPEG"}},
		{"format against extension", op("operation", "convert", "target_format", "gif"), tools.TypeValidation, []string{`"target_format"`, ".png"}},
		{"convert without format", op("operation", "convert", "target_path", "o.out"), tools.TypeValidation, []string{`"target_format"`}},
		{"target exists", op("operation", "rotate", "degrees", 90, "target_path", "exists.png"), tools.TypeValidation, []string{"exists", "overwrite"}},
		{"truncated png", op("operation", "rotate", "degrees", 90, "file_path", "cut.png"), tools.TypeExecution, []string{"decode png"}},
		{"not an image", op("operation", "rotate", "degrees", 90, "file_path", "notes.txt"), tools.TypeExecution, []string{"not a recognised image"}},
		{"not decodable", op("operation", "rotate", "degrees", 90, "file_path", "icon.ico"), tools.TypeExecution, []string{"ico", "cannot decode"}},
		{"metadata of text", map[string]any{"file_path": "notes.txt"}, tools.TypeExecution, []string{"not a recognised image"}},
		{"png bomb", op("operation", "rotate", "degrees", 90, "file_path", "bomb.png"), tools.TypeTooLarge, []string{"50000x50000", "pixel limit"}},
		{"png tall bomb", op("operation", "thumbnail", "file_path", "wide.png"), tools.TypeTooLarge, []string{"pixel limit"}},
		{"gif screen bomb", op("operation", "convert", "file_path", "bomb.gif", "target_format", "png"), tools.TypeTooLarge, []string{"65535x65535"}},
		{"jpeg bomb", op("operation", "convert", "file_path", "bomb.jpg", "target_format", "png"), tools.TypeTooLarge, []string{"60000x60000"}},
		{"missing file", op("operation", "rotate", "degrees", 90, "file_path", "nope.png"), tools.TypeExecution, []string{"nope.png"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := c.params["operation"]; !ok {
				c.params["operation"] = "metadata"
			}
			start := time.Now()
			mediaErr(t, tool, c.params, c.typ, c.want...)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v: a refused image must not be decoded", d)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "o.png")); err == nil {
		t.Fatal("a failed call wrote its target")
	}

	t.Run("limits", func(t *testing.T) {
		small := t.TempDir()
		grid := ipPNG(t, ipGrid(40, 30)) // its BMP is larger
		ps, err := perm.New(perm.Config{Base: small, Read: []string{small}, Write: []string{small},
			Limits: perm.Limits{MaxFileBytes: int64(len(grid) + 10)}})
		if err != nil {
			t.Fatal(err)
		}
		mediaWriteFile(t, small, "grid.png", grid)
		mediaWriteFile(t, small, "big.png", append(bytes.Clone(grid), make([]byte, 100)...))
		lim := media.ImageProcessor(ps)
		mediaErr(t, lim, map[string]any{"operation": "convert", "file_path": "grid.png", "target_path": "o.bmp"}, tools.TypeTooLarge, "file limit")
		mediaErr(t, lim, map[string]any{"operation": "convert", "file_path": "big.png", "target_path": "o.gif"}, tools.TypeTooLarge, "file limit")
		if res := call(t, lim, map[string]any{"file_path": "big.png"}); res["width"] != 40 {
			t.Fatalf("metadata of a file over the limit: %v", res)
		}
	})
}

func TestImageProcessorDeadline(t *testing.T) {
	// A large Catmull-Rom resize is stopped by the deadline between bands.
	tool, dir := ipTool(t)
	// The source is small, so decoding is quick; the 24-megapixel output
	// takes seconds to compute.
	mediaWriteFile(t, dir, "small.png", ipPNG(t, ipGrid(500, 500)))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tools.Call(ctx, tool, map[string]any{"operation": "resize", "file_path": "small.png", "target_path": "o.png", "width": 4900, "height": 4900})
	if tools.TypeOf(err) != tools.TypeTimeout {
		t.Fatalf("got %v, want timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopped after %v", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "o.png")); err == nil {
		t.Fatal("a timed-out call wrote its target")
	}
}

func TestImageProcessorEscapes(t *testing.T) {
	mediaCheckEscapes(t, func(ps *perm.Set) tools.Tool { return media.ImageProcessor(ps) },
		"pic.png", ipPNG(t, ipGrid(4, 3)), map[string]any{"operation": "rotate", "file_path": "pic.png", "target_path": "out-pic.png", "degrees": 90})
}

func TestImageProcessorSpec(t *testing.T) {
	if err := media.ImageProcessor(nil).Spec().Check(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkImageProcessor(b *testing.B) {
	dir := b.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, ipGrid(1024, 768), &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	mediaWriteFile(b, dir, "photo.jpg", buf.Bytes())
	tool := media.ImageProcessor(ps)
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"metadata", map[string]any{"operation": "metadata", "file_path": "photo.jpg"}},
		{"thumbnail", map[string]any{"operation": "thumbnail", "file_path": "photo.jpg", "target_path": "t.jpg", "width": 256, "height": 256, "overwrite": true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tools.Call(context.Background(), tool, bc.params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzImageProcessor(f *testing.F) {
	webp, _ := base64.StdEncoding.DecodeString(ipWebP)
	mediaFuzz(f, func(ps *perm.Set) tools.Tool { return media.ImageProcessor(ps) },
		[]map[string]any{{"operation": "detect"}, {"operation": "metadata"},
			{"operation": "rotate", "degrees": 90, "target_path": "out.png", "overwrite": true},
			{"operation": "thumbnail", "width": 3, "target_path": "out.gif", "overwrite": true}},
		ipPNG(f, ipGrid(4, 3)), ipJPEG(f, 8, 8), ipGIF(f, 2), webp)
}
