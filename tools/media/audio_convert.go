package media

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Conversion for audio-processor: PCM between WAV, AIFF and raw.

// audioExts maps target_path extensions to target formats.
var audioExts = map[string]string{".wav": "wav", ".wave": "wav", ".aif": "aiff", ".aiff": "aiff", ".raw": "raw", ".pcm": "raw"}

// convert rewrites a PCM or float WAV/AIFF file as integer PCM.
func convert(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	if _, err := target(ps, p, "convert"); err != nil {
		return nil, err
	}
	ext := filepath.Ext(p.String("target_path"))
	extFormat := audioExts[strings.ToLower(ext)]
	format := p.String("target_format")
	switch {
	case format == "" && extFormat != "":
		format = extFormat
	case format == "":
		format = "wav"
	case extFormat != "" && extFormat != format:
		return nil, tools.Invalid("parameter \"target_format\": %s does not match target_path's extension %s", format, ext)
	}
	data, srcPath, err := readFile(ps, "file_path", p.String("file_path"))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := src{r: bytes.NewReader(data), size: int64(len(data))}
	det, err := detectAudio(src)
	if err != nil {
		return nil, tools.Failed("read %s: %v", p.String("file_path"), err)
	}
	var a *pcm
	switch det.format {
	case "wav", "rf64":
		a, err = parseWAV(src)
	case "aiff", "aifc":
		a, err = parseAIFF(src)
	case "unknown":
		return nil, tools.Failed("%s is not a recognised audio file", p.String("file_path"))
	default:
		return nil, tools.Failed("convert reads PCM or float WAV and AIFF files; %s is %s, which spellhost cannot decode", p.String("file_path"), det.format)
	}
	if err != nil {
		return nil, err
	}
	if a.encoding != "pcm" && a.encoding != "float" {
		return nil, tools.Failed("convert reads PCM or float WAV and AIFF files; this file's codec is %s, which spellhost cannot decode", a.codec)
	}

	bits := 8 * a.bytesPer
	if a.encoding == "float" {
		bits = 16
	}
	if p.Has("bit_depth") {
		bits = p.Int("bit_depth")
		if bits != 8 && bits != 16 && bits != 24 && bits != 32 {
			return nil, tools.Invalid("parameter \"bit_depth\": want 8, 16, 24 or 32, got %d", bits)
		}
	}
	channels := a.channels
	if p.Has("channels") {
		channels = p.Int("channels")
		if channels != 1 && channels != a.channels && !(a.channels == 1 && channels == 2) {
			return nil, tools.Invalid("parameter \"channels\": the source has %d; want 1 (mix down), %d (keep)%s",
				a.channels, a.channels, map[bool]string{true: " or 2 (duplicate mono)", false: ""}[a.channels == 1])
		}
	}
	if channels*(bits/8) > math.MaxUint16 {
		return nil, tools.Failed("%d channels of %d-bit samples cannot be written", channels, bits)
	}
	rate := math.Round(a.rate)
	if rate < 1 || rate > math.MaxUint32 {
		return nil, tools.Failed("sample rate %v cannot be written", a.rate)
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
		return nil, tools.Errorf(tools.TypeTooLarge, "the converted file would be %d bytes, over the %d-byte file limit", total, maxBytes)
	}
	out := make([]byte, total)
	switch format {
	case "wav":
		copy(out, "RIFF")
		le.PutUint32(out[4:], uint32(total-8))
		copy(out[8:], "WAVEfmt ")
		le.PutUint32(out[16:], 16)
		le.PutUint16(out[20:], 1)
		le.PutUint16(out[22:], uint16(channels))
		le.PutUint32(out[24:], uint32(rate))
		le.PutUint32(out[28:], uint32(rate)*uint32(channels*outBytes))
		le.PutUint16(out[32:], uint16(channels*outBytes))
		le.PutUint16(out[34:], uint16(bits))
		copy(out[36:], "data")
		le.PutUint32(out[40:], uint32(dataSize))
	case "aiff":
		copy(out, "FORM")
		be.PutUint32(out[4:], uint32(total-8))
		copy(out[8:], "AIFFCOMM")
		be.PutUint32(out[16:], 18)
		be.PutUint16(out[20:], uint16(channels))
		be.PutUint32(out[22:], uint32(frames))
		be.PutUint16(out[26:], uint16(bits))
		putExt80(out[28:38], rate)
		copy(out[38:], "SSND")
		be.PutUint32(out[42:], uint32(8+dataSize))
		// offset and block size (out[46:54]) stay 0
	}
	if err := transcode(ctx, a, data, frames, channels, bits, format == "aiff", out[header:header+dataSize]); err != nil {
		return nil, err
	}
	resolved, err := write(ctx, ps, p.String("target_path"), out)
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
		"duration_seconds": round(float64(frames)/rate, 3),
		"bytes_written":    total,
	}, nil
}

// transcode converts frames of a's samples in data to bits-bit integer
// PCM with outCh channels in out: little-endian (8-bit unsigned) or, for
// AIFF, big-endian signed.
func transcode(ctx context.Context, a *pcm, data []byte, frames int64, outCh, bits int, aiff bool, out []byte) error {
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
				sum += int64(sample(a, frame[c*bp:]))
			}
			mono = sum / int64(inCh)
		}
		for c := 0; c < outCh; c++ {
			var v int64
			switch {
			case outCh == 1 && inCh > 1:
				v = mono
			case inCh == 1:
				v = int64(sample(a, frame))
			default:
				v = int64(sample(a, frame[c*bp:]))
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

// sample reads one sample as a signed 32-bit value, left-justified.
func sample(a *pcm, b []byte) int32 {
	if a.encoding == "float" {
		var f float64
		switch {
		case a.bytesPer == 4 && a.bigEndian:
			f = float64(math.Float32frombits(be.Uint32(b)))
		case a.bytesPer == 4:
			f = float64(math.Float32frombits(le.Uint32(b)))
		case a.bigEndian:
			f = math.Float64frombits(be.Uint64(b))
		default:
			f = math.Float64frombits(le.Uint64(b))
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
