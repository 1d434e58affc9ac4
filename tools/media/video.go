package media

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// video_processor limits.
const (
	// maxTopBoxes caps the top-level boxes walked; a fragmented file
	// has two per fragment.
	maxTopBoxes = 100_000
	// maxBoxes caps the boxes parsed inside moov.
	maxBoxes = 20_000
	// maxDepth caps box nesting (moov/trak/mdia/minf/stbl/stsd/avc1/avcC
	// is 8 deep).
	maxDepth = 16
	// maxMoov caps the moov box, which is read into memory.
	maxMoov = 64 << 20
	// maxTracks caps the tracks reported.
	maxTracks = 64
	// maxBrands caps the compatible brands reported.
	maxBrands = 32
)

func videoProcessorSpec() tools.Spec {
	return tools.Spec{
		Name:     "video_processor",
		Category: "media",
		Description: "Identifies video files by their leading bytes and reads the metadata of MP4, MOV, M4A, 3GP " +
			"(ISO base media) files by parsing their box tree: brands, duration, creation time, and per track the " +
			"kind (video, audio, subtitle, ...), codec, frame size, rotation, frame rate, sample rate, channels, " +
			"language and bitrate. Nothing is decoded: spellhost has no video decoder, so it offers no thumbnail or " +
			"transcoding. Malformed box sizes, nesting deeper than 16, more than 20000 boxes in moov or a moov over " +
			"64 MiB (or the file size limit, if lower) are refused.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "metadata", Enum: []string{"metadata", "detect"},
				Description: "metadata parses an MP4/MOV/M4A/3GP file's box tree; detect names the container of " +
					"any common video file (MP4, MOV, 3GP, WebM, Matroska, AVI, FLV, MPEG-TS, MPEG-PS, ASF/WMV, Ogg) " +
					"from its first bytes"},
			{Name: "file_path", Type: tools.String, Required: true,
				Description: "the video file, relative to the base folder; needs read permission. Only the box " +
					"headers and the moov box are read, so the file may be larger than the file size limit"},
		},
		Returns: "detect: {format, mime, container, file_size} plus brand for ISO files; format is \"unknown\" " +
			"when the bytes match no known container. metadata: {format, mime, file_size, major_brand, minor_version, " +
			"compatible_brands, duration_seconds, timescale, created, modified, fragmented, fragments, bitrate_kbps, " +
			"tracks:[{id, kind, handler, codec, codec_name, duration_seconds, timescale, language, samples, " +
			"bitrate_kbps, width, height, coded_width, coded_height, rotation, frame_rate, sample_rate, channels, " +
			"bits_per_sample, profile}], video:{first video track}, audio:{first audio track}, warnings}; fields a " +
			"file does not state are left out",
	}
}

// VideoProcessor returns the video_processor tool.
func VideoProcessor(ps *perm.Set) tools.Tool {
	return tools.New(videoProcessorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runVideo(ctx, ps, p)
	})
}

func runVideo(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	mf, err := open(ps, "file_path", p.String("file_path"))
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	src := src{r: mf.f, size: mf.size}
	head, err := src.head(512)
	if err != nil {
		return nil, tools.Failed("read %s: %v", p.String("file_path"), err)
	}
	det := detectVideo(head)
	if p.String("operation") == "detect" {
		det["file_size"] = mf.size
		return det, nil
	}
	if det["container"] != "iso-bmff" {
		if det["format"] == "unknown" {
			return nil, tools.Failed("%s is not a recognised video file", p.String("file_path"))
		}
		return nil, tools.Failed("metadata is read from MP4/MOV/3GP (ISO base media) files only; %s is %s",
			p.String("file_path"), det["format"])
	}
	if f := det["format"]; f == "heif" || f == "avif" || f == "cr3" {
		return nil, tools.Failed("%s is a still-image file (%s), not a video", p.String("file_path"), f)
	}
	maxMoov := int64(maxMoov)
	if ps != nil {
		maxMoov = min(maxMoov, ps.Limits().MaxFileBytes)
	}
	info, err := isoParse(ctx, src, maxMoov)
	if err != nil {
		return nil, err
	}
	res := info.result()
	res["file_size"] = mf.size
	if d, ok := res["duration_seconds"].(float64); ok && d > 0 {
		res["bitrate_kbps"] = round(float64(mf.size)*8/d/1000, 1)
	}
	return res, nil
}

// detectVideo names a video container from a file's first bytes.
func detectVideo(h []byte) map[string]any {
	res := func(format, mime, container string) map[string]any {
		return map[string]any{"format": format, "mime": mime, "container": container}
	}
	switch {
	case len(h) >= 12 && fourCC(h[4:8]) == "ftyp":
		brand := string(h[8:12])
		f, mime := isoFormat(brand, h)
		r := res(f, mime, "iso-bmff")
		r["brand"] = brand
		return r
	case len(h) >= 8 && isoBareQuickTime(h):
		return res("mov", "video/quicktime", "iso-bmff")
	case len(h) >= 4 && bytes.Equal(h[:4], []byte{0x1a, 0x45, 0xdf, 0xa3}):
		if bytes.Contains(h[:min(len(h), 64)], []byte("webm")) {
			return res("webm", "video/webm", "matroska")
		}
		return res("mkv", "video/x-matroska", "matroska")
	case len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "AVI ":
		return res("avi", "video/x-msvideo", "riff")
	case len(h) >= 4 && string(h[:3]) == "FLV" && h[3] == 1:
		return res("flv", "video/x-flv", "flv")
	case len(h) >= 16 && bytes.Equal(h[:16], []byte{0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c}):
		return res("asf", "video/x-ms-asf", "asf")
	case len(h) >= 4 && bytes.Equal(h[:4], []byte{0, 0, 1, 0xba}):
		return res("mpeg-ps", "video/mpeg", "mpeg-ps")
	case len(h) >= 377 && h[0] == 0x47 && h[188] == 0x47 && h[376] == 0x47:
		return res("mpeg-ts", "video/mp2t", "mpeg-ts")
	case len(h) >= 4 && string(h[:4]) == "OggS":
		if bytes.Contains(h, []byte("\x80theora")) {
			return res("ogv", "video/ogg", "ogg")
		}
		return res("ogg", "application/ogg", "ogg")
	}
	return res("unknown", "application/octet-stream", "unknown")
}

// isoBareQuickTime reports whether h starts with a QuickTime top-level box
// other than ftyp (old .mov files have none).
func isoBareQuickTime(h []byte) bool {
	size := be.Uint32(h)
	switch fourCC(h[4:8]) {
	case "moov", "mdat", "wide", "free", "skip", "pnot":
		return size == 1 || size >= 8
	}
	return false
}

// isoFormat names an ISO base media file by its major brand, falling back
// to the compatible brands in h for the common generic ones.
func isoFormat(brand string, h []byte) (string, string) {
	switch {
	case brand == "qt  ":
		return "mov", "video/quicktime"
	case brand == "M4A " || brand == "M4B " || brand == "M4P ":
		return "m4a", "audio/mp4"
	case brand == "M4V " || brand == "M4VH" || brand == "M4VP":
		return "m4v", "video/x-m4v"
	case strings.HasPrefix(brand, "3gp") || strings.HasPrefix(brand, "3ge") || strings.HasPrefix(brand, "3gs"):
		return "3gp", "video/3gpp"
	case strings.HasPrefix(brand, "3g2"):
		return "3g2", "video/3gpp2"
	case brand == "avif" || brand == "avis":
		return "avif", "image/avif"
	case brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1" || brand == "heim" || brand == "heis":
		return "heif", "image/heif"
	case brand == "crx ":
		return "cr3", "image/x-canon-cr3"
	}
	return "mp4", "video/mp4"
}

// isoBox is one box: its type, the offset of its payload and the
// payload's length.
type isoBox struct {
	typ      string
	off, end int64 // payload range, absolute
	start    int64 // offset of the box header
}

// isoHeader reads the box header at off, which must end by end. top allows
// size 0 (the box runs to the end of the file).
func isoHeader(src src, off, end int64, top bool) (isoBox, error) {
	h, err := src.at(off, min(16, end-off))
	if err != nil || len(h) < 8 {
		return isoBox{}, tools.Failed("malformed ISO media file: box header at offset %d is truncated", off)
	}
	return isoHeaderBytes(h, off, end, top)
}

// isoHeaderBytes parses a box header from h (at least 8 bytes, up to 16),
// found at offset off, in a parent whose payload ends at end.
func isoHeaderBytes(h []byte, off, end int64, top bool) (isoBox, error) {
	typ := fourCC(h[4:8])
	if typ == "" {
		return isoBox{}, tools.Failed("malformed ISO media file: the box type at offset %d is not a four-character code", off)
	}
	size := int64(be.Uint32(h))
	hdr := int64(8)
	switch size {
	case 0:
		if !top {
			return isoBox{}, tools.Failed("malformed ISO media file: box %q at offset %d has size 0 inside another box", typ, off)
		}
		size = end - off
	case 1:
		if len(h) < 16 {
			return isoBox{}, tools.Failed("malformed ISO media file: box %q at offset %d: 64-bit size is truncated", typ, off)
		}
		big := be.Uint64(h[8:16])
		if big > math.MaxInt64 {
			return isoBox{}, tools.Failed("malformed ISO media file: box %q at offset %d: size %d is out of range", typ, off, big)
		}
		size, hdr = int64(big), 16
	}
	if size < hdr {
		return isoBox{}, tools.Failed("malformed ISO media file: box %q at offset %d: size %d is smaller than its %d-byte header", typ, off, size, hdr)
	}
	if size > end-off {
		return isoBox{}, tools.Failed("malformed ISO media file: box %q at offset %d claims %d bytes but only %d remain (truncated or corrupt)", typ, off, size, end-off)
	}
	return isoBox{typ: typ, start: off, off: off + hdr, end: off + size}, nil
}

// isoInfo is what isoParse found.
type isoInfo struct {
	brand      string
	minor      uint32
	compatible []string
	format     string
	mime       string

	hasMvhd              bool
	timescale            uint32
	duration             uint64
	created, modified    uint64
	fragmentDuration     uint64 // mvex/mehd
	fragmented           bool
	fragments            int
	tracks               []*isoTrack
	tracksLeftOut        int
	warnings             []string
	mdatBytes, moovBytes int64
}

type isoTrack struct {
	id                      uint32
	duration                uint64 // in the movie timescale (tkhd)
	width, height           float64
	rotation                int
	handler                 string
	timescale               uint32 // media timescale (mdhd)
	mediaDuration           uint64
	language                string
	codec                   string
	profile                 string
	codedWidth, codedHeight int
	sampleRate              float64
	channels                int
	bitsPerSample           int
	sampleCount             uint64
	sttsSamples, sttsDelta  uint64
	sampleBytes             uint64
}

// isoParse walks the top-level boxes of an ISO base media file, reads moov
// (at most maxMoov bytes) and parses the parts of its tree that describe
// the movie and its tracks.
func isoParse(ctx context.Context, src src, maxMoov int64) (*isoInfo, error) {
	info := &isoInfo{}
	var off int64
	var moov *isoBox
	for n := 0; off < src.size; n++ {
		if n == maxTopBoxes {
			info.warnings = append(info.warnings, fmt.Sprintf("stopped after %d top-level boxes", maxTopBoxes))
			break
		}
		if n%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if src.size-off < 8 {
			info.warnings = append(info.warnings, fmt.Sprintf("%d stray bytes at the end of the file", src.size-off))
			break
		}
		b, err := isoHeader(src, off, src.size, true)
		if err != nil {
			return nil, err
		}
		switch b.typ {
		case "ftyp":
			if err := info.ftyp(src, b); err != nil {
				return nil, err
			}
		case "moov":
			if moov != nil {
				return nil, tools.Failed("malformed ISO media file: a second moov box at offset %d", b.start)
			}
			moov = &b
		case "mdat":
			info.mdatBytes += b.end - b.off
		case "moof":
			info.fragments++
		}
		off = b.end
	}
	if moov == nil {
		return nil, tools.Failed("malformed ISO media file: no moov box (the movie header is missing, or the file is truncated)")
	}
	info.moovBytes = moov.end - moov.start
	if moov.end-moov.off > maxMoov {
		return nil, tools.Errorf(tools.TypeTooLarge, "moov box of %d bytes exceeds the %d-byte limit", moov.end-moov.off, maxMoov)
	}
	data, err := src.at(moov.off, moov.end-moov.off)
	if err != nil {
		return nil, tools.Failed("malformed ISO media file: moov box is truncated")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if info.brand == "" {
		info.format, info.mime = "mov", "video/quicktime"
	}
	w := &isoWalker{data: data, base: moov.off, budget: maxBoxes}
	if err := w.moov(info); err != nil {
		return nil, err
	}
	if !info.hasMvhd {
		return nil, tools.Failed("malformed ISO media file: moov has no mvhd (movie header) box")
	}
	info.fragmented = info.fragmented || info.fragments > 0
	return info, nil
}

func (info *isoInfo) ftyp(src src, b isoBox) error {
	n := min(b.end-b.off, 8+4*maxBrands)
	d, err := src.at(b.off, n)
	if err != nil || len(d) < 8 {
		return tools.Failed("malformed ISO media file: ftyp box is shorter than 8 bytes")
	}
	info.brand = string(d[:4])
	info.minor = be.Uint32(d[4:8])
	info.compatible = info.compatible[:0]
	for i := 8; i+4 <= len(d); i += 4 {
		if c := fourCC(d[i : i+4]); c != "" {
			info.compatible = append(info.compatible, c)
		}
	}
	info.format, info.mime = isoFormat(info.brand, nil)
	return nil
}

// isoWalker parses boxes held in memory, with a budget on their number and
// a cap on their depth.
type isoWalker struct {
	data   []byte
	base   int64 // file offset of data[0], for messages
	budget int
}

// children calls fn for each box in data[from:to]; depth is the depth of
// those boxes.
func (w *isoWalker) children(from, to int, depth int, fn func(b isoBox) error) error {
	if depth > maxDepth {
		return tools.Failed("malformed ISO media file: boxes nested deeper than %d levels at offset %d", maxDepth, w.base+int64(from))
	}
	off := from
	for off < to {
		if to-off < 8 {
			// Some writers pad a container with up to 7 zero bytes.
			if allZero(w.data[off:to]) {
				return nil
			}
			return tools.Failed("malformed ISO media file: %d stray bytes at offset %d", to-off, w.base+int64(off))
		}
		w.budget--
		if w.budget < 0 {
			return tools.Errorf(tools.TypeTooLarge, "ISO media file has more than %d boxes in moov", maxBoxes)
		}
		b, err := isoHeaderBytes(w.data[off:min(to, off+16)], w.base+int64(off), w.base+int64(to), false)
		if err != nil {
			return err
		}
		// Make the offsets relative to data.
		b.start -= w.base
		b.off -= w.base
		b.end -= w.base
		if err := fn(b); err != nil {
			return err
		}
		off = int(b.end)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (w *isoWalker) payload(b isoBox) []byte { return w.data[b.off:b.end] }

func (w *isoWalker) malformed(b isoBox, what string) error {
	return tools.Failed("malformed ISO media file: %s box at offset %d: %s", b.typ, w.base+b.start, what)
}

func (w *isoWalker) moov(info *isoInfo) error {
	return w.children(0, len(w.data), 1, func(b isoBox) error {
		switch b.typ {
		case "mvhd":
			return w.mvhd(info, b)
		case "trak":
			if len(info.tracks) == maxTracks {
				info.tracksLeftOut++
				return nil
			}
			t := &isoTrack{}
			if err := w.trak(t, b, 2); err != nil {
				return err
			}
			info.tracks = append(info.tracks, t)
		case "mvex":
			info.fragmented = true
			return w.children(int(b.off), int(b.end), 2, func(c isoBox) error {
				if c.typ != "mehd" {
					return nil
				}
				d := w.payload(c)
				switch {
				case len(d) >= 12 && d[0] == 1:
					info.fragmentDuration = be.Uint64(d[4:12])
				case len(d) >= 8:
					info.fragmentDuration = uint64(be.Uint32(d[4:8]))
				default:
					return w.malformed(c, "too short")
				}
				return nil
			})
		}
		return nil
	})
}

func (w *isoWalker) mvhd(info *isoInfo, b isoBox) error {
	d := w.payload(b)
	if len(d) < 1 {
		return w.malformed(b, "empty")
	}
	switch d[0] {
	case 0:
		if len(d) < 20 {
			return w.malformed(b, "too short")
		}
		info.created = uint64(be.Uint32(d[4:]))
		info.modified = uint64(be.Uint32(d[8:]))
		info.timescale = be.Uint32(d[12:])
		info.duration = uint64(be.Uint32(d[16:]))
		if info.duration == math.MaxUint32 {
			info.duration = 0 // "unknown"
		}
	case 1:
		if len(d) < 32 {
			return w.malformed(b, "too short")
		}
		info.created = be.Uint64(d[4:])
		info.modified = be.Uint64(d[12:])
		info.timescale = be.Uint32(d[20:])
		info.duration = be.Uint64(d[24:])
		if info.duration == math.MaxUint64 {
			info.duration = 0
		}
	default:
		return w.malformed(b, fmt.Sprintf("unknown version %d", d[0]))
	}
	info.hasMvhd = true
	return nil
}

func (w *isoWalker) trak(t *isoTrack, b isoBox, depth int) error {
	return w.children(int(b.off), int(b.end), depth+1, func(c isoBox) error {
		switch c.typ {
		case "tkhd":
			return w.tkhd(t, c)
		case "mdia":
			return w.mdia(t, c, depth+1)
		}
		return nil
	})
}

func (w *isoWalker) tkhd(t *isoTrack, b isoBox) error {
	d := w.payload(b)
	var rest []byte
	switch {
	case len(d) >= 84 && d[0] == 0:
		t.id = be.Uint32(d[12:])
		t.duration = uint64(be.Uint32(d[20:]))
		if t.duration == math.MaxUint32 {
			t.duration = 0
		}
		rest = d[24:]
	case len(d) >= 96 && d[0] == 1:
		t.id = be.Uint32(d[20:])
		t.duration = be.Uint64(d[28:])
		if t.duration == math.MaxUint64 {
			t.duration = 0
		}
		rest = d[36:]
	case len(d) >= 1 && d[0] > 1:
		return w.malformed(b, fmt.Sprintf("unknown version %d", d[0]))
	default:
		return w.malformed(b, "too short")
	}
	// rest: reserved 8, layer 2, alternate group 2, volume 2, reserved 2,
	// matrix 36, width 4, height 4 (16.16 fixed point).
	m := rest[16:52]
	a, bb := int32(be.Uint32(m[0:])), int32(be.Uint32(m[4:]))
	c, dd := int32(be.Uint32(m[12:])), int32(be.Uint32(m[16:]))
	const one = 1 << 16
	switch {
	case a == 0 && bb == one && c == -one && dd == 0:
		t.rotation = 90
	case a == -one && bb == 0 && c == 0 && dd == -one:
		t.rotation = 180
	case a == 0 && bb == -one && c == one && dd == 0:
		t.rotation = 270
	}
	t.width = float64(be.Uint32(rest[52:])) / one
	t.height = float64(be.Uint32(rest[56:])) / one
	return nil
}

func (w *isoWalker) mdia(t *isoTrack, b isoBox, depth int) error {
	return w.children(int(b.off), int(b.end), depth+1, func(c isoBox) error {
		d := w.payload(c)
		switch c.typ {
		case "mdhd":
			var lang uint16
			switch {
			case len(d) >= 22 && d[0] == 0:
				t.timescale = be.Uint32(d[12:])
				t.mediaDuration = uint64(be.Uint32(d[16:]))
				if t.mediaDuration == math.MaxUint32 {
					t.mediaDuration = 0
				}
				lang = be.Uint16(d[20:])
			case len(d) >= 34 && d[0] == 1:
				t.timescale = be.Uint32(d[20:])
				t.mediaDuration = be.Uint64(d[24:])
				if t.mediaDuration == math.MaxUint64 {
					t.mediaDuration = 0
				}
				lang = be.Uint16(d[32:])
			default:
				return w.malformed(c, "too short or unknown version")
			}
			t.language = isoLanguage(lang)
		case "hdlr":
			if len(d) < 12 {
				return w.malformed(c, "too short")
			}
			t.handler = fourCC(d[8:12])
		case "minf":
			return w.children(int(c.off), int(c.end), depth+2, func(m isoBox) error {
				if m.typ == "stbl" {
					return w.stbl(t, m, depth+2)
				}
				return nil
			})
		}
		return nil
	})
}

// isoLanguage decodes a packed ISO 639-2 code; 0 and "und" give "".
func isoLanguage(v uint16) string {
	if v == 0 || v == 0x7fff || v < 0x400 {
		return "" // unset, or a QuickTime Macintosh language code
	}
	s := string([]byte{byte(v>>10&31) + 0x60, byte(v>>5&31) + 0x60, byte(v&31) + 0x60})
	for _, c := range []byte(s) {
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	if s == "und" {
		return ""
	}
	return s
}

func (w *isoWalker) stbl(t *isoTrack, b isoBox, depth int) error {
	return w.children(int(b.off), int(b.end), depth+1, func(c isoBox) error {
		d := w.payload(c)
		switch c.typ {
		case "stsd":
			if len(d) < 8 {
				return w.malformed(c, "too short")
			}
			if be.Uint32(d[4:]) == 0 {
				return nil
			}
			first := true
			return w.children(int(c.off)+8, int(c.end), depth+2, func(e isoBox) error {
				if first {
					first = false
					return w.sampleEntry(t, e, depth+2)
				}
				return nil
			})
		case "stts":
			if len(d) < 8 {
				return w.malformed(c, "too short")
			}
			n := uint64(be.Uint32(d[4:]))
			if n > uint64(len(d)-8)/8 {
				return w.malformed(c, fmt.Sprintf("claims %d entries but holds %d", n, (len(d)-8)/8))
			}
			for i := uint64(0); i < n; i++ {
				e := d[8+8*i:]
				count, delta := uint64(be.Uint32(e)), uint64(be.Uint32(e[4:]))
				t.sttsSamples += count
				t.sttsDelta += count * delta
			}
		case "stsz":
			if len(d) < 12 {
				return w.malformed(c, "too short")
			}
			size, n := uint64(be.Uint32(d[4:])), uint64(be.Uint32(d[8:]))
			t.sampleCount = n
			if size != 0 {
				t.sampleBytes = size * n
				return nil
			}
			if n > uint64(len(d)-12)/4 {
				return w.malformed(c, fmt.Sprintf("claims %d sample sizes but holds %d", n, (len(d)-12)/4))
			}
			for i := uint64(0); i < n; i++ {
				t.sampleBytes += uint64(be.Uint32(d[12+4*i:]))
			}
		case "stz2":
			if len(d) < 12 {
				return w.malformed(c, "too short")
			}
			t.sampleCount = uint64(be.Uint32(d[8:]))
		}
		return nil
	})
}

// sampleEntry reads the first entry of stsd: its type is the codec.
func (w *isoWalker) sampleEntry(t *isoTrack, e isoBox, depth int) error {
	t.codec = e.typ
	d := w.payload(e)
	switch t.handler {
	case "vide":
		// reserved 6, data reference index 2, pre-defined and reserved 16,
		// width 2, height 2, resolution 8, reserved 4, frame count 2,
		// compressor name 32, depth 2, pre-defined 2: 78 bytes, then boxes.
		if len(d) < 78 {
			return w.malformed(e, "visual sample entry too short")
		}
		t.codedWidth = int(be.Uint16(d[24:]))
		t.codedHeight = int(be.Uint16(d[26:]))
		return w.children(int(e.off)+78, int(e.end), depth+1, func(c isoBox) error {
			cd := w.payload(c)
			switch c.typ {
			case "avcC":
				if len(cd) >= 4 {
					t.profile = isoAVCProfile(cd[1])
					t.codec = fmt.Sprintf("%s.%02x%02x%02x", e.typ, cd[1], cd[2], cd[3])
				}
			case "hvcC":
				if len(cd) >= 2 {
					switch cd[1] & 31 {
					case 1:
						t.profile = "Main"
					case 2:
						t.profile = "Main 10"
					case 3:
						t.profile = "Main Still Picture"
					case 4:
						t.profile = "Range Extensions"
					}
				}
			}
			return nil
		})
	case "soun":
		// reserved 6, data reference index 2, version 2, revision 2,
		// vendor 4, channels 2, sample size 2, compression id 2, packet
		// size 2, sample rate 4 (16.16); QuickTime version 2 moves the
		// rate and channel count further on.
		if len(d) < 28 {
			return w.malformed(e, "audio sample entry too short")
		}
		if be.Uint16(d[8:]) == 2 {
			if len(d) < 48 {
				return w.malformed(e, "version 2 audio sample entry too short")
			}
			t.sampleRate = math.Float64frombits(be.Uint64(d[32:]))
			t.channels = int(be.Uint32(d[40:]))
			t.bitsPerSample = int(be.Uint32(d[44:]))
			if math.IsNaN(t.sampleRate) || t.sampleRate < 0 || t.sampleRate > 1e7 {
				t.sampleRate = 0
			}
			return nil
		}
		t.channels = int(be.Uint16(d[16:]))
		t.bitsPerSample = int(be.Uint16(d[18:]))
		t.sampleRate = float64(be.Uint32(d[24:])) / (1 << 16)
	}
	return nil
}

func isoAVCProfile(p byte) string {
	switch p {
	case 66:
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4 Predictive"
	}
	return ""
}

// isoCodecNames names the common sample entry types.
var isoCodecNames = map[string]string{
	"avc1": "H.264/AVC", "avc3": "H.264/AVC", "hvc1": "H.265/HEVC", "hev1": "H.265/HEVC",
	"av01": "AV1", "vp08": "VP8", "vp09": "VP9", "mp4v": "MPEG-4 Visual", "s263": "H.263",
	"jpeg": "Motion JPEG", "mjpa": "Motion JPEG", "apch": "Apple ProRes 422 HQ", "apcn": "Apple ProRes 422",
	"apcs": "Apple ProRes 422 LT", "apco": "Apple ProRes 422 Proxy", "ap4h": "Apple ProRes 4444",
	"dvh1": "Dolby Vision (HEVC)", "dvhe": "Dolby Vision (HEVC)",
	"mp4a": "MPEG-4 audio (AAC or MP3)", "ac-3": "AC-3", "ec-3": "E-AC-3", "Opus": "Opus", "fLaC": "FLAC",
	"alac": "Apple Lossless", "samr": "AMR-NB", "sawb": "AMR-WB", "lpcm": "PCM", "sowt": "PCM (little-endian)",
	"twos": "PCM (big-endian)", "ipcm": "PCM", "fpcm": "PCM (float)", "ulaw": "µ-law", "alaw": "A-law",
	"tx3g": "3GPP timed text", "wvtt": "WebVTT", "stpp": "TTML", "c608": "CEA-608 captions", "tmcd": "timecode",
	"text": "QuickTime text",
}

func isoKind(handler string) string {
	switch handler {
	case "vide":
		return "video"
	case "soun":
		return "audio"
	case "text", "sbtl", "subt", "clcp":
		return "subtitle"
	case "hint":
		return "hint"
	case "meta":
		return "metadata"
	case "tmcd":
		return "timecode"
	case "":
		return "unknown"
	}
	return "other"
}

// isoTime converts seconds since 1904-01-01 UTC to RFC 3339; 0 gives "".
func isoTime(v uint64) string {
	const epochDiff = 2082844800 // 1904 to 1970
	if v <= epochDiff || v > epochDiff+1<<40 {
		return ""
	}
	return time.Unix(int64(v-epochDiff), 0).UTC().Format(time.RFC3339)
}

// result renders the parsed file as the tool's reply.
func (info *isoInfo) result() map[string]any {
	res := map[string]any{
		"format":     info.format,
		"mime":       info.mime,
		"fragmented": info.fragmented,
	}
	if info.brand != "" {
		res["major_brand"] = info.brand
		res["minor_version"] = int64(info.minor)
		brands := make([]any, len(info.compatible))
		for i, b := range info.compatible {
			brands[i] = b
		}
		res["compatible_brands"] = brands
	}
	if info.fragments > 0 {
		res["fragments"] = info.fragments
	}
	if info.timescale > 0 {
		res["timescale"] = int64(info.timescale)
		dur := info.duration
		if dur == 0 {
			dur = info.fragmentDuration
		}
		if dur > 0 {
			res["duration_seconds"] = round(float64(dur)/float64(info.timescale), 3)
		}
	} else {
		info.warnings = append(info.warnings, "mvhd timescale is 0; duration unknown")
	}
	if s := isoTime(info.created); s != "" {
		res["created"] = s
	}
	if s := isoTime(info.modified); s != "" {
		res["modified"] = s
	}
	tracks := make([]any, 0, len(info.tracks))
	for _, t := range info.tracks {
		tm := t.result(info.timescale)
		tracks = append(tracks, tm)
		if k := tm["kind"]; k == "video" || k == "audio" {
			if _, seen := res[k.(string)]; !seen {
				res[k.(string)] = tm
			}
		}
	}
	res["tracks"] = tracks
	if info.tracksLeftOut > 0 {
		info.warnings = append(info.warnings, fmt.Sprintf("%d more tracks not reported", info.tracksLeftOut))
	}
	if info.fragmented && info.fragments > 0 {
		info.warnings = append(info.warnings, "fragmented file: sample counts and frame rates cover the moov box only")
	}
	if len(info.warnings) > 0 {
		ws := make([]any, len(info.warnings))
		for i, w := range info.warnings {
			ws[i] = w
		}
		res["warnings"] = ws
	}
	return res
}

func (t *isoTrack) result(movieScale uint32) map[string]any {
	m := map[string]any{"id": int64(t.id), "kind": isoKind(t.handler)}
	if t.handler != "" {
		m["handler"] = t.handler
	}
	if t.codec != "" {
		m["codec"] = t.codec
		base := t.codec
		if i := strings.IndexByte(base, '.'); i > 0 {
			base = base[:i]
		}
		if name, ok := isoCodecNames[base]; ok {
			m["codec_name"] = name
		}
	}
	if t.profile != "" {
		m["profile"] = t.profile
	}
	if t.language != "" {
		m["language"] = t.language
	}
	var seconds float64
	switch {
	case t.timescale > 0 && t.mediaDuration > 0:
		seconds = float64(t.mediaDuration) / float64(t.timescale)
	case movieScale > 0 && t.duration > 0:
		seconds = float64(t.duration) / float64(movieScale)
	}
	if seconds > 0 {
		m["duration_seconds"] = round(seconds, 3)
	}
	if t.timescale > 0 {
		m["timescale"] = int64(t.timescale)
	}
	samples := t.sampleCount
	if samples == 0 {
		samples = t.sttsSamples
	}
	if samples > 0 {
		m["samples"] = int64(min(samples, math.MaxInt64))
	}
	if t.sampleBytes > 0 && seconds > 0 {
		m["bitrate_kbps"] = round(float64(t.sampleBytes)*8/seconds/1000, 1)
	}
	switch t.handler {
	case "vide":
		w, h := int(t.width), int(t.height)
		if w == 0 || h == 0 {
			w, h = t.codedWidth, t.codedHeight
		}
		m["width"], m["height"] = w, h
		if t.codedWidth > 0 {
			m["coded_width"], m["coded_height"] = t.codedWidth, t.codedHeight
		}
		m["rotation"] = t.rotation
		switch {
		case t.sttsSamples > 0 && t.sttsDelta > 0 && t.timescale > 0:
			m["frame_rate"] = round(float64(t.sttsSamples)*float64(t.timescale)/float64(t.sttsDelta), 3)
		case samples > 0 && seconds > 0:
			m["frame_rate"] = round(float64(samples)/seconds, 3)
		}
	case "soun":
		if t.sampleRate > 0 {
			m["sample_rate"] = round(t.sampleRate, 3)
		}
		if t.channels > 0 {
			m["channels"] = t.channels
		}
		if t.bitsPerSample > 0 {
			m["bits_per_sample"] = t.bitsPerSample
		}
	}
	return m
}
