package media

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"

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
