package media

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// image_processor limits.
const (
	// maxPixels caps the pixels of a decoded source image and of an
	// output image, checked from the header before anything is decoded.
	maxPixels = 25_000_000
	// maxSide caps an output width or height (GIF and JPEG store 16 bits).
	maxSide = 65535
	// band is the number of pixels scaled or copied between two checks
	// of the context.
	band = 1 << 20
	// thumb is the default thumbnail box.
	thumb = 128
	// pngMaxChunks caps the PNG chunks, JPEG segments and GIF blocks walked
	// for metadata.
	pngMaxChunks = 100_000
)

// decodable lists the formats image_processor decodes; writable
// those it encodes.
var (
	decodable = []string{"png", "jpeg", "gif", "bmp", "tiff", "webp"}
	writable  = []string{"png", "jpeg", "gif", "bmp", "tiff"}
	imageExts = map[string]string{".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".gif": "gif",
		".bmp": "bmp", ".tif": "tiff", ".tiff": "tiff"}
	imageMIMEs = map[string]string{"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp",
		"tiff": "image/tiff", "webp": "image/webp"}
)

// params lists, per operation, the parameters besides operation and
// file_path that it takes.
var params = map[string][]string{
	"metadata":  nil,
	"detect":    nil,
	"resize":    {"target_path", "target_format", "width", "height", "interpolation", "quality", "overwrite"},
	"thumbnail": {"target_path", "target_format", "width", "height", "interpolation", "quality", "overwrite"},
	"convert":   {"target_path", "target_format", "quality", "overwrite"},
	"crop":      {"target_path", "target_format", "x", "y", "width", "height", "quality", "overwrite"},
	"rotate":    {"target_path", "target_format", "degrees", "quality", "overwrite"},
}

func imageProcessorSpec() tools.Spec {
	return tools.Spec{
		Name:     "image_processor",
		Category: "media",
		Description: "Reads image metadata, identifies image files, and resizes, converts, crops, rotates and makes " +
			"thumbnails of PNG, JPEG, GIF, BMP, TIFF and WebP images, writing PNG, JPEG, GIF, BMP or TIFF. The " +
			"header is checked before decoding: an image over 25 million pixels (or an output over that, or wider " +
			"or taller than 65535) is refused as too_large, so a small file cannot expand into a huge one. Only an " +
			"animated GIF's first frame is processed. Outputs have 8 bits per channel; JPEG output is flattened " +
			"onto white; GIF output from a non-palette image is reduced to the Plan 9 palette with dithering " +
			"(a palette image keeps its palette through crop, rotate and convert). EXIF orientation is reported " +
			"by metadata, not applied. Scaling and copying work in bands and stop at the deadline; decoding one " +
			"image runs to completion, bounded by the pixel limit.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "metadata",
				Enum: []string{"metadata", "detect", "resize", "convert", "crop", "rotate", "thumbnail"},
				Description: "metadata reads the header (and, for PNG, JPEG and GIF, the chunks, segments or blocks); " +
					"detect names the format from the first bytes; resize scales to width and/or height; convert " +
					"re-encodes as target_format; crop cuts the rectangle x, y, width, height; rotate turns by degrees " +
					"clockwise; thumbnail scales down to fit inside width x height, keeping the aspect ratio"},
			{Name: "file_path", Type: tools.String, Required: true,
				Description: "the source image, relative to the base folder; needs read permission; at most the file " +
					"size limit (64 MiB by default) except for metadata and detect, which read only what they need"},
			{Name: "target_path", Type: tools.String,
				Description: "resize, convert, crop, rotate, thumbnail: where to write the result, relative to the base " +
					"folder; needs write permission; written atomically; at most the file size limit"},
			{Name: "target_format", Type: tools.String, Enum: writable,
				Description: "the output format; inferred from target_path's extension (.png, .jpg, .jpeg, .gif, .bmp, " +
					".tif, .tiff) when omitted, else the source's format (PNG for WebP); required for convert when the " +
					"extension says nothing. A known extension that disagrees is a validation error"},
			{Name: "width", Type: tools.Integer,
				Description: "resize: the new width (with height omitted, the aspect ratio is kept); crop: the " +
					"rectangle's width; thumbnail: the box width (default 128)"},
			{Name: "height", Type: tools.Integer,
				Description: "resize: the new height (with width omitted, the aspect ratio is kept); crop: the " +
					"rectangle's height; thumbnail: the box height (default 128)"},
			{Name: "x", Type: tools.Integer, Default: int64(0),
				Description: "crop: the rectangle's left edge, in pixels from the image's left"},
			{Name: "y", Type: tools.Integer, Default: int64(0),
				Description: "crop: the rectangle's top edge, in pixels from the image's top"},
			{Name: "degrees", Type: tools.Integer,
				Description: "rotate: 90, 180 or 270, clockwise (-90 is taken as 270)"},
			{Name: "interpolation", Type: tools.String, Default: "catmull-rom",
				Enum: []string{"catmull-rom", "bilinear", "nearest"},
				Description: "resize and thumbnail: catmull-rom is the sharpest and slowest, bilinear is an " +
					"approximate bilinear filter, nearest copies pixels (for pixel art)"},
			{Name: "quality", Type: tools.Integer, Default: int64(90),
				Description: "JPEG output quality, 1 to 100; giving it for another output format is a validation error"},
			{Name: "overwrite", Type: tools.Boolean, Default: false,
				Description: "replace target_path if it exists (otherwise an existing file is a validation error)"},
		},
		Returns: "detect: {format, mime, decodable, file_size}; format is \"unknown\" when the bytes match no known " +
			"image format. metadata: {format, mime, width, height, pixels, color_model, file_size} plus PNG " +
			"{bit_depth, color_type, interlaced, animated, text}, JPEG {progressive, precision, components, " +
			"orientation}, GIF {version, frames, loop_count, duration_ms}. Writing operations: {operation, " +
			"source_path, target_path, source_format, format, source_width, source_height, width, height, " +
			"bytes_written, warnings}",
	}
}

// ImageProcessor returns the image_processor tool.
func ImageProcessor(ps *perm.Set) tools.Tool {
	return tools.New(imageProcessorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runImage(ctx, ps, p)
	})
}

func runImage(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	op := p.String("operation")
	allowed := params[op]
	for _, name := range []string{"target_path", "target_format", "width", "height", "x", "y", "degrees", "interpolation", "quality", "overwrite"} {
		if p.Has(name) && !slices.Contains(allowed, name) {
			return nil, tools.Invalid("parameter %q: does not apply to operation %s", name, op)
		}
	}
	if op == "metadata" || op == "detect" {
		return inspect(ctx, ps, p, op)
	}

	// Check every parameter before reading or decoding anything.
	if _, err := target(ps, p, op); err != nil {
		return nil, err
	}
	if q := p.Int("quality"); q < 1 || q > 100 {
		return nil, tools.Invalid("parameter \"quality\": want 1 to 100, got %d", q)
	}
	for _, name := range []string{"width", "height"} {
		if p.Has(name) && (p.Int(name) < 1 || p.Int(name) > maxSide) {
			return nil, tools.Invalid("parameter %q: want 1 to %d, got %d", name, maxSide, p.Int(name))
		}
	}
	switch op {
	case "resize":
		if !p.Has("width") && !p.Has("height") {
			return nil, tools.Invalid("missing parameter \"width\" or \"height\" for operation resize")
		}
	case "crop":
		for _, name := range []string{"width", "height"} {
			if !p.Has(name) {
				return nil, tools.Invalid("missing parameter %q for operation crop", name)
			}
		}
		for _, name := range []string{"x", "y"} {
			if p.Int(name) < 0 {
				return nil, tools.Invalid("parameter %q: must be 0 or more, got %d", name, p.Int(name))
			}
		}
	case "rotate":
		if !p.Has("degrees") {
			return nil, tools.Invalid("missing parameter \"degrees\" for operation rotate")
		}
		switch p.Int("degrees") {
		case 90, 180, 270, -90:
		default:
			return nil, tools.Invalid("parameter \"degrees\": want 90, 180 or 270, got %d", p.Int("degrees"))
		}
	}
	extFormat := imageExts[strings.ToLower(filepath.Ext(p.String("target_path")))]
	if p.Has("target_format") && extFormat != "" && extFormat != p.String("target_format") {
		return nil, tools.Invalid("parameter \"target_format\": %s does not match target_path's extension %s",
			p.String("target_format"), filepath.Ext(p.String("target_path")))
	}
	if op == "convert" && !p.Has("target_format") && extFormat == "" {
		return nil, tools.Invalid("missing parameter \"target_format\" for operation convert (or give target_path a .png, .jpg, .gif, .bmp or .tif extension)")
	}

	data, srcPath, err := readFile(ps, "file_path", p.String("file_path"))
	if err != nil {
		return nil, err
	}
	srcFormat := detectImage(data)
	if !slices.Contains(decodable, srcFormat) {
		if srcFormat == "unknown" {
			return nil, tools.Failed("%s is not a recognised image file", p.String("file_path"))
		}
		return nil, tools.Failed("%s is %s, which spellhost cannot decode (it decodes %s)", p.String("file_path"), srcFormat, strings.Join(decodable, ", "))
	}
	format := p.String("target_format")
	switch {
	case format != "":
	case extFormat != "":
		format = extFormat
	case slices.Contains(writable, srcFormat):
		format = srcFormat
	default:
		format = "png"
	}
	if p.Has("quality") && format != "jpeg" {
		return nil, tools.Invalid("parameter \"quality\": applies to JPEG output only, the output is %s", format)
	}

	img, err := decode(ctx, srcFormat, data)
	if err != nil {
		return nil, err
	}
	var warnings []any
	if srcFormat == "gif" {
		if gi, err := gifInfo(ctx, bytes.NewReader(data)); err == nil && gi.frames > 1 {
			warnings = append(warnings, fmt.Sprintf("animated GIF with %d frames: only the first was processed", gi.frames))
		}
	}
	sb := img.Bounds()
	sw, sh := sb.Dx(), sb.Dy()

	var out image.Image
	switch op {
	case "convert":
		out = img
	case "resize":
		w, h := p.Int("width"), p.Int("height")
		switch {
		case !p.Has("height"):
			h = max(1, int((int64(sh)*int64(w)+int64(sw)/2)/int64(sw)))
		case !p.Has("width"):
			w = max(1, int((int64(sw)*int64(h)+int64(sh)/2)/int64(sh)))
		}
		if err := checkOut(w, h); err != nil {
			return nil, err
		}
		out, err = scale(ctx, img, w, h, p.String("interpolation"))
	case "thumbnail":
		bw, bh := thumb, thumb
		if p.Has("width") {
			bw = p.Int("width")
		}
		if p.Has("height") {
			bh = p.Int("height")
		}
		w, h := sw, sh
		if w > bw || h > bh {
			// Scale by the smaller ratio, in integers.
			if int64(bw)*int64(sh) <= int64(bh)*int64(sw) {
				w, h = bw, max(1, int((int64(sh)*int64(bw)+int64(sw)/2)/int64(sw)))
			} else {
				w, h = max(1, int((int64(sw)*int64(bh)+int64(sh)/2)/int64(sh))), bh
			}
			out, err = scale(ctx, img, w, h, p.String("interpolation"))
		} else {
			out = img
		}
	case "crop":
		x, y, w, h := p.Int("x"), p.Int("y"), p.Int("width"), p.Int("height")
		if x >= sw || y >= sh || w > sw-x || h > sh-y {
			return nil, tools.Invalid("crop rectangle x=%d y=%d width=%d height=%d does not fit the %dx%d image", x, y, w, h, sw, sh)
		}
		out, err = pixels(ctx, img, image.Rect(x, y, x+w, y+h).Add(sb.Min))
	case "rotate":
		out, err = rotate(ctx, img, (p.Int("degrees")+360)%360)
	}
	if err != nil {
		return nil, err
	}
	if out.Bounds().Min != (image.Point{}) {
		// Encoders (GIF's in particular) want the image at the origin.
		if out, err = pixels(ctx, out, out.Bounds()); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	encoded, err := encode(ctx, ps, out, format, p.Int("quality"))
	if err != nil {
		return nil, err
	}
	resolved, err := write(ctx, ps, p.String("target_path"), encoded)
	if err != nil {
		return nil, err
	}
	ob := out.Bounds()
	res := map[string]any{
		"operation":     op,
		"source_path":   srcPath,
		"target_path":   resolved,
		"source_format": srcFormat,
		"format":        format,
		"source_width":  sw,
		"source_height": sh,
		"width":         ob.Dx(),
		"height":        ob.Dy(),
		"bytes_written": len(encoded),
	}
	if len(warnings) > 0 {
		res["warnings"] = warnings
	}
	return res, nil
}

// detectImage names an image format from its first bytes.
func detectImage(h []byte) string {
	has := func(off int, s string) bool { return len(h) >= off+len(s) && string(h[off:off+len(s)]) == s }
	switch {
	case has(0, "\x89PNG\r\n\x1a\n"):
		return "png"
	case has(0, "\xff\xd8\xff"):
		return "jpeg"
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "gif"
	case has(0, "BM") && len(h) >= 26:
		return "bmp"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "tiff"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "webp"
	case has(0, "\x00\x00\x01\x00"):
		return "ico"
	case has(0, "8BPS"):
		return "psd"
	case has(0, "qoif"):
		return "qoi"
	case has(0, "\xff\x0a"), has(0, "\x00\x00\x00\x0cJXL \r\n\x87\n"):
		return "jxl"
	case has(4, "ftyp") && len(h) >= 12:
		if f, _ := isoFormat(string(h[8:12]), nil); f == "avif" || f == "heif" {
			return f
		}
	}
	head := strings.ToLower(string(h[:min(len(h), 512)]))
	if strings.HasPrefix(strings.TrimSpace(head), "<") && strings.Contains(head, "<svg") {
		return "svg"
	}
	return "unknown"
}

var otherMIME = map[string]string{"ico": "image/vnd.microsoft.icon", "psd": "image/vnd.adobe.photoshop",
	"qoi": "image/qoi", "jxl": "image/jxl", "avif": "image/avif", "heif": "image/heif", "svg": "image/svg+xml",
	"unknown": "application/octet-stream"}

func mimeOf(f string) string {
	if m, ok := imageMIMEs[f]; ok {
		return m
	}
	return otherMIME[f]
}

func decodeConfig(format string, r io.Reader) (image.Config, error) {
	switch format {
	case "png":
		return png.DecodeConfig(r)
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "bmp":
		return bmp.DecodeConfig(r)
	case "tiff":
		return tiff.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("%s cannot be decoded", format)
}

// checkSource refuses an image whose header declares no pixels or more
// than the limit.
func checkSource(c image.Config) error {
	if c.Width <= 0 || c.Height <= 0 {
		return tools.Failed("image header declares %dx%d pixels", c.Width, c.Height)
	}
	if n := int64(c.Width) * int64(c.Height); n > maxPixels {
		return tools.Errorf(tools.TypeTooLarge, "image is %dx%d = %d pixels, over the %d-pixel limit", c.Width, c.Height, n, maxPixels)
	}
	return nil
}

// checkOut refuses an output size over the limits.
func checkOut(w, h int) error {
	if w > maxSide || h > maxSide {
		return tools.Errorf(tools.TypeTooLarge, "output of %dx%d exceeds the %d-pixel side limit", w, h, maxSide)
	}
	if n := int64(w) * int64(h); n > maxPixels {
		return tools.Errorf(tools.TypeTooLarge, "output of %dx%d = %d pixels exceeds the %d-pixel limit", w, h, n, maxPixels)
	}
	return nil
}

// decode decodes data after checking its declared size. Decoders run to
// completion; the pixel limit bounds their time.
func decode(ctx context.Context, format string, data []byte) (image.Image, error) {
	c, err := decodeConfig(format, bytes.NewReader(data))
	if err != nil {
		return nil, tools.Failed("decode %s header: %v", format, err)
	}
	if err := checkSource(c); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := bytes.NewReader(data)
	var img image.Image
	switch format {
	case "png":
		img, err = png.Decode(r)
	case "jpeg":
		img, err = jpeg.Decode(r)
	case "gif":
		img, err = gif.Decode(r)
	case "bmp":
		img, err = bmp.Decode(r)
	case "tiff":
		img, err = tiff.Decode(r)
	case "webp":
		img, err = webp.Decode(r)
	}
	if err != nil {
		return nil, tools.Failed("decode %s: %v", format, err)
	}
	// A GIF's first frame may be smaller than its logical screen.
	if b := img.Bounds(); b.Dx() > c.Width || b.Dy() > c.Height || (format != "gif" && b.Size() != image.Pt(c.Width, c.Height)) {
		return nil, tools.Failed("decode %s: image is %dx%d but its header declares %dx%d", format, b.Dx(), b.Dy(), c.Width, c.Height)
	}
	return img, ctx.Err()
}

// scale scales src to w x h. Work is done in bands with a context check
// between them. Catmull-Rom runs as two separable passes, one axis at a
// time (a pass at scale 1 along the other axis is exactly the identity, so
// bands do not show seams), through an 8-bit intermediate image, the
// smaller of the two orders; the result matches a single pass to within
// rounding.
func scale(ctx context.Context, src image.Image, w, h int, interp string) (image.Image, error) {
	switch src.(type) {
	case *image.RGBA, *image.NRGBA, *image.Gray, *image.YCbCr:
	default:
		// Other types take the scalers' slow generic path; one copy makes
		// them fast.
		var err error
		if src, err = nrgba(ctx, src, src.Bounds()); err != nil {
			return nil, err
		}
	}
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if interp != "catmull-rom" {
		var q draw.Interpolator = draw.ApproxBiLinear
		if interp == "nearest" {
			q = draw.NearestNeighbor
		}
		step := max(1, band/w)
		for y := 0; y < h; y += step {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			band := dst.SubImage(image.Rect(0, y, w, min(h, y+step))).(*image.RGBA)
			q.Scale(band, dst.Bounds(), src, sb, draw.Src, nil)
		}
		return dst, nil
	}
	k := draw.CatmullRom
	// rows scales horizontally, band by band of rows; cols vertically,
	// band by band of columns.
	rows := func(d *image.RGBA, s image.Image, sr image.Rectangle) error {
		dw, n := d.Bounds().Dx(), sr.Dy()
		step := max(1, band/max(dw, sr.Dx()))
		for y := 0; y < n; y += step {
			if err := ctx.Err(); err != nil {
				return err
			}
			y1 := min(n, y+step)
			k.Scale(d, image.Rect(0, y, dw, y1), s, image.Rect(sr.Min.X, sr.Min.Y+y, sr.Max.X, sr.Min.Y+y1), draw.Src, nil)
		}
		return nil
	}
	cols := func(d *image.RGBA, s image.Image, sr image.Rectangle) error {
		dh, n := d.Bounds().Dy(), sr.Dx()
		step := max(1, band/max(dh, sr.Dy()))
		for x := 0; x < n; x += step {
			if err := ctx.Err(); err != nil {
				return err
			}
			x1 := min(n, x+step)
			k.Scale(d, image.Rect(x, 0, x1, dh), s, image.Rect(sr.Min.X+x, sr.Min.Y, sr.Min.X+x1, sr.Max.Y), draw.Src, nil)
		}
		return nil
	}
	if int64(w)*int64(sh) <= int64(sw)*int64(h) {
		tmp := image.NewRGBA(image.Rect(0, 0, w, sh))
		if err := rows(tmp, src, sb); err != nil {
			return nil, err
		}
		if err := cols(dst, tmp, tmp.Bounds()); err != nil {
			return nil, err
		}
		return dst, nil
	}
	tmp := image.NewRGBA(image.Rect(0, 0, sw, h))
	if err := cols(tmp, src, sb); err != nil {
		return nil, err
	}
	if err := rows(dst, tmp, tmp.Bounds()); err != nil {
		return nil, err
	}
	return dst, nil
}

// pixels returns img as a pixel buffer starting at (0, 0): a palette
// image stays one (one byte a pixel), anything else becomes NRGBA.
func pixels(ctx context.Context, img image.Image, r image.Rectangle) (image.Image, error) {
	w, h := r.Dx(), r.Dy()
	if pm, ok := img.(*image.Paletted); ok {
		out := image.NewPaletted(image.Rect(0, 0, w, h), pm.Palette)
		for y := 0; y < h; y++ {
			if y&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			i := pm.PixOffset(r.Min.X, r.Min.Y+y)
			copy(out.Pix[y*out.Stride:y*out.Stride+w], pm.Pix[i:i+w])
		}
		return out, nil
	}
	return nrgba(ctx, img, r)
}

// nrgba copies the part r of img to a new NRGBA image at the origin.
func nrgba(ctx context.Context, img image.Image, r image.Rectangle) (*image.NRGBA, error) {
	w, h := r.Dx(), r.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	step := max(1, band/max(1, w))
	for y := 0; y < h; y += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		y1 := min(h, y+step)
		draw.Draw(out, image.Rect(0, y, w, y1), img, image.Pt(r.Min.X, r.Min.Y+y), draw.Src)
	}
	return out, nil
}

// rotate turns img clockwise by deg (90, 180 or 270).
func rotate(ctx context.Context, img image.Image, deg int) (image.Image, error) {
	b := img.Bounds()
	px, err := pixels(ctx, img, b)
	if err != nil {
		return nil, err
	}
	w, h := b.Dx(), b.Dy()
	var src []byte
	var stride, bpp int
	switch m := px.(type) {
	case *image.Paletted:
		src, stride, bpp = m.Pix, m.Stride, 1
	case *image.NRGBA:
		src, stride, bpp = m.Pix, m.Stride, 4
	}
	dw, dh := h, w
	if deg == 180 {
		dw, dh = w, h
	}
	dst := make([]byte, dw*dh*bpp)
	for y := 0; y < h; y++ {
		if y&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row := src[y*stride:]
		for x := 0; x < w; x++ {
			var nx, ny int
			switch deg {
			case 90:
				nx, ny = h-1-y, x
			case 180:
				nx, ny = w-1-x, h-1-y
			default: // 270
				nx, ny = y, w-1-x
			}
			copy(dst[(ny*dw+nx)*bpp:(ny*dw+nx+1)*bpp], row[x*bpp:(x+1)*bpp])
		}
	}
	r := image.Rect(0, 0, dw, dh)
	if pm, ok := px.(*image.Paletted); ok {
		return &image.Paletted{Pix: dst, Stride: dw, Rect: r, Palette: pm.Palette}, nil
	}
	return &image.NRGBA{Pix: dst, Stride: dw * 4, Rect: r}, nil
}

// limitWriter fails once more than n bytes are written.
type limitWriter struct {
	buf bytes.Buffer
	n   int64
}

var errIPTooLarge = errors.New("encoded image exceeds the file size limit")

func (w *limitWriter) Write(p []byte) (int, error) {
	if int64(w.buf.Len())+int64(len(p)) > w.n {
		return 0, errIPTooLarge
	}
	return w.buf.Write(p)
}

// encode encodes img as format, refusing output over the file limit.
func encode(ctx context.Context, ps *perm.Set, img image.Image, format string, quality int) ([]byte, error) {
	w := &limitWriter{n: ps.Limits().MaxFileBytes}
	var err error
	switch format {
	case "png":
		err = png.Encode(w, img)
	case "jpeg":
		if !opaque(img) {
			if img, err = flatten(ctx, img); err != nil {
				return nil, err
			}
		}
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
	case "gif":
		err = gif.Encode(w, img, &gif.Options{NumColors: 256})
	case "bmp":
		err = bmp.Encode(w, img)
	case "tiff":
		err = tiff.Encode(w, img, &tiff.Options{Compression: tiff.Deflate})
	}
	if errors.Is(err, errIPTooLarge) {
		return nil, tools.Errorf(tools.TypeTooLarge, "encoded %s exceeds the %d-byte file limit", format, w.n)
	}
	if err != nil {
		return nil, tools.Failed("encode %s: %v", format, err)
	}
	return w.buf.Bytes(), nil
}

func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// flatten draws img over white.
func flatten(ctx context.Context, img image.Image) (image.Image, error) {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	step := max(1, band/max(1, b.Dx()))
	for y := 0; y < b.Dy(); y += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		draw.Draw(out, image.Rect(0, y, b.Dx(), min(b.Dy(), y+step)), img, image.Pt(b.Min.X, b.Min.Y+y), draw.Over)
	}
	return out, nil
}

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
