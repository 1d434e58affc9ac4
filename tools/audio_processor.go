package tools

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"spellhost/tools/perm"
)

// audio_processor limits.
const (
	// apMaxChunks caps the RIFF, AIFF or FLAC chunks (blocks) walked.
	apMaxChunks = 1024
	// apMaxTagBytes caps the bytes of one tag block (LIST/INFO, a Vorbis
	// comment block, an ID3 text frame) that are read.
	apMaxTagBytes = 64 << 10
	// apMaxTags caps the tags reported.
	apMaxTags = 64
	// apMaxTagValue caps one tag's value, in bytes.
	apMaxTagValue = 1024
	// apScan is how far past an ID3 tag the first MPEG frame is looked for.
	apScan = 64 << 10
)

func audioProcessorSpec() Spec {
	return Spec{
		Name:     "audio_processor",
		Category: "media",
		Description: "Identifies audio files by their leading bytes (WAV, RF64, AIFF, AIFF-C, FLAC, MP3/MP2, AAC (ADTS), " +
			"Ogg Vorbis/Opus/FLAC, M4A, AU, CAF, MIDI, AMR, WavPack, APE, WMA), reads their metadata by parsing " +
			"the container (WAV/RF64 fmt, data and LIST/INFO chunks; AIFF COMM, SSND and text chunks; FLAC STREAMINFO " +
			"and Vorbis comments; MP3 frame headers, Xing/Info/VBRI headers and ID3v1/v2 tags; Ogg identification and " +
			"comment headers and the last page's granule; M4A/MP4 tracks; AU headers), and converts uncompressed " +
			"audio: it reads integer PCM (8 to 32 bit) or float WAV and AIFF files and writes integer PCM WAV, AIFF " +
			"or headerless raw at 8, 16, 24 or 32 bits, optionally mixed down to mono. It does not decode or encode " +
			"compressed audio (MP3, AAC, FLAC, Vorbis, Opus, ADPCM, A-law, µ-law) and does not resample.",
		Params: []Param{
			{Name: "operation", Type: String, Default: "metadata", Enum: []string{"metadata", "detect", "convert"},
				Description: "metadata parses the file's container; detect names the format from its first bytes; " +
					"convert rewrites a PCM or float WAV/AIFF file as target_format"},
			{Name: "file_path", Type: String, Required: true,
				Description: "the audio file, relative to the base folder; needs read permission. metadata and detect read " +
					"only headers, chunks and tags, so the file may be of any size; convert reads the whole file, which must be " +
					"within the file size limit (64 MiB by default)"},
			{Name: "target_path", Type: String,
				Description: "convert: where to write the result, relative to the base folder; needs write permission; " +
					"written atomically; the output must be within the file size limit"},
			{Name: "target_format", Type: String, Enum: []string{"wav", "aiff", "raw"},
				Description: "convert: inferred from target_path's extension (.wav, .aif, .aiff, .raw, .pcm) when omitted, " +
					"else wav; a known extension that disagrees is a validation error. wav writes a RIFF WAVE file with an integer PCM fmt chunk; aiff writes an AIFF file " +
					"(big-endian signed PCM); raw writes only the sample bytes, interleaved little-endian as in a WAV data " +
					"chunk (8-bit unsigned, wider signed). Tags are not copied"},
			{Name: "bit_depth", Type: Integer,
				Description: "convert: bits per sample of the output, 8, 16, 24 or 32 (integer PCM); defaults to the source's " +
					"(16 for a float source). Reducing it rounds to nearest without dither"},
			{Name: "channels", Type: Integer,
				Description: "convert: output channels; 1 mixes all source channels down to mono by averaging, 2 from a " +
					"mono source duplicates it; defaults to the source's count"},
			{Name: "overwrite", Type: Boolean, Default: false,
				Description: "convert: replace target_path if it exists (otherwise an existing file is a validation error)"},
		},
		Returns: "detect: {format, mime, file_size} plus codec for Ogg; format is \"unknown\" when the bytes match no " +
			"known audio format. metadata: {format, mime, codec, file_size, sample_rate, channels, bits_per_sample, " +
			"frames, duration_seconds, bitrate_kbps, tags, warnings} with format-specific fields (WAV: block_align, " +
			"data_bytes, channel_mask; FLAC: md5, min/max block size; MP3: mpeg_version, layer, channel_mode, " +
			"bitrate_mode, duration_estimated, id3_version; Ogg: vendor); fields a file does not state are left out; " +
			"at most 64 tags of 1 KiB each; a data chunk cut short by the end of the file gives the frames present " +
			"and a warning. " +
			"convert: {source_path, target_path, source_format, format, sample_rate, channels, bits_per_sample, " +
			"frames, duration_seconds, bytes_written}",
	}
}

// AudioProcessor returns the audio_processor tool.
func AudioProcessor(cfg Config) Tool {
	return New(audioProcessorSpec(), func(ctx context.Context, p Params) (any, error) {
		return apRun(ctx, cfg.Perm, p)
	})
}

func apRun(ctx context.Context, ps *perm.Set, p Params) (any, error) {
	op := p.String("operation")
	if op == "convert" {
		return apConvert(ctx, ps, p)
	}
	for _, name := range []string{"target_path", "target_format", "bit_depth", "channels", "overwrite"} {
		if p.Has(name) {
			return nil, Invalid("parameter %q: applies to operation convert only", name)
		}
	}
	path := p.String("file_path")
	mf, err := mediaOpen(ps, "file_path", path)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	src := mediaSrc{r: mf.f, size: mf.size}
	det, err := apDetect(src)
	if err != nil {
		return nil, Failed("read %s: %v", path, err)
	}
	if op == "detect" {
		res := map[string]any{"format": det.format, "mime": det.mime, "file_size": mf.size}
		if det.codec != "" {
			res["codec"] = det.codec
		}
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var res map[string]any
	switch det.format {
	case "wav", "rf64":
		a, err := apParseWAV(src)
		if err != nil {
			return nil, err
		}
		res = a.result()
	case "aiff", "aifc":
		a, err := apParseAIFF(src)
		if err != nil {
			return nil, err
		}
		res = a.result()
	case "flac":
		res, err = apParseFLAC(src, det.id3End)
	case "mp3", "mp2", "mp1":
		res, err = apParseMP3(src)
	case "ogg":
		res, err = apParseOgg(src)
	case "au":
		res, err = apParseAU(src)
	case "m4a", "mp4":
		res, err = apParseM4A(ctx, ps, src)
	case "unknown":
		return nil, Failed("%s is not a recognised audio file", path)
	default:
		return nil, Failed("metadata for %s files is not supported (detect recognises them; metadata reads WAV, AIFF, "+
			"FLAC, MP3, Ogg, AU and M4A)", det.format)
	}
	if err != nil {
		return nil, err
	}
	res["format"], res["mime"] = det.format, det.mime
	res["file_size"] = mf.size
	return res, nil
}

// apDetected is what the first bytes of a file say.
type apDetected struct {
	format, mime, codec string
	id3End              int64 // end of a leading ID3v2 tag, else 0
}

// apDetect names an audio format from the file's leading bytes.
func apDetect(src mediaSrc) (apDetected, error) {
	h, err := src.head(64)
	if err != nil {
		return apDetected{}, err
	}
	d := func(f, m string) apDetected { return apDetected{format: f, mime: m} }
	has := func(off int, s string) bool { return len(h) >= off+len(s) && string(h[off:off+len(s)]) == s }
	switch {
	case has(0, "RIFF") && has(8, "WAVE"):
		return d("wav", "audio/wav"), nil
	case (has(0, "RF64") || has(0, "BW64")) && has(8, "WAVE"):
		return d("rf64", "audio/wav"), nil
	case has(0, "FORM") && has(8, "AIFF"):
		return d("aiff", "audio/aiff"), nil
	case has(0, "FORM") && has(8, "AIFC"):
		return d("aifc", "audio/aiff"), nil
	case has(0, "fLaC"):
		return d("flac", "audio/flac"), nil
	case has(0, "OggS"):
		r := d("ogg", "audio/ogg")
		switch {
		case bytes.Contains(h, []byte("\x01vorbis")):
			r.codec = "vorbis"
		case bytes.Contains(h, []byte("OpusHead")):
			r.codec, r.mime = "opus", "audio/opus"
		case bytes.Contains(h, []byte("\x7fFLAC")):
			r.codec = "flac"
		case bytes.Contains(h, []byte("Speex   ")):
			r.codec = "speex"
		case bytes.Contains(h, []byte("\x80theora")):
			r.codec, r.mime = "theora", "video/ogg"
		}
		return r, nil
	case has(0, "ID3") && len(h) >= 10:
		end := int64(10 + apSyncsafe(h[6:10]))
		if h[5]&0x10 != 0 {
			end += 10
		}
		if b, err := src.at(end, 4); err == nil {
			if string(b) == "fLaC" {
				r := d("flac", "audio/flac")
				r.id3End = end
				return r, nil
			}
			if hd, ok := apMPEGParse(b); ok && hd.layer == 0 {
				return d("aac", "audio/aac"), nil
			}
		}
		return d("mp3", "audio/mpeg"), nil
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		f, m := isoFormat(string(h[8:12]), nil)
		if f == "m4a" {
			return d("m4a", m), nil
		}
		return d("mp4", "video/mp4"), nil
	case has(0, ".snd"):
		return d("au", "audio/basic"), nil
	case has(0, "caff"):
		return d("caf", "audio/x-caf"), nil
	case has(0, "MThd"):
		return d("midi", "audio/midi"), nil
	case has(0, "#!AMR-WB\n"):
		return d("amr-wb", "audio/amr-wb"), nil
	case has(0, "#!AMR\n"):
		return d("amr", "audio/amr"), nil
	case has(0, "wvpk"):
		return d("wavpack", "audio/x-wavpack"), nil
	case has(0, "MAC "):
		return d("ape", "audio/x-ape"), nil
	case len(h) >= 16 && bytes.Equal(h[:16], []byte{0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c}):
		return d("wma", "audio/x-ms-wma"), nil
	}
	if hd, ok := apMPEGParse(h); ok {
		switch hd.layer {
		case 0:
			return d("aac", "audio/aac"), nil
		case 1:
			return d("mp1", "audio/mpeg"), nil
		case 2:
			return d("mp2", "audio/mpeg"), nil
		}
		return d("mp3", "audio/mpeg"), nil
	}
	return d("unknown", "application/octet-stream"), nil
}

// apFail returns an execution error for a malformed file.
func apFail(format string, args ...any) error {
	return Failed("malformed "+format, args...)
}

// apPCM describes a WAV or AIFF file's sample data.
type apPCM struct {
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

// apParseWAV walks a RIFF WAVE (or RF64) file's chunks.
func apParseWAV(src mediaSrc) (*apPCM, error) {
	h, err := src.at(0, 12)
	if err != nil {
		return nil, apFail("WAV file: the RIFF header is truncated")
	}
	a := &apPCM{format: "wav", frames: -1, tags: map[string]any{}}
	rf64 := string(h[:4]) != "RIFF"
	if rf64 {
		a.format = "rf64"
	}
	var ds64Data uint64
	var haveFmt, haveData bool
	off := int64(12)
	for n := 0; src.size-off >= 8; n++ {
		if n == apMaxChunks {
			a.warnings = append(a.warnings, fmt.Sprintf("stopped after %d chunks", apMaxChunks))
			break
		}
		ch, err := src.at(off, 8)
		if err != nil {
			return nil, err
		}
		id := mediaFourCC(ch)
		if id == "" {
			if haveData && haveFmt {
				a.warnings = append(a.warnings, fmt.Sprintf("%d bytes of junk after the last chunk", src.size-off))
				break
			}
			return nil, apFail("WAV file: the chunk id at offset %d is not a four-character code", off)
		}
		size := int64(mediaLE.Uint32(ch[4:]))
		body := off + 8
		avail := src.size - body
		switch id {
		case "ds64":
			d, err := src.at(body, min(size, 24))
			if err != nil || len(d) < 24 {
				return nil, apFail("WAV file: ds64 chunk is shorter than 24 bytes")
			}
			ds64Data = mediaLE.Uint64(d[8:])
		case "fmt ":
			if size < 16 {
				return nil, apFail("WAV file: fmt chunk is %d bytes, at least 16 are needed", size)
			}
			d, err := src.at(body, min(size, 40))
			if err != nil {
				return nil, apFail("WAV file: fmt chunk is truncated")
			}
			if err := a.wavFmt(d); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if rf64 && size == 0xffffffff {
				if ds64Data > uint64(math.MaxInt64) {
					return nil, apFail("RF64 file: ds64 data size %d is out of range", ds64Data)
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
				a.frames = int64(mediaLE.Uint32(d))
			}
		case "LIST":
			if d, err := src.at(body, min(size, avail, apMaxTagBytes)); err == nil && len(d) >= 4 && string(d[:4]) == "INFO" {
				apRIFFInfo(d[4:], a.tags)
			}
		}
		if size > avail {
			if id == "data" {
				break
			}
			return nil, apFail("WAV file: chunk %q at offset %d claims %d bytes but only %d remain", id, off, size, avail)
		}
		off = body + size + size&1
	}
	if !haveFmt {
		return nil, apFail("WAV file: no fmt chunk")
	}
	if !haveData {
		return nil, apFail("WAV file: no data chunk")
	}
	if a.encoding == "pcm" || a.encoding == "float" || a.encoding == "alaw" || a.encoding == "ulaw" {
		// A fact chunk matters for compressed data only; here the data
		// chunk's length decides.
		a.frames = a.dataLen / int64(a.blockAlign)
	}
	return a, nil
}

// wavFmt reads a fmt chunk (16 to 40 bytes).
func (a *apPCM) wavFmt(d []byte) error {
	a.tag = mediaLE.Uint16(d)
	a.channels = int(mediaLE.Uint16(d[2:]))
	a.rate = float64(mediaLE.Uint32(d[4:]))
	a.byteRate = int64(mediaLE.Uint32(d[8:]))
	a.blockAlign = int(mediaLE.Uint16(d[12:]))
	a.bits = int(mediaLE.Uint16(d[14:]))
	if a.tag == 0xfffe {
		if len(d) < 40 {
			return apFail("WAV file: WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes")
		}
		if vb := int(mediaLE.Uint16(d[18:])); vb > 0 {
			a.bits = vb
		}
		a.channelMask = mediaLE.Uint32(d[20:])
		a.tag = mediaLE.Uint16(d[24:])
	}
	switch {
	case a.channels == 0:
		return apFail("WAV file: fmt chunk has 0 channels")
	case a.rate == 0:
		return apFail("WAV file: fmt chunk has a sample rate of 0")
	case a.blockAlign == 0:
		return apFail("WAV file: fmt chunk has a block align of 0")
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
		a.codec = apWAVCodecs[a.tag]
		if a.codec == "" {
			a.codec = fmt.Sprintf("0x%04x", a.tag)
		}
		return nil
	}
	if a.blockAlign%a.channels != 0 {
		return apFail("WAV file: block align %d is not a multiple of the %d channels", a.blockAlign, a.channels)
	}
	a.bytesPer = a.blockAlign / a.channels
	if a.bits == 0 || a.bits > 8*a.bytesPer {
		return apFail("WAV file: %d bits per sample do not fit %d-byte samples", a.bits, a.bytesPer)
	}
	switch a.encoding {
	case "pcm":
		if a.bytesPer > 4 {
			return apFail("WAV file: %d-byte integer samples are not supported", a.bytesPer)
		}
		if a.bytesPer == 1 {
			a.codec = "pcm_u8"
		} else {
			a.codec = fmt.Sprintf("pcm_s%dle", 8*a.bytesPer)
		}
	case "float":
		if a.bytesPer != 4 && a.bytesPer != 8 {
			return apFail("WAV file: %d-byte float samples are not supported", a.bytesPer)
		}
		a.codec = fmt.Sprintf("pcm_f%dle", 8*a.bytesPer)
	}
	return nil
}

var apWAVCodecs = map[uint16]string{
	0x0002: "adpcm_ms", 0x0011: "adpcm_ima", 0x0031: "gsm_ms", 0x0050: "mp2", 0x0055: "mp3",
	0x0092: "ac3", 0x0161: "wma", 0x0162: "wma_pro", 0x2000: "ac3", 0x2001: "dts", 0xf1ac: "flac",
}

// apInfoNames maps LIST/INFO ids to tag names.
var apInfoNames = map[string]string{
	"INAM": "title", "IART": "artist", "IPRD": "album", "ICMT": "comment", "ICRD": "date", "IGNR": "genre",
	"ISFT": "software", "ICOP": "copyright", "IENG": "engineer", "ITRK": "track", "IPRT": "track",
	"ISBJ": "subject", "IKEY": "keywords", "ISRC": "source", "ITCH": "technician", "ILNG": "language",
}

// apRIFFInfo reads the subchunks of a LIST/INFO chunk into tags.
func apRIFFInfo(d []byte, tags map[string]any) {
	for len(d) >= 8 && len(tags) < apMaxTags {
		id := mediaFourCC(d)
		size := int(mediaLE.Uint32(d[4:]))
		if id == "" || size > len(d)-8 {
			return
		}
		v := apText(d[8 : 8+size])
		if name := apInfoNames[id]; name != "" && v != "" {
			tags[name] = v
		} else if v != "" {
			tags[strings.ToLower(strings.TrimSpace(id))] = v
		}
		d = d[min(len(d), 8+size+size&1):]
	}
}

// apText turns a stored string (NUL-terminated, maybe Latin-1) into clean
// UTF-8 of at most apMaxTagValue bytes.
func apText(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		s = apLatin1(b)
	}
	return apClip(strings.TrimSpace(s))
}

func apLatin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func apClip(s string) string {
	if len(s) <= apMaxTagValue {
		return s
	}
	s = s[:apMaxTagValue]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// apParseAIFF walks an AIFF or AIFF-C file's chunks.
func apParseAIFF(src mediaSrc) (*apPCM, error) {
	h, err := src.at(0, 12)
	if err != nil {
		return nil, apFail("AIFF file: the FORM header is truncated")
	}
	a := &apPCM{format: "aiff", bigEndian: true, frames: -1, tags: map[string]any{}}
	aifc := string(h[8:12]) == "AIFC"
	if aifc {
		a.format = "aifc"
	}
	var haveComm, haveData bool
	off := int64(12)
	for n := 0; src.size-off >= 8; n++ {
		if n == apMaxChunks {
			a.warnings = append(a.warnings, fmt.Sprintf("stopped after %d chunks", apMaxChunks))
			break
		}
		ch, err := src.at(off, 8)
		if err != nil {
			return nil, err
		}
		id := mediaFourCC(ch)
		if id == "" {
			return nil, apFail("AIFF file: the chunk id at offset %d is not a four-character code", off)
		}
		size := int64(mediaBE.Uint32(ch[4:]))
		body := off + 8
		avail := src.size - body
		switch id {
		case "COMM":
			if size < 18 || (aifc && size < 22) {
				return nil, apFail("AIFF file: COMM chunk is %d bytes, too short", size)
			}
			d, err := src.at(body, min(size, 64))
			if err != nil {
				return nil, apFail("AIFF file: COMM chunk is truncated")
			}
			if err := a.aiffComm(d, aifc); err != nil {
				return nil, err
			}
			haveComm = true
		case "SSND":
			if size < 8 {
				return nil, apFail("AIFF file: SSND chunk is %d bytes, too short", size)
			}
			d, err := src.at(body, 8)
			if err != nil {
				return nil, apFail("AIFF file: SSND chunk is truncated")
			}
			skip := int64(mediaBE.Uint32(d))
			if skip > size-8 {
				return nil, apFail("AIFF file: SSND offset %d is past the chunk's end", skip)
			}
			haveData = true
			a.dataOff, a.dataLen = body+8+skip, size-8-skip
			if size > avail {
				a.warnings = append(a.warnings, fmt.Sprintf("SSND chunk declares %d bytes but the file holds %d after it (truncated file)", size, avail))
				a.dataOff = min(a.dataOff, src.size)
				a.dataLen = max(0, src.size-a.dataOff)
			}
		case "NAME", "AUTH", "(c) ", "ANNO":
			if d, err := src.at(body, min(size, avail, apMaxTagBytes)); err == nil && len(a.tags) < apMaxTags {
				name := map[string]string{"NAME": "title", "AUTH": "artist", "(c) ": "copyright", "ANNO": "comment"}[id]
				if v := apText(d); v != "" {
					if old, ok := a.tags[name].(string); ok {
						v = apClip(old + "; " + v)
					}
					a.tags[name] = v
				}
			}
		}
		if size > avail {
			if id == "SSND" {
				break
			}
			return nil, apFail("AIFF file: chunk %q at offset %d claims %d bytes but only %d remain", id, off, size, avail)
		}
		off = body + size + size&1
	}
	if !haveComm {
		return nil, apFail("AIFF file: no COMM chunk")
	}
	if !haveData {
		if a.frames > 0 {
			return nil, apFail("AIFF file: no SSND chunk")
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
func (a *apPCM) aiffComm(d []byte, aifc bool) error {
	a.channels = int(mediaBE.Uint16(d))
	a.frames = int64(mediaBE.Uint32(d[2:]))
	a.bits = int(mediaBE.Uint16(d[6:]))
	a.rate = apExt80(d[8:18])
	if a.channels == 0 {
		return apFail("AIFF file: COMM chunk has 0 channels")
	}
	if !(a.rate > 0 && a.rate < 1e7) {
		return apFail("AIFF file: COMM chunk has a sample rate of %v", a.rate)
	}
	a.encoding = "pcm"
	a.compression = "NONE"
	if aifc {
		a.compression = mediaFourCC(d[18:22])
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
		return apFail("AIFF file: %d bits per sample", a.bits)
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

// apExt80 decodes an 80-bit IEEE 754 extended float.
func apExt80(b []byte) float64 {
	exp := int(mediaBE.Uint16(b) & 0x7fff)
	mant := mediaBE.Uint64(b[2:])
	if exp == 0 && mant == 0 {
		return 0
	}
	f := math.Ldexp(float64(mant), exp-16383-63)
	if b[0]&0x80 != 0 {
		f = -f
	}
	return f
}

// apPutExt80 encodes v (positive) as an 80-bit extended float.
func apPutExt80(b []byte, v float64) {
	frac, exp := math.Frexp(v)
	mediaBE.PutUint16(b, uint16(exp-1+16383))
	mediaBE.PutUint64(b[2:], uint64(frac*(1<<64)))
}

func (a *apPCM) result() map[string]any {
	res := map[string]any{
		"codec":       a.codec,
		"encoding":    a.encoding,
		"sample_rate": mediaRound(a.rate, 3),
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
		res["duration_seconds"] = mediaRound(float64(a.frames)/a.rate, 3)
	} else if a.byteRate > 0 {
		res["duration_seconds"] = mediaRound(float64(a.dataLen)/float64(a.byteRate), 3)
		res["duration_estimated"] = true
	}
	if a.byteRate > 0 {
		res["bitrate_kbps"] = mediaRound(float64(a.byteRate)*8/1000, 1)
	}
	res["tags"] = a.tags
	if len(a.warnings) > 0 {
		res["warnings"] = apAnyList(a.warnings)
	}
	return res
}

func apAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// apParseFLAC reads a FLAC stream's metadata blocks, starting at off (after
// a leading ID3 tag, if any).
func apParseFLAC(src mediaSrc, off int64) (map[string]any, error) {
	if b, err := src.at(off, 4); err != nil || string(b) != "fLaC" {
		return nil, apFail("FLAC file: no fLaC marker")
	}
	res := map[string]any{"codec": "flac"}
	tags := map[string]any{}
	pictures := 0
	off += 4
	var haveInfo bool
	var rate, total int64
	for n := 0; ; n++ {
		if n == apMaxChunks {
			return nil, apFail("FLAC file: more than %d metadata blocks", apMaxChunks)
		}
		h, err := src.at(off, 4)
		if err != nil {
			return nil, apFail("FLAC file: metadata block header at offset %d is truncated", off)
		}
		last, typ := h[0]&0x80 != 0, h[0]&0x7f
		size := int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3])
		body := off + 4
		if size > src.size-body {
			return nil, apFail("FLAC file: metadata block at offset %d claims %d bytes but only %d remain", off, size, src.size-body)
		}
		switch typ {
		case 0:
			if size < 34 {
				return nil, apFail("FLAC file: STREAMINFO is %d bytes, 34 are needed", size)
			}
			d, _ := src.at(body, 34)
			v := mediaBE.Uint64(d[10:])
			rate = int64(v >> 44)
			channels := int(v>>41&7) + 1
			bits := int(v>>36&31) + 1
			total = int64(v & (1<<36 - 1))
			if rate == 0 {
				return nil, apFail("FLAC file: STREAMINFO has a sample rate of 0")
			}
			res["sample_rate"] = rate
			res["channels"] = channels
			res["bits_per_sample"] = bits
			res["min_block_size"] = int(mediaBE.Uint16(d))
			res["max_block_size"] = int(mediaBE.Uint16(d[2:]))
			if total > 0 {
				res["frames"] = total
				res["duration_seconds"] = mediaRound(float64(total)/float64(rate), 3)
			}
			if md5 := d[18:34]; !allZero(md5) {
				res["md5"] = fmt.Sprintf("%x", md5)
			}
			haveInfo = true
		case 4:
			if d, err := src.at(body, min(size, apMaxTagBytes)); err == nil {
				if vendor := apVorbisComments(d, tags); vendor != "" {
					res["vendor"] = vendor
				}
			}
		case 6:
			pictures++
		case 127:
			return nil, apFail("FLAC file: invalid metadata block type 127")
		}
		off = body + size
		if last {
			break
		}
	}
	if !haveInfo {
		return nil, apFail("FLAC file: no STREAMINFO block")
	}
	if d, ok := res["duration_seconds"].(float64); ok && d > 0 {
		res["bitrate_kbps"] = mediaRound(float64(src.size-off)*8/d/1000, 1)
	}
	if pictures > 0 {
		res["pictures"] = pictures
	}
	res["tags"] = tags
	return res, nil
}

// apVorbisNames maps Vorbis comment keys to tag names.
var apVorbisNames = map[string]string{
	"TITLE": "title", "ARTIST": "artist", "ALBUM": "album", "ALBUMARTIST": "album_artist", "DATE": "date",
	"GENRE": "genre", "TRACKNUMBER": "track", "DISCNUMBER": "disc", "COMMENT": "comment",
	"DESCRIPTION": "comment", "COMPOSER": "composer", "COPYRIGHT": "copyright", "ENCODER": "encoder",
}

// apVorbisComments reads a Vorbis comment block (FLAC, Ogg) into tags and
// returns the vendor string.
func apVorbisComments(d []byte, tags map[string]any) string {
	if len(d) < 4 {
		return ""
	}
	vl := int64(mediaLE.Uint32(d))
	if vl > int64(len(d)-4) {
		return ""
	}
	vendor := apText(d[4 : 4+vl])
	d = d[4+vl:]
	if len(d) < 4 {
		return vendor
	}
	n := mediaLE.Uint32(d)
	d = d[4:]
	for i := uint32(0); i < n && len(d) >= 4 && len(tags) < apMaxTags; i++ {
		l := int64(mediaLE.Uint32(d))
		if l > int64(len(d)-4) {
			break
		}
		kv := d[4 : 4+l]
		d = d[4+l:]
		k, v, ok := bytes.Cut(kv, []byte("="))
		if !ok {
			continue
		}
		key := strings.ToUpper(string(k))
		name := apVorbisNames[key]
		if name == "" {
			name = strings.ToLower(apClip(key))
		}
		val := apText(v)
		if val == "" {
			continue
		}
		if old, ok := tags[name].(string); ok {
			val = apClip(old + "; " + val)
		}
		tags[name] = val
	}
	return vendor
}

// apSyncsafe decodes a 28-bit ID3 syncsafe integer.
func apSyncsafe(b []byte) int {
	return int(b[0]&0x7f)<<21 | int(b[1]&0x7f)<<14 | int(b[2]&0x7f)<<7 | int(b[3]&0x7f)
}

// apMPEG is a parsed MPEG audio (or ADTS, layer 0) frame header.
type apMPEG struct {
	version  string // "1", "2", "2.5"
	layer    int    // 1, 2, 3; 0 for ADTS AAC
	bitrate  int    // kbit/s
	rate     int
	channels int
	mode     string
	frameLen int
	spf      int // samples per frame
}

var (
	apBitrates = [2][3][15]int{ // [v1, v2/2.5][layer 1..3][index]
		{{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}},
		{{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}},
	}
	apRates = map[string][3]int{"1": {44100, 48000, 32000}, "2": {22050, 24000, 16000}, "2.5": {11025, 12000, 8000}}
	apModes = [4]string{"stereo", "joint_stereo", "dual_channel", "mono"}
)

// apMPEGParse parses a 4-byte frame header. Free-format bitrates are not
// accepted.
func apMPEGParse(b []byte) (apMPEG, bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return apMPEG{}, false
	}
	var h apMPEG
	switch b[1] >> 3 & 3 {
	case 0:
		h.version = "2.5"
	case 2:
		h.version = "2"
	case 3:
		h.version = "1"
	default:
		return apMPEG{}, false
	}
	if b[1]>>1&3 == 0 { // ADTS AAC: sync 0xFFF, layer 0
		if b[1]&0xf6 != 0xf0 {
			return apMPEG{}, false
		}
		return apMPEG{layer: 0}, true
	}
	h.layer = 4 - int(b[1]>>1&3)
	bi, si := int(b[2]>>4), int(b[2]>>2&3)
	if bi == 0 || bi == 15 || si == 3 {
		return apMPEG{}, false
	}
	v := 0
	if h.version != "1" {
		v = 1
	}
	h.bitrate = apBitrates[v][h.layer-1][bi]
	h.rate = apRates[h.version][si]
	pad := int(b[2] >> 1 & 1)
	h.mode = apModes[b[3]>>6]
	h.channels = 2
	if h.mode == "mono" {
		h.channels = 1
	}
	switch {
	case h.layer == 1:
		h.spf = 384
		h.frameLen = (12*h.bitrate*1000/h.rate + pad) * 4
	case h.layer == 3 && h.version != "1":
		h.spf = 576
		h.frameLen = 72*h.bitrate*1000/h.rate + pad
	default:
		h.spf = 1152
		h.frameLen = 144*h.bitrate*1000/h.rate + pad
	}
	return h, true
}

// apID3Names maps ID3v2 frame ids to tag names.
var apID3Names = map[string]string{
	"TIT2": "title", "TT2": "title", "TPE1": "artist", "TP1": "artist", "TALB": "album", "TAL": "album",
	"TPE2": "album_artist", "TP2": "album_artist", "TYER": "year", "TYE": "year", "TDRC": "date",
	"TCON": "genre", "TCO": "genre", "TRCK": "track", "TRK": "track", "TPOS": "disc", "TPA": "disc",
	"TCOM": "composer", "TCM": "composer", "COMM": "comment", "COM": "comment", "TENC": "encoded_by",
	"TEN": "encoded_by", "TSSE": "encoder", "TSS": "encoder", "TCOP": "copyright", "TCR": "copyright",
	"TBPM": "bpm", "TBP": "bpm", "TLEN": "length_ms", "TLE": "length_ms",
}

// apID3v2 reads the text frames of an ID3v2 tag at the start of the file
// into tags and returns the tag's end and version.
func apID3v2(src mediaSrc, tags map[string]any) (int64, string, []string) {
	h, err := src.at(0, 10)
	if err != nil || string(h[:3]) != "ID3" {
		return 0, "", nil
	}
	ver, flags := h[3], h[5]
	end := int64(10 + apSyncsafe(h[6:10]))
	if flags&0x10 != 0 {
		end += 10
	}
	version := fmt.Sprintf("2.%d", ver)
	var warns []string
	if end > src.size {
		return src.size, version, []string{"ID3v2 tag runs past the end of the file"}
	}
	if flags&0x80 != 0 && ver < 4 {
		return end, version, []string{"ID3v2 tag uses unsynchronisation; its frames were not read"}
	}
	if ver < 2 || ver > 4 {
		return end, version, []string{fmt.Sprintf("ID3v2.%d tags are not read", ver)}
	}
	off := int64(10)
	if flags&0x40 != 0 && ver >= 3 {
		x, err := src.at(off, 4)
		if err != nil {
			return end, version, nil
		}
		if ver == 3 {
			off += 4 + int64(mediaBE.Uint32(x))
		} else {
			off += int64(apSyncsafe(x))
		}
	}
	hdr, idLen := int64(10), 4
	if ver == 2 {
		hdr, idLen = 6, 3
	}
	for n := 0; off+hdr <= end && n < 256 && len(tags) < apMaxTags; n++ {
		fh, err := src.at(off, hdr)
		if err != nil || fh[0] == 0 {
			break // padding
		}
		id := string(fh[:idLen])
		for _, c := range []byte(id) {
			if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
				return end, version, append(warns, fmt.Sprintf("ID3v2 frame id %q at offset %d is invalid; later frames were not read", id, off))
			}
		}
		var size int64
		var fflags byte
		switch ver {
		case 2:
			size = int64(fh[3])<<16 | int64(fh[4])<<8 | int64(fh[5])
		case 3:
			size, fflags = int64(mediaBE.Uint32(fh[4:])), fh[9]
			if fflags&0xc0 != 0 { // compressed or encrypted
				fflags = 0xff
			}
		case 4:
			size, fflags = int64(apSyncsafe(fh[4:])), fh[9]
			if fflags&0x0e != 0 { // compressed, encrypted or unsynchronised
				fflags = 0xff
			}
		}
		body := off + hdr
		if size > end-body {
			return end, version, append(warns, fmt.Sprintf("ID3v2 frame %s claims %d bytes, past the tag's end", id, size))
		}
		off = body + size
		name := apID3Names[id]
		if name == "" || fflags == 0xff || size < 2 {
			continue
		}
		d, err := src.at(body, min(size, 4096))
		if err != nil {
			break
		}
		if ver == 4 && fflags&0x01 != 0 { // data length indicator
			if len(d) < 5 {
				continue
			}
			d = d[4:]
		}
		var v string
		if id == "COMM" || id == "COM" {
			v = apID3Comment(d)
		} else {
			v = apID3Text(d[0], d[1:])
		}
		if v != "" {
			if _, dup := tags[name]; !dup {
				tags[name] = v
			}
		}
	}
	return end, version, warns
}

// apID3Text decodes an ID3v2 string in the given encoding; several
// NUL-separated values are joined with "; ".
func apID3Text(enc byte, b []byte) string {
	var s string
	switch enc {
	case 0:
		s = apLatin1(b)
	case 1, 2:
		bigEndian := enc == 2
		if len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe {
			bigEndian, b = false, b[2:]
		} else if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
			bigEndian, b = true, b[2:]
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			if bigEndian {
				u[i] = mediaBE.Uint16(b[2*i:])
			} else {
				u[i] = mediaLE.Uint16(b[2*i:])
			}
		}
		s = string(utf16.Decode(u))
	case 3:
		s = strings.ToValidUTF8(string(b), "\uFFFD")
	default:
		return ""
	}
	parts := strings.Split(strings.TrimRight(s, "\x00"), "\x00")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return apClip(strings.TrimSpace(strings.Join(parts, "; ")))
}

// apID3Comment decodes a COMM frame: encoding, language, a short
// description and the text; it returns the text.
func apID3Comment(d []byte) string {
	if len(d) < 5 {
		return ""
	}
	enc, rest := d[0], d[4:]
	wide := enc == 1 || enc == 2
	for i := 0; i < len(rest); i++ {
		if wide {
			if i%2 == 0 && i+1 < len(rest) && rest[i] == 0 && rest[i+1] == 0 {
				return apID3Text(enc, rest[i+2:])
			}
		} else if rest[i] == 0 {
			return apID3Text(enc, rest[i+1:])
		}
	}
	return ""
}

// apParseMP3 reads an MPEG audio file: ID3v2 tag, first frame, the
// Xing/Info or VBRI header, and an ID3v1 tag at the end.
func apParseMP3(src mediaSrc) (map[string]any, error) {
	tags := map[string]any{}
	res := map[string]any{}
	start, id3ver, warns := apID3v2(src, tags)
	if id3ver != "" {
		res["id3_version"] = id3ver
	}
	buf, err := src.at(start, min(apScan+4, src.size-start))
	if err != nil {
		return nil, apFail("MPEG audio file: cannot read past the ID3 tag")
	}
	var h apMPEG
	pos := -1
	for i := 0; i+4 <= len(buf); i++ {
		if buf[i] != 0xff {
			continue
		}
		cand, ok := apMPEGParse(buf[i:])
		if !ok || cand.layer == 0 {
			continue
		}
		// A real frame is followed by another (or by the end of the data).
		next := i + cand.frameLen
		if next+4 <= len(buf) {
			if n, ok := apMPEGParse(buf[next:]); !ok || n.version != cand.version || n.layer != cand.layer || n.rate != cand.rate {
				continue
			}
		}
		h, pos = cand, i
		break
	}
	if pos < 0 {
		return nil, apFail("MPEG audio file: no frame header in the first %d KiB after the tag", apScan>>10)
	}
	audioStart := start + int64(pos)
	audioEnd := src.size
	if src.size-audioStart >= 128 {
		if t, err := src.at(src.size-128, 128); err == nil && string(t[:3]) == "TAG" {
			audioEnd -= 128
			if id3ver == "" {
				res["id3_version"] = "1"
			}
			apID3v1(t, tags)
		}
	}
	codec := map[int]string{1: "mp1", 2: "mp2", 3: "mp3"}[h.layer]
	res["codec"] = codec
	res["mpeg_version"] = h.version
	res["layer"] = h.layer
	res["sample_rate"] = h.rate
	res["channels"] = h.channels
	res["channel_mode"] = h.mode
	res["audio_offset"] = audioStart

	// Xing/Info sits after the side information; VBRI 32 bytes in.
	frame := buf[pos:]
	side := 32
	switch {
	case h.version == "1" && h.channels == 1:
		side = 17
	case h.version != "1" && h.channels == 2:
		side = 17
	case h.version != "1":
		side = 9
	}
	var frames int64 = -1
	mode := "cbr"
	if x := 4 + side; h.layer == 3 && len(frame) >= x+16 && (string(frame[x:x+4]) == "Xing" || string(frame[x:x+4]) == "Info") {
		if string(frame[x:x+4]) == "Xing" {
			mode = "vbr"
		}
		flags := mediaBE.Uint32(frame[x+4:])
		if flags&1 != 0 {
			frames = int64(mediaBE.Uint32(frame[x+8:]))
		}
	} else if len(frame) >= 36+18 && string(frame[36:40]) == "VBRI" {
		mode = "vbr"
		frames = int64(mediaBE.Uint32(frame[50:]))
	}
	res["bitrate_mode"] = mode
	if frames > 0 {
		dur := float64(frames) * float64(h.spf) / float64(h.rate)
		res["frames"] = frames * int64(h.spf)
		res["duration_seconds"] = mediaRound(dur, 3)
		res["bitrate_kbps"] = mediaRound(float64(audioEnd-audioStart)*8/dur/1000, 1)
		res["duration_estimated"] = false
	} else {
		res["bitrate_kbps"] = float64(h.bitrate)
		res["duration_seconds"] = mediaRound(float64(audioEnd-audioStart)*8/float64(h.bitrate*1000), 3)
		res["duration_estimated"] = true
		if mode == "cbr" {
			warns = append(warns, "no Xing/Info/VBRI header: duration estimated from the first frame's bitrate")
		}
	}
	res["tags"] = tags
	if len(warns) > 0 {
		res["warnings"] = apAnyList(warns)
	}
	return res, nil
}

// apID3v1 reads a 128-byte ID3v1 tag into tags that are not set yet.
func apID3v1(t []byte, tags map[string]any) {
	set := func(name string, b []byte) {
		if _, ok := tags[name]; ok {
			return
		}
		if v := strings.TrimSpace(apLatin1(bytes.TrimRight(bytes.SplitN(b, []byte{0}, 2)[0], " "))); v != "" {
			tags[name] = v
		}
	}
	set("title", t[3:33])
	set("artist", t[33:63])
	set("album", t[63:93])
	set("year", t[93:97])
	set("comment", t[97:127])
	if t[125] == 0 && t[126] != 0 {
		if _, ok := tags["track"]; !ok {
			tags["track"] = fmt.Sprint(t[126])
		}
	}
}

// apOggPage is the header of one Ogg page.
type apOggPage struct {
	granule    uint64
	serial     uint32
	headerLen  int64
	bodyLen    int64
	firstLen   int64 // length of the first packet's part on this page
	firstWhole bool  // the first packet ends on this page
}

func apOggHeader(src mediaSrc, off int64) (apOggPage, error) {
	h, err := src.at(off, 27)
	if err != nil || string(h[:4]) != "OggS" || h[4] != 0 {
		return apOggPage{}, apFail("Ogg file: no page header at offset %d", off)
	}
	n := int64(h[26])
	lace, err := src.at(off+27, n)
	if err != nil {
		return apOggPage{}, apFail("Ogg file: page at offset %d is truncated", off)
	}
	p := apOggPage{granule: mediaLE.Uint64(h[6:]), serial: mediaLE.Uint32(h[14:]), headerLen: 27 + n}
	inFirst := true
	for _, l := range lace {
		p.bodyLen += int64(l)
		if inFirst {
			p.firstLen += int64(l)
			if l < 255 {
				inFirst = false
				p.firstWhole = true
			}
		}
	}
	if p.bodyLen > src.size-off-p.headerLen {
		return apOggPage{}, apFail("Ogg file: page at offset %d is truncated", off)
	}
	return p, nil
}

// apParseOgg reads the identification and comment headers of the first
// logical stream and the granule position of its last page.
func apParseOgg(src mediaSrc) (map[string]any, error) {
	first, err := apOggHeader(src, 0)
	if err != nil {
		return nil, err
	}
	id, err := src.at(first.headerLen, min(first.firstLen, 128))
	if err != nil {
		return nil, apFail("Ogg file: first packet is truncated")
	}
	res := map[string]any{}
	tags := map[string]any{}
	var rate float64
	var preskip uint64
	commentMagic := ""
	switch {
	case len(id) >= 30 && string(id[:7]) == "\x01vorbis":
		res["codec"] = "vorbis"
		res["channels"] = int(id[11])
		rate = float64(mediaLE.Uint32(id[12:]))
		if nominal := int32(mediaLE.Uint32(id[20:])); nominal > 0 {
			res["nominal_bitrate_kbps"] = mediaRound(float64(nominal)/1000, 1)
		}
		commentMagic = "\x03vorbis"
	case len(id) >= 19 && string(id[:8]) == "OpusHead":
		res["codec"] = "opus"
		res["channels"] = int(id[9])
		preskip = uint64(mediaLE.Uint16(id[10:]))
		if in := mediaLE.Uint32(id[12:]); in > 0 {
			res["input_sample_rate"] = int64(in)
		}
		rate = 48000 // Opus granule positions count 48 kHz samples
		commentMagic = "OpusTags"
	case len(id) >= 51 && string(id[:5]) == "\x7fFLAC" && string(id[9:13]) == "fLaC":
		res["codec"] = "flac"
		v := mediaBE.Uint64(id[13+4+10:])
		rate = float64(v >> 44)
		res["channels"] = int(v>>41&7) + 1
		res["bits_per_sample"] = int(v>>36&31) + 1
	case len(id) >= 8 && string(id[:8]) == "Speex   ":
		res["codec"] = "speex"
		if len(id) >= 52 {
			rate = float64(mediaLE.Uint32(id[36:]))
			res["channels"] = int(mediaLE.Uint32(id[48:]))
		}
	case len(id) >= 7 && string(id[:7]) == "\x80theora":
		return nil, Failed("Ogg file holds Theora video, not audio")
	default:
		return nil, Failed("Ogg file: unrecognised codec in the first packet")
	}
	if rate <= 0 || rate > 1e7 {
		return nil, apFail("Ogg file: sample rate %v in the identification header", rate)
	}
	res["sample_rate"] = mediaRound(rate, 3)

	// The comment header is the first packet of the second page, when it
	// fits on that page.
	if commentMagic != "" {
		off := first.headerLen + first.bodyLen
		if pg, err := apOggHeader(src, off); err == nil && pg.firstWhole && pg.serial == first.serial {
			if d, err := src.at(off+pg.headerLen, min(pg.firstLen, apMaxTagBytes)); err == nil && bytes.HasPrefix(d, []byte(commentMagic)) {
				if vendor := apVorbisComments(d[len(commentMagic):], tags); vendor != "" {
					res["vendor"] = vendor
				}
			}
		}
	}

	// The last page of the stream carries the total sample count.
	tail := min(src.size, 64<<10)
	buf, err := src.at(src.size-tail, tail)
	if err != nil {
		return nil, err
	}
	var granule uint64
	found := false
	for i := len(buf) - 27; i >= 0 && !found; i-- {
		if string(buf[i:i+4]) != "OggS" || buf[i+4] != 0 {
			continue
		}
		if mediaLE.Uint32(buf[i+14:]) != first.serial {
			continue
		}
		if g := mediaLE.Uint64(buf[i+6:]); g != math.MaxUint64 {
			granule, found = g, true
		}
	}
	if found && granule > preskip {
		samples := granule - preskip
		dur := float64(samples) / rate
		res["frames"] = int64(samples)
		res["duration_seconds"] = mediaRound(dur, 3)
		if dur > 0 {
			res["bitrate_kbps"] = mediaRound(float64(src.size)*8/dur/1000, 1)
		}
	}
	res["tags"] = tags
	return res, nil
}

// apParseAU reads a Sun/NeXT .au header.
func apParseAU(src mediaSrc) (map[string]any, error) {
	h, err := src.at(0, 24)
	if err != nil {
		return nil, apFail("AU file: header is truncated")
	}
	off, size := int64(mediaBE.Uint32(h[4:])), int64(mediaBE.Uint32(h[8:]))
	enc, rate, ch := mediaBE.Uint32(h[12:]), int64(mediaBE.Uint32(h[16:])), int(mediaBE.Uint32(h[20:]))
	if off < 24 || off > src.size {
		return nil, apFail("AU file: data offset %d is outside the file", off)
	}
	if rate == 0 || ch == 0 {
		return nil, apFail("AU file: sample rate %d, %d channels", rate, ch)
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
		res["duration_seconds"] = mediaRound(float64(frames)/float64(rate), 3)
		res["bitrate_kbps"] = mediaRound(float64(rate*int64(bits*ch))/1000, 1)
	} else {
		res["codec"] = fmt.Sprintf("au_encoding_%d", enc)
	}
	return res, nil
}

// apParseM4A reads an MP4/M4A file's box tree and reports its first audio
// track.
func apParseM4A(ctx context.Context, ps *perm.Set, src mediaSrc) (map[string]any, error) {
	maxMoov := int64(vpMaxMoov)
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
		return nil, Failed("the MP4 file has no audio track")
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

// apExt maps target_path extensions to target formats.
var apExt = map[string]string{".wav": "wav", ".wave": "wav", ".aif": "aiff", ".aiff": "aiff", ".raw": "raw", ".pcm": "raw"}

// apConvert rewrites a PCM or float WAV/AIFF file as integer PCM.
func apConvert(ctx context.Context, ps *perm.Set, p Params) (any, error) {
	if _, err := mediaTarget(ps, p, "convert"); err != nil {
		return nil, err
	}
	ext := filepath.Ext(p.String("target_path"))
	extFormat := apExt[strings.ToLower(ext)]
	format := p.String("target_format")
	switch {
	case format == "" && extFormat != "":
		format = extFormat
	case format == "":
		format = "wav"
	case extFormat != "" && extFormat != format:
		return nil, Invalid("parameter \"target_format\": %s does not match target_path's extension %s", format, ext)
	}
	data, srcPath, err := mediaReadFile(ps, "file_path", p.String("file_path"))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := mediaSrc{r: bytes.NewReader(data), size: int64(len(data))}
	det, err := apDetect(src)
	if err != nil {
		return nil, Failed("read %s: %v", p.String("file_path"), err)
	}
	var a *apPCM
	switch det.format {
	case "wav", "rf64":
		a, err = apParseWAV(src)
	case "aiff", "aifc":
		a, err = apParseAIFF(src)
	case "unknown":
		return nil, Failed("%s is not a recognised audio file", p.String("file_path"))
	default:
		return nil, Failed("convert reads PCM or float WAV and AIFF files; %s is %s, which spellhost cannot decode", p.String("file_path"), det.format)
	}
	if err != nil {
		return nil, err
	}
	if a.encoding != "pcm" && a.encoding != "float" {
		return nil, Failed("convert reads PCM or float WAV and AIFF files; this file's codec is %s, which spellhost cannot decode", a.codec)
	}

	bits := 8 * a.bytesPer
	if a.encoding == "float" {
		bits = 16
	}
	if p.Has("bit_depth") {
		bits = p.Int("bit_depth")
		if bits != 8 && bits != 16 && bits != 24 && bits != 32 {
			return nil, Invalid("parameter \"bit_depth\": want 8, 16, 24 or 32, got %d", bits)
		}
	}
	channels := a.channels
	if p.Has("channels") {
		channels = p.Int("channels")
		if channels != 1 && channels != a.channels && !(a.channels == 1 && channels == 2) {
			return nil, Invalid("parameter \"channels\": the source has %d; want 1 (mix down), %d (keep)%s",
				a.channels, a.channels, map[bool]string{true: " or 2 (duplicate mono)", false: ""}[a.channels == 1])
		}
	}
	if channels*(bits/8) > math.MaxUint16 {
		return nil, Failed("%d channels of %d-bit samples cannot be written", channels, bits)
	}
	rate := math.Round(a.rate)
	if rate < 1 || rate > math.MaxUint32 {
		return nil, Failed("sample rate %v cannot be written", a.rate)
	}

	frames := a.dataLen / int64(a.blockAlign)
	if a.frames >= 0 && a.frames < frames {
		frames = a.frames
	}
	outBytes := bits / 8
	dataSize := frames * int64(channels) * int64(outBytes)
	var header int64
	switch format {
	case "wav":
		header = 44
	case "aiff":
		header = 54
	}
	total := header + dataSize
	if format != "raw" && dataSize%2 == 1 {
		total++ // chunks are padded to an even length
	}
	maxBytes := ps.Limits().MaxFileBytes
	if total > maxBytes || dataSize > math.MaxUint32-64 {
		return nil, Errorf(TypeTooLarge, "the converted file would be %d bytes, over the %d-byte file limit", total, maxBytes)
	}
	out := make([]byte, total)
	switch format {
	case "wav":
		copy(out, "RIFF")
		mediaLE.PutUint32(out[4:], uint32(total-8))
		copy(out[8:], "WAVEfmt ")
		mediaLE.PutUint32(out[16:], 16)
		mediaLE.PutUint16(out[20:], 1)
		mediaLE.PutUint16(out[22:], uint16(channels))
		mediaLE.PutUint32(out[24:], uint32(rate))
		mediaLE.PutUint32(out[28:], uint32(rate)*uint32(channels*outBytes))
		mediaLE.PutUint16(out[32:], uint16(channels*outBytes))
		mediaLE.PutUint16(out[34:], uint16(bits))
		copy(out[36:], "data")
		mediaLE.PutUint32(out[40:], uint32(dataSize))
	case "aiff":
		copy(out, "FORM")
		mediaBE.PutUint32(out[4:], uint32(total-8))
		copy(out[8:], "AIFFCOMM")
		mediaBE.PutUint32(out[16:], 18)
		mediaBE.PutUint16(out[20:], uint16(channels))
		mediaBE.PutUint32(out[22:], uint32(frames))
		mediaBE.PutUint16(out[26:], uint16(bits))
		apPutExt80(out[28:38], rate)
		copy(out[38:], "SSND")
		mediaBE.PutUint32(out[42:], uint32(8+dataSize))
		// offset and block size (out[46:54]) stay 0
	}
	if err := apTranscode(ctx, a, data, frames, channels, bits, format == "aiff", out[header:header+dataSize]); err != nil {
		return nil, err
	}
	resolved, err := mediaWrite(ctx, ps, p.String("target_path"), out)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"source_path":      srcPath,
		"target_path":      resolved,
		"source_format":    det.format,
		"format":           format,
		"sample_rate":      int64(rate),
		"channels":         channels,
		"bits_per_sample":  bits,
		"frames":           frames,
		"duration_seconds": mediaRound(float64(frames)/rate, 3),
		"bytes_written":    total,
	}, nil
}

// apTranscode converts frames of a's samples in data to bits-bit integer
// PCM with outCh channels in out: little-endian (8-bit unsigned) or, for
// AIFF, big-endian signed.
func apTranscode(ctx context.Context, a *apPCM, data []byte, frames int64, outCh, bits int, aiff bool, out []byte) error {
	in := data[a.dataOff:]
	inCh, bp := a.channels, a.bytesPer
	outB := bits / 8
	shift := uint(32 - bits)
	maxV := int64(1)<<(bits-1) - 1
	minV := -int64(1) << (bits - 1)
	var o int
	for f := int64(0); f < frames; f++ {
		if f&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		frame := in[f*int64(a.blockAlign):]
		var mono int64
		if outCh == 1 && inCh > 1 {
			var sum int64
			for c := 0; c < inCh; c++ {
				sum += int64(apSample(a, frame[c*bp:]))
			}
			mono = sum / int64(inCh)
		}
		for c := 0; c < outCh; c++ {
			var v int64
			switch {
			case outCh == 1 && inCh > 1:
				v = mono
			case inCh == 1:
				v = int64(apSample(a, frame))
			default:
				v = int64(apSample(a, frame[c*bp:]))
			}
			if shift > 0 {
				v = (v + 1<<(shift-1)) >> shift
			}
			v = max(minV, min(maxV, v))
			switch {
			case aiff:
				for i := outB - 1; i >= 0; i-- {
					out[o+outB-1-i] = byte(v >> (8 * i))
				}
			case outB == 1:
				out[o] = byte(v + 128)
			default:
				for i := 0; i < outB; i++ {
					out[o+i] = byte(v >> (8 * i))
				}
			}
			o += outB
		}
	}
	return nil
}

// apSample reads one sample as a signed 32-bit value, left-justified.
func apSample(a *apPCM, b []byte) int32 {
	if a.encoding == "float" {
		var f float64
		switch {
		case a.bytesPer == 4 && a.bigEndian:
			f = float64(math.Float32frombits(mediaBE.Uint32(b)))
		case a.bytesPer == 4:
			f = float64(math.Float32frombits(mediaLE.Uint32(b)))
		case a.bigEndian:
			f = math.Float64frombits(mediaBE.Uint64(b))
		default:
			f = math.Float64frombits(mediaLE.Uint64(b))
		}
		if math.IsNaN(f) {
			return 0
		}
		return int32(math.Round(max(-1, min(1, f)) * math.MaxInt32))
	}
	var u uint32
	n := a.bytesPer
	if a.bigEndian {
		for i := 0; i < n; i++ {
			u = u<<8 | uint32(b[i])
		}
	} else {
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint32(b[i])
		}
	}
	u <<= 32 - 8*uint(n)
	if n == 1 && a.unsigned8 {
		u ^= 0x80000000 // unsigned 8-bit WAV samples
	}
	return int32(u)
}
