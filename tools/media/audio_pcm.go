package media

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// WAV, AIFF and AU input of audio-processor, and M4A through the MP4 box reader.

// pcm describes a WAV or AIFF file's sample data.
type pcm struct {
	format      string // wav, rf64, aiff, aifc
	tag         uint16 // WAV format tag (after WAVE_FORMAT_EXTENSIBLE)
	compression string // AIFF-C compression type
	encoding    string // pcm, float, alaw, ulaw or other
	bigEndian   bool
	unsigned8   bool // 8-bit samples are unsigned (WAV)
	rate        float64
	channels    int
	bits        int // significant bits per sample
	bytesPer    int // container bytes per sample
	blockAlign  int
	byteRate    int64
	channelMask uint32
	dataOff     int64
	dataLen     int64
	frames      int64 // from the header (AIFF COMM, WAV fact); -1 when not stated
	tags        map[string]any
	warnings    []string
	codec       string
}

// parseWAV walks a RIFF WAVE (or RF64) file's chunks.
func parseWAV(src src) (*pcm, error) {
	h, err := src.at(0, 12)
	if err != nil {
		return nil, fail("WAV file: the RIFF header is truncated")
	}
	a := &pcm{format: "wav", frames: -1, tags: map[string]any{}}
	rf64 := string(h[:4]) != "RIFF"
	if rf64 {
		a.format = "rf64"
	}
	var ds64Data uint64
	var haveFmt, haveData bool
	off := int64(12)
	for n := 0; src.size-off >= 8; n++ {
		if n == maxChunks {
			a.warnings = append(a.warnings, fmt.Sprintf("stopped after %d chunks", maxChunks))
			break
		}
		ch, err := src.at(off, 8)
		if err != nil {
			return nil, err
		}
		id := fourCC(ch)
		if id == "" {
			if haveData && haveFmt {
				a.warnings = append(a.warnings, fmt.Sprintf("%d bytes of junk after the last chunk", src.size-off))
				break
			}
			return nil, fail("WAV file: the chunk id at offset %d is not a four-character code", off)
		}
		size := int64(le.Uint32(ch[4:]))
		body := off + 8
		avail := src.size - body
		switch id {
		case "ds64":
			d, err := src.at(body, min(size, 24))
			if err != nil || len(d) < 24 {
				return nil, fail("WAV file: ds64 chunk is shorter than 24 bytes")
			}
			ds64Data = le.Uint64(d[8:])
		case "fmt ":
			if size < 16 {
				return nil, fail("WAV file: fmt chunk is %d bytes, at least 16 are needed", size)
			}
			d, err := src.at(body, min(size, 40))
			if err != nil {
				return nil, fail("WAV file: fmt chunk is truncated")
			}
			if err := a.wavFmt(d); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if rf64 && size == 0xffffffff {
				if ds64Data > uint64(math.MaxInt64) {
					return nil, fail("RF64 file: ds64 data size %d is out of range", ds64Data)
				}
				size = int64(ds64Data)
			}
			haveData = true
			a.dataOff, a.dataLen = body, size
			if size > avail {
				a.warnings = append(a.warnings, fmt.Sprintf("data chunk declares %d bytes but the file holds %d after it (truncated file)", size, avail))
				a.dataLen = avail
			}
		case "fact":
			if d, err := src.at(body, min(size, 4)); err == nil && len(d) == 4 {
				a.frames = int64(le.Uint32(d))
			}
		case "LIST":
			if d, err := src.at(body, min(size, avail, maxTagBytes)); err == nil && len(d) >= 4 && string(d[:4]) == "INFO" {
				riffInfo(d[4:], a.tags)
			}
		}
		if size > avail {
			if id == "data" {
				break
			}
			return nil, fail("WAV file: chunk %q at offset %d claims %d bytes but only %d remain", id, off, size, avail)
		}
		off = body + size + size&1
	}
	if !haveFmt {
		return nil, fail("WAV file: no fmt chunk")
	}
	if !haveData {
		return nil, fail("WAV file: no data chunk")
	}
	if a.encoding == "pcm" || a.encoding == "float" || a.encoding == "alaw" || a.encoding == "ulaw" {
		// A fact chunk matters for compressed data only; here the data
		// chunk's length decides.
		a.frames = a.dataLen / int64(a.blockAlign)
	}
	return a, nil
}

// wavFmt reads a fmt chunk (16 to 40 bytes).
func (a *pcm) wavFmt(d []byte) error {
	a.tag = le.Uint16(d)
	a.channels = int(le.Uint16(d[2:]))
	a.rate = float64(le.Uint32(d[4:]))
	a.byteRate = int64(le.Uint32(d[8:]))
	a.blockAlign = int(le.Uint16(d[12:]))
	a.bits = int(le.Uint16(d[14:]))
	if a.tag == 0xfffe {
		if len(d) < 40 {
			return fail("WAV file: WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes")
		}
		if vb := int(le.Uint16(d[18:])); vb > 0 {
			a.bits = vb
		}
		a.channelMask = le.Uint32(d[20:])
		a.tag = le.Uint16(d[24:])
	}
	switch {
	case a.channels == 0:
		return fail("WAV file: fmt chunk has 0 channels")
	case a.rate == 0:
		return fail("WAV file: fmt chunk has a sample rate of 0")
	case a.blockAlign == 0:
		return fail("WAV file: fmt chunk has a block align of 0")
	}
	a.unsigned8 = true
	switch a.tag {
	case 1:
		a.encoding = "pcm"
	case 3:
		a.encoding = "float"
	case 6:
		a.encoding, a.codec = "alaw", "alaw"
	case 7:
		a.encoding, a.codec = "ulaw", "mulaw"
	default:
		a.encoding = "other"
		a.codec = wavCodecs[a.tag]
		if a.codec == "" {
			a.codec = fmt.Sprintf("0x%04x", a.tag)
		}
		return nil
	}
	if a.blockAlign%a.channels != 0 {
		return fail("WAV file: block align %d is not a multiple of the %d channels", a.blockAlign, a.channels)
	}
	a.bytesPer = a.blockAlign / a.channels
	if a.bits == 0 || a.bits > 8*a.bytesPer {
		return fail("WAV file: %d bits per sample do not fit %d-byte samples", a.bits, a.bytesPer)
	}
	switch a.encoding {
	case "pcm":
		if a.bytesPer > 4 {
			return fail("WAV file: %d-byte integer samples are not supported", a.bytesPer)
		}
		if a.bytesPer == 1 {
			a.codec = "pcm_u8"
		} else {
			a.codec = fmt.Sprintf("pcm_s%dle", 8*a.bytesPer)
		}
	case "float":
		if a.bytesPer != 4 && a.bytesPer != 8 {
			return fail("WAV file: %d-byte float samples are not supported", a.bytesPer)
		}
		a.codec = fmt.Sprintf("pcm_f%dle", 8*a.bytesPer)
	}
	return nil
}

var wavCodecs = map[uint16]string{
	0x0002: "adpcm_ms", 0x0011: "adpcm_ima", 0x0031: "gsm_ms", 0x0050: "mp2", 0x0055: "mp3",
	0x0092: "ac3", 0x0161: "wma", 0x0162: "wma_pro", 0x2000: "ac3", 0x2001: "dts", 0xf1ac: "flac",
}

// infoNames maps LIST/INFO ids to tag names.
var infoNames = map[string]string{
	"INAM": "title", "IART": "artist", "IPRD": "album", "ICMT": "comment", "ICRD": "date", "IGNR": "genre",
	"ISFT": "software", "ICOP": "copyright", "IENG": "engineer", "ITRK": "track", "IPRT": "track",
	"ISBJ": "subject", "IKEY": "keywords", "ISRC": "source", "ITCH": "technician", "ILNG": "language",
}

// riffInfo reads the subchunks of a LIST/INFO chunk into tags.
func riffInfo(d []byte, tags map[string]any) {
	for len(d) >= 8 && len(tags) < maxTags {
		id := fourCC(d)
		size := int(le.Uint32(d[4:]))
		if id == "" || size > len(d)-8 {
			return
		}
		v := textInfo(d[8 : 8+size])
		if name := infoNames[id]; name != "" && v != "" {
			tags[name] = v
		} else if v != "" {
			tags[strings.ToLower(strings.TrimSpace(id))] = v
		}
		d = d[min(len(d), 8+size+size&1):]
	}
}

// textInfo turns a stored string (NUL-terminated, maybe Latin-1) into clean
// UTF-8 of at most maxTagValue bytes.
func textInfo(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		s = latin1(b)
	}
	return clip(strings.TrimSpace(s))
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func clip(s string) string {
	if len(s) <= maxTagValue {
		return s
	}
	s = s[:maxTagValue]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// parseAIFF walks an AIFF or AIFF-C file's chunks.
func parseAIFF(src src) (*pcm, error) {
	h, err := src.at(0, 12)
	if err != nil {
		return nil, fail("AIFF file: the FORM header is truncated")
	}
	a := &pcm{format: "aiff", bigEndian: true, frames: -1, tags: map[string]any{}}
	aifc := string(h[8:12]) == "AIFC"
	if aifc {
		a.format = "aifc"
	}
	var haveComm, haveData bool
	off := int64(12)
	for n := 0; src.size-off >= 8; n++ {
		if n == maxChunks {
			a.warnings = append(a.warnings, fmt.Sprintf("stopped after %d chunks", maxChunks))
			break
		}
		ch, err := src.at(off, 8)
		if err != nil {
			return nil, err
		}
		id := fourCC(ch)
		if id == "" {
			return nil, fail("AIFF file: the chunk id at offset %d is not a four-character code", off)
		}
		size := int64(be.Uint32(ch[4:]))
		body := off + 8
		avail := src.size - body
		switch id {
		case "COMM":
			if size < 18 || (aifc && size < 22) {
				return nil, fail("AIFF file: COMM chunk is %d bytes, too short", size)
			}
			d, err := src.at(body, min(size, 64))
			if err != nil {
				return nil, fail("AIFF file: COMM chunk is truncated")
			}
			if err := a.aiffComm(d, aifc); err != nil {
				return nil, err
			}
			haveComm = true
		case "SSND":
			if size < 8 {
				return nil, fail("AIFF file: SSND chunk is %d bytes, too short", size)
			}
			d, err := src.at(body, 8)
			if err != nil {
				return nil, fail("AIFF file: SSND chunk is truncated")
			}
			skip := int64(be.Uint32(d))
			if skip > size-8 {
				return nil, fail("AIFF file: SSND offset %d is past the chunk's end", skip)
			}
			haveData = true
			a.dataOff, a.dataLen = body+8+skip, size-8-skip
			if size > avail {
				a.warnings = append(a.warnings, fmt.Sprintf("SSND chunk declares %d bytes but the file holds %d after it (truncated file)", size, avail))
				a.dataOff = min(a.dataOff, src.size)
				a.dataLen = max(0, src.size-a.dataOff)
			}
		case "NAME", "AUTH", "(c) ", "ANNO":
			if d, err := src.at(body, min(size, avail, maxTagBytes)); err == nil && len(a.tags) < maxTags {
				name := map[string]string{"NAME": "title", "AUTH": "artist", "(c) ": "copyright", "ANNO": "comment"}[id]
				if v := textInfo(d); v != "" {
					if old, ok := a.tags[name].(string); ok {
						v = clip(old + "; " + v)
					}
					a.tags[name] = v
				}
			}
		}
		if size > avail {
			if id == "SSND" {
				break
			}
			return nil, fail("AIFF file: chunk %q at offset %d claims %d bytes but only %d remain", id, off, size, avail)
		}
		off = body + size + size&1
	}
	if !haveComm {
		return nil, fail("AIFF file: no COMM chunk")
	}
	if !haveData {
		if a.frames > 0 {
			return nil, fail("AIFF file: no SSND chunk")
		}
		a.dataOff = src.size
	}
	if a.blockAlign > 0 {
		if held := a.dataLen / int64(a.blockAlign); a.frames > held {
			a.warnings = append(a.warnings, fmt.Sprintf("COMM declares %d frames but SSND holds %d", a.frames, held))
			a.frames = held
		}
	}
	return a, nil
}

// aiffComm reads a COMM chunk.
func (a *pcm) aiffComm(d []byte, aifc bool) error {
	a.channels = int(be.Uint16(d))
	a.frames = int64(be.Uint32(d[2:]))
	a.bits = int(be.Uint16(d[6:]))
	a.rate = ext80(d[8:18])
	if a.channels == 0 {
		return fail("AIFF file: COMM chunk has 0 channels")
	}
	if !(a.rate > 0 && a.rate < 1e7) {
		return fail("AIFF file: COMM chunk has a sample rate of %v", a.rate)
	}
	a.encoding = "pcm"
	a.compression = "NONE"
	if aifc {
		a.compression = fourCC(d[18:22])
		switch a.compression {
		case "NONE", "twos":
		case "sowt":
			a.bigEndian = false
		case "fl32", "FL32":
			a.encoding, a.bits = "float", 32
		case "fl64", "FL64":
			a.encoding, a.bits = "float", 64
		case "alaw", "ALAW":
			a.encoding, a.bits, a.codec = "alaw", 8, "alaw"
		case "ulaw", "ULAW":
			a.encoding, a.bits, a.codec = "ulaw", 8, "mulaw"
		default:
			a.encoding = "other"
			a.codec = strings.TrimSpace(a.compression)
			if a.codec == "" {
				a.codec = "unknown"
			}
			return nil
		}
	}
	if a.bits == 0 || a.bits > 64 || (a.encoding == "pcm" && a.bits > 32) {
		return fail("AIFF file: %d bits per sample", a.bits)
	}
	a.bytesPer = (a.bits + 7) / 8
	a.blockAlign = a.bytesPer * a.channels
	a.byteRate = int64(float64(a.blockAlign) * a.rate)
	endian := "be"
	if !a.bigEndian {
		endian = "le"
	}
	switch a.encoding {
	case "pcm":
		a.codec = fmt.Sprintf("pcm_s%d%s", 8*a.bytesPer, endian)
		if a.bytesPer == 1 {
			a.codec = "pcm_s8"
		}
	case "float":
		a.codec = fmt.Sprintf("pcm_f%dbe", a.bits)
	}
	return nil
}

// ext80 decodes an 80-bit IEEE 754 extended float.
func ext80(b []byte) float64 {
	exp := int(be.Uint16(b) & 0x7fff)
	mant := be.Uint64(b[2:])
	if exp == 0 && mant == 0 {
		return 0
	}
	f := math.Ldexp(float64(mant), exp-16383-63)
	if b[0]&0x80 != 0 {
		f = -f
	}
	return f
}

// putExt80 encodes v (positive) as an 80-bit extended float.
func putExt80(b []byte, v float64) {
	frac, exp := math.Frexp(v)
	be.PutUint16(b, uint16(exp-1+16383))
	be.PutUint64(b[2:], uint64(frac*(1<<64)))
}

func (a *pcm) result() map[string]any {
	res := map[string]any{
		"codec":       a.codec,
		"encoding":    a.encoding,
		"sample_rate": round(a.rate, 3),
		"channels":    a.channels,
		"data_bytes":  a.dataLen,
	}
	if a.encoding != "other" {
		res["bits_per_sample"] = a.bits
		res["block_align"] = a.blockAlign
	}
	if a.channelMask != 0 {
		res["channel_mask"] = int64(a.channelMask)
	}
	if a.compression != "" && a.format == "aifc" {
		res["compression"] = a.compression
	}
	if a.frames >= 0 {
		res["frames"] = a.frames
		res["duration_seconds"] = round(float64(a.frames)/a.rate, 3)
	} else if a.byteRate > 0 {
		res["duration_seconds"] = round(float64(a.dataLen)/float64(a.byteRate), 3)
		res["duration_estimated"] = true
	}
	if a.byteRate > 0 {
		res["bitrate_kbps"] = round(float64(a.byteRate)*8/1000, 1)
	}
	res["tags"] = a.tags
	if len(a.warnings) > 0 {
		res["warnings"] = anyList(a.warnings)
	}
	return res
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// parseAU reads a Sun/NeXT .au header.
func parseAU(src src) (map[string]any, error) {
	h, err := src.at(0, 24)
	if err != nil {
		return nil, fail("AU file: header is truncated")
	}
	off, size := int64(be.Uint32(h[4:])), int64(be.Uint32(h[8:]))
	enc, rate, ch := be.Uint32(h[12:]), int64(be.Uint32(h[16:])), int(be.Uint32(h[20:]))
	if off < 24 || off > src.size {
		return nil, fail("AU file: data offset %d is outside the file", off)
	}
	if rate == 0 || ch == 0 {
		return nil, fail("AU file: sample rate %d, %d channels", rate, ch)
	}
	avail := src.size - off
	if size == 0xffffffff || size > avail {
		size = avail
	}
	codecs := map[uint32][2]any{1: {"mulaw", 8}, 2: {"pcm_s8", 8}, 3: {"pcm_s16be", 16}, 4: {"pcm_s24be", 24},
		5: {"pcm_s32be", 32}, 6: {"pcm_f32be", 32}, 7: {"pcm_f64be", 64}, 27: {"alaw", 8}}
	res := map[string]any{"sample_rate": rate, "channels": ch, "data_bytes": size, "tags": map[string]any{}}
	if c, ok := codecs[enc]; ok {
		res["codec"] = c[0]
		bits := c[1].(int)
		res["bits_per_sample"] = bits
		frames := size / int64(bits/8*ch)
		res["frames"] = frames
		res["duration_seconds"] = round(float64(frames)/float64(rate), 3)
		res["bitrate_kbps"] = round(float64(rate*int64(bits*ch))/1000, 1)
	} else {
		res["codec"] = fmt.Sprintf("au_encoding_%d", enc)
	}
	return res, nil
}

// parseM4A reads an MP4/M4A file's box tree and reports its first audio
// track.
func parseM4A(ctx context.Context, ps *perm.Set, src src) (map[string]any, error) {
	maxMoov := int64(maxMoov)
	if ps != nil {
		maxMoov = min(maxMoov, ps.Limits().MaxFileBytes)
	}
	info, err := isoParse(ctx, src, maxMoov)
	if err != nil {
		return nil, err
	}
	full := info.result()
	a, ok := full["audio"].(map[string]any)
	if !ok {
		return nil, tools.Failed("the MP4 file has no audio track")
	}
	res := map[string]any{"tags": map[string]any{}}
	for _, k := range []string{"codec", "codec_name", "sample_rate", "channels", "bits_per_sample", "language", "bitrate_kbps"} {
		if v, ok := a[k]; ok {
			res[k] = v
		}
	}
	if d, ok := full["duration_seconds"]; ok {
		res["duration_seconds"] = d
	} else if d, ok := a["duration_seconds"]; ok {
		res["duration_seconds"] = d
	}
	_, hasVideo := full["video"]
	res["has_video"] = hasVideo
	if b, ok := full["major_brand"]; ok {
		res["major_brand"] = b
	}
	return res, nil
}
