package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
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
