package media

import (
	"fmt"
	"math"
	"strings"
	"time"

	"spellhost/tools"
)

// Walking the boxes of an ISO base media file (MP4, MOV, M4A).

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
