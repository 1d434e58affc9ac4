package media

import (
	"bytes"
	"context"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// audio_processor limits.
const (
	// maxChunks caps the RIFF, AIFF or FLAC chunks (blocks) walked.
	maxChunks = 1024
	// maxTagBytes caps the bytes of one tag block (LIST/INFO, a Vorbis
	// comment block, an ID3 text frame) that are read.
	maxTagBytes = 64 << 10
	// maxTags caps the tags reported.
	maxTags = 64
	// maxTagValue caps one tag's value, in bytes.
	maxTagValue = 1024
	// scan is how far past an ID3 tag the first MPEG frame is looked for.
	scan = 64 << 10
)

func audioProcessorSpec() tools.Spec {
	return tools.Spec{
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
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "metadata", Enum: []string{"metadata", "detect", "convert"},
				Description: "metadata parses the file's container; detect names the format from its first bytes; " +
					"convert rewrites a PCM or float WAV/AIFF file as target_format"},
			{Name: "file_path", Type: tools.String, Required: true,
				Description: "the audio file, relative to the base folder; needs read permission. metadata and detect read " +
					"only headers, chunks and tags, so the file may be of any size; convert reads the whole file, which must be " +
					"within the file size limit (64 MiB by default)"},
			{Name: "target_path", Type: tools.String,
				Description: "convert: where to write the result, relative to the base folder; needs write permission; " +
					"written atomically; the output must be within the file size limit"},
			{Name: "target_format", Type: tools.String, Enum: []string{"wav", "aiff", "raw"},
				Description: "convert: inferred from target_path's extension (.wav, .aif, .aiff, .raw, .pcm) when omitted, " +
					"else wav; a known extension that disagrees is a validation error. wav writes a RIFF WAVE file with an integer PCM fmt chunk; aiff writes an AIFF file " +
					"(big-endian signed PCM); raw writes only the sample bytes, interleaved little-endian as in a WAV data " +
					"chunk (8-bit unsigned, wider signed). Tags are not copied"},
			{Name: "bit_depth", Type: tools.Integer,
				Description: "convert: bits per sample of the output, 8, 16, 24 or 32 (integer PCM); defaults to the source's " +
					"(16 for a float source). Reducing it rounds to nearest without dither"},
			{Name: "channels", Type: tools.Integer,
				Description: "convert: output channels; 1 mixes all source channels down to mono by averaging, 2 from a " +
					"mono source duplicates it; defaults to the source's count"},
			{Name: "overwrite", Type: tools.Boolean, Default: false,
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
func AudioProcessor(ps *perm.Set) tools.Tool {
	return tools.New(audioProcessorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runAudio(ctx, ps, p)
	})
}

func runAudio(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	op := p.String("operation")
	if op == "convert" {
		return convert(ctx, ps, p)
	}
	for _, name := range []string{"target_path", "target_format", "bit_depth", "channels", "overwrite"} {
		if p.Has(name) {
			return nil, tools.Invalid("parameter %q: applies to operation convert only", name)
		}
	}
	path := p.String("file_path")
	mf, err := open(ps, "file_path", path)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	src := src{r: mf.f, size: mf.size}
	det, err := detectAudio(src)
	if err != nil {
		return nil, tools.Failed("read %s: %v", path, err)
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
		a, err := parseWAV(src)
		if err != nil {
			return nil, err
		}
		res = a.result()
	case "aiff", "aifc":
		a, err := parseAIFF(src)
		if err != nil {
			return nil, err
		}
		res = a.result()
	case "flac":
		res, err = parseFLAC(src, det.id3End)
	case "mp3", "mp2", "mp1":
		res, err = parseMP3(src)
	case "ogg":
		res, err = parseOgg(src)
	case "au":
		res, err = parseAU(src)
	case "m4a", "mp4":
		res, err = parseM4A(ctx, ps, src)
	case "unknown":
		return nil, tools.Failed("%s is not a recognised audio file", path)
	default:
		return nil, tools.Failed("metadata for %s files is not supported (detect recognises them; metadata reads WAV, AIFF, "+
			"FLAC, MP3, Ogg, AU and M4A)", det.format)
	}
	if err != nil {
		return nil, err
	}
	res["format"], res["mime"] = det.format, det.mime
	res["file_size"] = mf.size
	return res, nil
}

// detected is what the first bytes of a file say.
type detected struct {
	format, mime, codec string
	id3End              int64 // end of a leading ID3v2 tag, else 0
}

// detectAudio names an audio format from the file's leading bytes.
func detectAudio(src src) (detected, error) {
	h, err := src.head(64)
	if err != nil {
		return detected{}, err
	}
	d := func(f, m string) detected { return detected{format: f, mime: m} }
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
		end := int64(10 + syncsafe(h[6:10]))
		if h[5]&0x10 != 0 {
			end += 10
		}
		if b, err := src.at(end, 4); err == nil {
			if string(b) == "fLaC" {
				r := d("flac", "audio/flac")
				r.id3End = end
				return r, nil
			}
			if hd, ok := mpegParse(b); ok && hd.layer == 0 {
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
	if hd, ok := mpegParse(h); ok {
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

// fail returns an execution error for a malformed file.
func fail(format string, args ...any) error {
	return tools.Failed("malformed "+format, args...)
}
