package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"

	"spellhost/tools"
	"spellhost/tools/media"
	"spellhost/tools/perm"
)

func apLE16(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func apLE32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// apChunk builds a RIFF chunk (little-endian size, padded to even).
func apChunk(id string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	b := append([]byte(id), apLE32(uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// apFmt builds a plain fmt chunk.
func apFmt(tag, channels uint16, rate uint32, bits uint16) []byte {
	align := channels * ((bits + 7) / 8)
	return apChunk("fmt ", apLE16(tag, channels), apLE32(rate, rate*uint32(align)), apLE16(align, bits))
}

// apWAV builds a RIFF WAVE file from chunks.
func apWAV(chunks ...[]byte) []byte {
	body := bytes.Join(chunks, nil)
	return append(append([]byte("RIFF"), apLE32(uint32(4+len(body)))...), append([]byte("WAVE"), body...)...)
}

// apPCM16 encodes 16-bit little-endian samples.
func apPCM16(samples ...int16) []byte {
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

// apTone is a 0.5 s mono 8 kHz 16-bit WAV with LIST/INFO tags.
func apTone() []byte {
	samples := make([]int16, 4000)
	for i := range samples {
		samples[i] = int16(10000 * math.Sin(float64(i)*2*math.Pi*440/8000))
	}
	info := apChunk("LIST", []byte("INFO"), apChunk("INAM", []byte("Test Tone\x00")), apChunk("IART", []byte("spellhost\x00")),
		apChunk("IXYZ", []byte("custom\x00")))
	return apWAV(apFmt(1, 1, 8000, 16), apChunk("data", apPCM16(samples...)), info)
}

// apAIFF builds an AIFF (or AIFF-C with compression) file.
func apAIFF(channels uint16, frames uint32, bits uint16, rate float64, compression string, data []byte, extra ...[]byte) []byte {
	ext := make([]byte, 10)
	frac, exp := math.Frexp(rate)
	binary.BigEndian.PutUint16(ext, uint16(exp-1+16383))
	binary.BigEndian.PutUint64(ext[2:], uint64(frac*(1<<64)))
	comm := bytes.Join([][]byte{vpU16(channels), vpU32(frames), vpU16(bits), ext}, nil)
	form := "AIFF"
	if compression != "" {
		form = "AIFC"
		comm = append(comm, compression+"\x00\x00"...)
	}
	chunk := func(id string, body []byte) []byte {
		b := append([]byte(id), vpU32(uint32(len(body)))...)
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	body := append([]byte(form), chunk("COMM", comm)...)
	for _, e := range extra {
		body = append(body, e...)
	}
	body = append(body, chunk("SSND", append(make([]byte, 8), data...))...)
	return append(append([]byte("FORM"), vpU32(uint32(len(body)))...), body...)
}

// apFLAC builds a FLAC stream's metadata: STREAMINFO and a Vorbis comment.
func apFLAC() []byte {
	info := make([]byte, 34)
	binary.BigEndian.PutUint16(info, 4096)
	binary.BigEndian.PutUint16(info[2:], 4096)
	binary.BigEndian.PutUint64(info[10:], 44100<<44|1<<41|15<<36|441000)
	copy(info[18:], "0123456789abcdef")
	comment := bytes.Join([][]byte{apLE32(9), []byte("spellhost"), apLE32(2),
		apLE32(11), []byte("TITLE=Flacs"), apLE32(11), []byte("ARTIST=Band")}, nil)
	b := []byte("fLaC")
	b = append(b, 0, 0, 0, 34)
	b = append(b, info...)
	b = append(b, 0x84, 0, byte(len(comment)>>8), byte(len(comment)))
	b = append(b, comment...)
	return append(b, make([]byte, 1000)...) // audio frames stand-in
}

// apID3 builds an ID3v2.3 tag with a title, an artist in UTF-16 and a
// comment.
func apID3() []byte {
	frame := func(id string, body []byte) []byte {
		return append(append([]byte(id), vpU32(uint32(len(body)))...), append([]byte{0, 0}, body...)...)
	}
	u := utf16.Encode([]rune("Ärtist"))
	artist := []byte{1, 0xff, 0xfe}
	for _, c := range u {
		artist = binary.LittleEndian.AppendUint16(artist, c)
	}
	frames := bytes.Join([][]byte{
		frame("TIT2", []byte("\x00Song")),
		frame("TPE1", artist),
		frame("COMM", []byte("\x03eng\x00nice")),
		frame("APIC", make([]byte, 100)),
	}, nil)
	frames = append(frames, make([]byte, 20)...) // padding
	n := len(frames)
	return append([]byte{'I', 'D', '3', 3, 0, 0, byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}, frames...)
}

// apMP3Frame is an MPEG-1 layer III frame at 128 kbit/s, 44.1 kHz, stereo
// (417 bytes), optionally holding a Xing header counting frames.
func apMP3Frame(xingFrames uint32) []byte {
	f := make([]byte, 417)
	copy(f, []byte{0xff, 0xfb, 0x90, 0x00})
	if xingFrames > 0 {
		copy(f[36:], "Xing")
		copy(f[40:], vpU32(1, xingFrames))
	}
	return f
}

// oggPage builds an Ogg page holding one packet (under 255 bytes).
func apOggPage(granule uint64, packet []byte) []byte {
	h := []byte("OggS\x00\x00")
	h = binary.LittleEndian.AppendUint64(h, granule)
	h = append(h, apLE32(1234, 0, 0)...)
	h = append(h, 1, byte(len(packet)))
	return append(h, packet...)
}

func apOpus() []byte {
	head := append([]byte("OpusHead\x01\x02"), apLE16(312)...)
	head = append(head, apLE32(44100)...)
	head = append(head, 0, 0, 0)
	tags := bytes.Join([][]byte{[]byte("OpusTags"), apLE32(9), []byte("spellhost"), apLE32(1), apLE32(15), []byte("TITLE=Opus Song")}, nil)
	return bytes.Join([][]byte{apOggPage(0, head), apOggPage(0, tags), apOggPage(100, make([]byte, 50)), apOggPage(3*48000+312, make([]byte, 50))}, nil)
}

func apTool(t *testing.T) (tools.Tool, string) {
	t.Helper()
	ps, dir := testPerm(t)
	return media.AudioProcessor(ps), dir
}

func apCheck(t *testing.T, res map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if m, ok := v.(map[string]any); ok {
			got, _ := res[k].(map[string]any)
			for kk, vv := range m {
				if got[kk] != vv {
					t.Errorf("%s.%s = %#v, want %#v", k, kk, got[kk], vv)
				}
			}
			continue
		}
		if res[k] != v {
			t.Errorf("%s = %#v, want %#v", k, res[k], v)
		}
	}
}

func TestAudioProcessorMetadata(t *testing.T) {
	tool, dir := apTool(t)
	floatExt := apChunk("fmt ", apLE16(0xfffe, 2), apLE32(48000, 48000*8), apLE16(8, 32, 22, 32), apLE32(3),
		[]byte{3, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71})
	rf64 := append([]byte("RF64\xff\xff\xff\xffWAVE"), bytes.Join([][]byte{
		apChunk("ds64", make([]byte, 8), []byte{16, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 8)),
		apFmt(1, 1, 8000, 16), []byte("data\xff\xff\xff\xff"), make([]byte, 16)}, nil)...)
	cbr := bytes.Repeat(apMP3Frame(0), 10)
	v1 := make([]byte, 128)
	copy(v1, "TAG")
	copy(v1[3:], "Old Title")
	copy(v1[33:], "Old Artist")
	cases := []struct {
		name string
		data []byte
		want map[string]any
	}{
		{"wav", apTone(), map[string]any{
			"format": "wav", "mime": "audio/wav", "codec": "pcm_s16le", "encoding": "pcm", "sample_rate": 8000.0,
			"channels": 1, "bits_per_sample": 16, "block_align": 2, "frames": int64(4000), "duration_seconds": 0.5,
			"bitrate_kbps": 128.0, "data_bytes": int64(8000),
			"tags": map[string]any{"title": "Test Tone", "artist": "spellhost", "ixyz": "custom"}}},
		{"wav float extensible", apWAV(floatExt, apChunk("data", make([]byte, 48000*8))), map[string]any{
			"codec": "pcm_f32le", "encoding": "float", "channels": 2, "bits_per_sample": 32, "duration_seconds": 1.0,
			"channel_mask": int64(3)}},
		{"wav 8-bit", apWAV(apFmt(1, 2, 11025, 8), apChunk("data", make([]byte, 11025*2))), map[string]any{
			"codec": "pcm_u8", "duration_seconds": 1.0}},
		{"wav adpcm", apWAV(apChunk("fmt ", apLE16(2, 1), apLE32(8000, 4096), apLE16(256, 4), make([]byte, 4)),
			apChunk("fact", apLE32(16000)), apChunk("data", make([]byte, 8192))), map[string]any{
			"codec": "adpcm_ms", "encoding": "other", "duration_seconds": 2.0, "frames": int64(16000)}},
		{"rf64", rf64, map[string]any{"format": "rf64", "data_bytes": int64(16), "frames": int64(8)}},
		{"aiff", apAIFF(1, 100, 8, 22050, "", make([]byte, 100), []byte("NAME\x00\x00\x00\x05Tune!\x00")), map[string]any{
			"format": "aiff", "mime": "audio/aiff", "codec": "pcm_s8", "sample_rate": 22050.0, "channels": 1,
			"bits_per_sample": 8, "frames": int64(100), "duration_seconds": 0.005, "tags": map[string]any{"title": "Tune!"}}},
		{"aifc sowt", apAIFF(2, 4, 16, 44100, "sowt", make([]byte, 16)), map[string]any{
			"format": "aifc", "codec": "pcm_s16le", "compression": "sowt", "frames": int64(4)}},
		{"flac", apFLAC(), map[string]any{
			"format": "flac", "codec": "flac", "sample_rate": int64(44100), "channels": 2, "bits_per_sample": 16,
			"frames": int64(441000), "duration_seconds": 10.0, "md5": "30313233343536373839616263646566",
			"vendor": "spellhost", "tags": map[string]any{"title": "Flacs", "artist": "Band"}}},
		{"flac after id3", append(apID3(), apFLAC()...), map[string]any{"format": "flac", "duration_seconds": 10.0}},
		{"mp3 vbr", bytes.Join([][]byte{apID3(), apMP3Frame(100), apMP3Frame(0), apMP3Frame(0)}, nil), map[string]any{
			"format": "mp3", "mime": "audio/mpeg", "codec": "mp3", "mpeg_version": "1", "layer": 3, "sample_rate": 44100,
			"channels": 2, "channel_mode": "stereo", "bitrate_mode": "vbr", "frames": int64(115200),
			"duration_seconds": 2.612, "duration_estimated": false, "id3_version": "2.3",
			"tags": map[string]any{"title": "Song", "artist": "Ärtist", "comment": "nice"}}},
		{"mp3 cbr with id3v1", append(cbr, v1...), map[string]any{
			"format": "mp3", "bitrate_mode": "cbr", "bitrate_kbps": 128.0, "duration_seconds": 0.261,
			"duration_estimated": true, "id3_version": "1",
			"tags": map[string]any{"title": "Old Title", "artist": "Old Artist"}}},
		{"ogg opus", apOpus(), map[string]any{
			"format": "ogg", "mime": "audio/opus", "codec": "opus", "channels": 2, "sample_rate": 48000.0,
			"input_sample_rate": int64(44100), "frames": int64(144000), "duration_seconds": 3.0, "vendor": "spellhost",
			"tags": map[string]any{"title": "Opus Song"}}},
		{"au", append(append([]byte(".snd"), vpU32(24, 16000, 3, 8000, 1)...), make([]byte, 16000)...), map[string]any{
			"format": "au", "codec": "pcm_s16be", "duration_seconds": 1.0, "channels": 1}},
		{"m4a", vpMP4(func(o *vpOpts) { o.brand = "M4A " }), map[string]any{
			"format": "m4a", "mime": "audio/mp4", "codec": "mp4a", "sample_rate": 48000.0, "channels": 2,
			"duration_seconds": 10.0, "has_video": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "in.audio", c.data)
			res := call(t, tool, map[string]any{"operation": "metadata", "file_path": "in.audio"})
			apCheck(t, res, c.want)
			if res["file_size"] != int64(len(c.data)) {
				t.Errorf("file_size %v, want %d", res["file_size"], len(c.data))
			}
		})
	}

	t.Run("truncated data chunk is reported", func(t *testing.T) {
		data := apWAV(apFmt(1, 1, 8000, 16), []byte("data"), apLE32(10000), make([]byte, 100))
		mediaWriteFile(t, dir, "cut.wav", data)
		res := call(t, tool, map[string]any{"file_path": "cut.wav"})
		if res["frames"] != int64(50) || res["warnings"] == nil {
			t.Fatalf("got %v", res)
		}
	})
}

func TestAudioProcessorDetect(t *testing.T) {
	tool, dir := apTool(t)
	cases := []struct {
		name, format, mime string
		data               []byte
	}{
		{"wav", "wav", "audio/wav", apTone()},
		{"rf64", "rf64", "audio/wav", []byte("RF64\xff\xff\xff\xffWAVEds64")},
		{"aiff", "aiff", "audio/aiff", apAIFF(1, 0, 16, 8000, "", nil)},
		{"aifc", "aifc", "audio/aiff", apAIFF(1, 0, 16, 8000, "sowt", nil)},
		{"flac", "flac", "audio/flac", apFLAC()},
		{"flac after id3", "flac", "audio/flac", append(apID3(), apFLAC()...)},
		{"mp3 with id3", "mp3", "audio/mpeg", append(apID3(), apMP3Frame(0)...)},
		{"mp3 frame", "mp3", "audio/mpeg", apMP3Frame(0)},
		{"mp2 frame", "mp2", "audio/mpeg", []byte{0xff, 0xfd, 0x90, 0x00}},
		{"aac adts", "aac", "audio/aac", []byte{0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc}},
		{"ogg opus", "ogg", "audio/opus", apOpus()},
		{"ogg vorbis", "ogg", "audio/ogg", apOggPage(0, []byte("\x01vorbis\x00\x00\x00\x00\x02"))},
		{"m4a", "m4a", "audio/mp4", vpMP4(func(o *vpOpts) { o.brand = "M4A " })},
		{"au", "au", "audio/basic", []byte(".snd\x00\x00\x00\x18")},
		{"caf", "caf", "audio/x-caf", []byte("caff\x00\x01\x00\x00")},
		{"midi", "midi", "audio/midi", []byte("MThd\x00\x00\x00\x06")},
		{"amr", "amr", "audio/amr", []byte("#!AMR\n\x3c")},
		{"text", "unknown", "application/octet-stream", []byte("just some text")},
		{"empty", "unknown", "application/octet-stream", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "in.bin", c.data)
			res := call(t, tool, map[string]any{"operation": "detect", "file_path": "in.bin"})
			if res["format"] != c.format || res["mime"] != c.mime {
				t.Fatalf("got %v, want %s %s", res, c.format, c.mime)
			}
		})
	}
}

// apData returns the bytes of the data (WAV) or SSND (AIFF) chunk.
func apData(t *testing.T, file []byte) []byte {
	t.Helper()
	if string(file[:4]) == "FORM" {
		i := bytes.Index(file, []byte("SSND"))
		n := binary.BigEndian.Uint32(file[i+4:])
		return file[i+16 : i+8+int(n)]
	}
	i := bytes.Index(file, []byte("data"))
	n := binary.LittleEndian.Uint32(file[i+4:])
	return file[i+8 : i+8+int(n)]
}

func TestAudioProcessorConvert(t *testing.T) {
	tool, dir := apTool(t)
	// Stereo 16-bit: L and R interleaved.
	stereo := apWAV(apFmt(1, 2, 44100, 16), apChunk("data", apPCM16(1000, 3000, -2000, 0, 32767, 32767, -32768, -32768)))
	mediaWriteFile(t, dir, "stereo.wav", stereo)
	floats := apChunk("data", apLE32(math.Float32bits(0.5), math.Float32bits(-1), math.Float32bits(1), math.Float32bits(2)))
	mediaWriteFile(t, dir, "float.wav", apWAV(apFmt(3, 1, 8000, 32), floats))
	mediaWriteFile(t, dir, "be.aiff", apAIFF(1, 3, 24, 48000, "", []byte{0x12, 0x34, 0x56, 0x80, 0, 0, 0x7f, 0xff, 0xff}))

	cases := []struct {
		name   string
		params map[string]any
		want   map[string]any
		data   []byte // expected sample bytes
	}{
		{"mono mix-down", map[string]any{"file_path": "stereo.wav", "channels": 1},
			map[string]any{"format": "wav", "channels": 1, "bits_per_sample": 16, "frames": int64(4), "sample_rate": int64(44100)},
			apPCM16(2000, -1000, 32767, -32768)},
		{"to 8-bit", map[string]any{"file_path": "stereo.wav", "bit_depth": 8},
			map[string]any{"bits_per_sample": 8, "channels": 2, "bytes_written": int64(44 + 8)},
			[]byte{132, 140, 120, 128, 255, 255, 0, 0}},
		{"to 24-bit aiff", map[string]any{"file_path": "stereo.wav", "bit_depth": 24, "channels": 1, "target_format": "aiff"},
			map[string]any{"format": "aiff", "bits_per_sample": 24},
			[]byte{0x07, 0xd0, 0x00, 0xfc, 0x18, 0x00, 0x7f, 0xff, 0x00, 0x80, 0x00, 0x00}},
		{"raw", map[string]any{"file_path": "stereo.wav", "target_format": "raw"},
			map[string]any{"format": "raw", "bytes_written": int64(16)}, nil},
		{"float to 16-bit", map[string]any{"file_path": "float.wav"},
			map[string]any{"bits_per_sample": 16, "source_format": "wav"}, apPCM16(16384, -32768, 32767, 32767)},
		{"aiff 24-bit to wav 16-bit stereo", map[string]any{"file_path": "be.aiff", "bit_depth": 16, "channels": 2},
			map[string]any{"source_format": "aiff", "channels": 2, "sample_rate": int64(48000), "frames": int64(3)},
			apPCM16(0x1234, 0x1234, -32768, -32768, 32767, 32767)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join("out", c.name+".bin")
			if i == 0 {
				if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			params := map[string]any{"operation": "convert", "target_path": out}
			for k, v := range c.params {
				params[k] = v
			}
			res := call(t, tool, params)
			apCheck(t, res, c.want)
			got, err := os.ReadFile(filepath.Join(dir, out))
			if err != nil {
				t.Fatal(err)
			}
			if res["target_path"] != filepath.Join(dir, out) || res["bytes_written"] != int64(len(got)) {
				t.Fatalf("target %v bytes %v, file has %d", res["target_path"], res["bytes_written"], len(got))
			}
			if c.data != nil && !bytes.Equal(apData(t, got), c.data) {
				t.Fatalf("samples % x, want % x", apData(t, got), c.data)
			}
			// The output reads back as what was asked for.
			if res["format"] != "raw" {
				meta := call(t, tool, map[string]any{"file_path": out})
				if meta["channels"] != res["channels"] || meta["bits_per_sample"] != res["bits_per_sample"] ||
					meta["frames"] != res["frames"] || meta["sample_rate"] != float64(res["sample_rate"].(int64)) {
					t.Fatalf("read back %v, wrote %v", meta, res)
				}
			}
		})
	}

	t.Run("round trip through aiff is lossless", func(t *testing.T) {
		call(t, tool, map[string]any{"operation": "convert", "file_path": "stereo.wav", "target_path": "rt.aiff"})
		call(t, tool, map[string]any{"operation": "convert", "file_path": "rt.aiff", "target_path": "rt.wav"})
		got, err := os.ReadFile(filepath.Join(dir, "rt.wav"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(apData(t, got), apData(t, stereo)) {
			t.Fatal("samples changed")
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		mediaErr(t, tool, map[string]any{"operation": "convert", "file_path": "stereo.wav", "target_path": "rt.wav"},
			tools.TypeValidation, "exists", "overwrite")
		call(t, tool, map[string]any{"operation": "convert", "file_path": "stereo.wav", "target_path": "rt.wav", "overwrite": true, "bit_depth": 8})
		mediaErr(t, tool, map[string]any{"operation": "convert", "file_path": "stereo.wav", "target_path": "stereo.wav"},
			tools.TypeValidation, "exists")
	})
}

func TestAudioProcessorErrors(t *testing.T) {
	tool, dir := apTool(t)
	mediaWriteFile(t, dir, "tone.wav", apTone())
	mediaWriteFile(t, dir, "song.mp3", append(apID3(), apMP3Frame(0)...))
	mediaWriteFile(t, dir, "adpcm.wav", apWAV(apChunk("fmt ", apLE16(2, 1), apLE32(8000, 4096), apLE16(256, 4), make([]byte, 4)), apChunk("data", make([]byte, 256))))
	mediaWriteFile(t, dir, "exists.wav", []byte("x"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	convert := func(kv ...any) map[string]any {
		m := map[string]any{"operation": "convert", "file_path": "tone.wav", "target_path": "o.wav"}
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
		{"bad operation", map[string]any{"operation": "play", "file_path": "tone.wav"}, tools.TypeValidation, []string{`"operation"`, "play"}},
		{"bad target_format", convert("target_format", "mp3"), tools.TypeValidation, []string{`"target_format"`}},
		{"target_format against extension", convert("target_format", "aiff"), tools.TypeValidation, []string{`"target_format"`, ".wav"}},
		{"bit_depth wrong type", convert("bit_depth", "16"), tools.TypeValidation, []string{`"bit_depth"`}},
		{"convert parameter on metadata", map[string]any{"file_path": "tone.wav", "target_path": "o.wav"}, tools.TypeValidation, []string{`"target_path"`, "convert only"}},
		{"convert without target", map[string]any{"operation": "convert", "file_path": "tone.wav"}, tools.TypeValidation, []string{`"target_path"`}},
		{"target exists", convert("target_path", "exists.wav"), tools.TypeValidation, []string{"exists", "overwrite"}},
		{"target is a folder", convert("target_path", "sub", "overwrite", true), tools.TypeValidation, []string{"folder"}},
		{"target folder missing", convert("target_path", "nodir/o.wav"), tools.TypeValidation, []string{"does not exist"}},
		{"bit_depth 12", convert("bit_depth", 12), tools.TypeValidation, []string{`"bit_depth"`, "12"}},
		{"channels 3 from mono", convert("channels", 3), tools.TypeValidation, []string{`"channels"`, "duplicate mono"}},
		{"channels 0", convert("channels", 0), tools.TypeValidation, []string{`"channels"`}},
		{"convert mp3", convert("file_path", "song.mp3"), tools.TypeExecution, []string{"mp3", "cannot decode"}},
		{"convert adpcm", convert("file_path", "adpcm.wav"), tools.TypeExecution, []string{"adpcm_ms", "cannot decode"}},
		{"missing file", map[string]any{"file_path": "nope.wav"}, tools.TypeExecution, []string{"nope.wav"}},
		{"folder", map[string]any{"file_path": "sub"}, tools.TypeValidation, []string{"folder"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { mediaErr(t, tool, c.params, c.typ, c.want...) })
	}

	tone := apTone()
	fmtAt := bytes.Index(tone, []byte("fmt "))
	patch := func(off int, b []byte) []byte {
		d := bytes.Clone(tone)
		copy(d[off:], b)
		return d
	}
	flac := apFLAC()
	malformed := []struct {
		name string
		data []byte
		want []string
	}{
		{"riff header cut", tone[:10], []string{"not a recognised"}},
		{"no fmt", apWAV(apChunk("data", make([]byte, 8))), []string{"no fmt chunk"}},
		{"no data", apWAV(apFmt(1, 1, 8000, 16)), []string{"no data chunk"}},
		{"zero channels", patch(fmtAt+10, []byte{0, 0}), []string{"0 channels"}},
		{"zero rate", patch(fmtAt+12, []byte{0, 0, 0, 0}), []string{"sample rate of 0"}},
		{"short fmt", patch(fmtAt+4, apLE32(10)), []string{"fmt chunk is 10 bytes"}},
		{"chunk past the end", apWAV(apFmt(1, 1, 8000, 16), []byte("LIST"), apLE32(1<<30), []byte("INFO")), []string{`"LIST"`, "claims"}},
		{"binary chunk id", patch(fmtAt, []byte{1, 2, 3, 4}), []string{"four-character code"}},
		{"bits do not fit", patch(fmtAt+22, apLE16(24)), []string{"24 bits"}},
		{"aiff without COMM", []byte("FORM\x00\x00\x00\x04AIFF"), []string{"no COMM"}},
		{"aiff zero rate", apAIFF(1, 0, 16, 0, "", nil), []string{"sample rate"}},
		{"flac block past the end", flac[:60], []string{"FLAC", "claims"}},
		{"flac without streaminfo", []byte("fLaC\x84\x00\x00\x00"), []string{"no STREAMINFO"}},
		{"mp3 without frames", append(apID3(), bytes.Repeat([]byte{0x55}, 300)...), []string{"no frame header"}},
		{"ogg with unknown codec", apOggPage(0, []byte("mystery codec")), []string{"unrecognised codec"}},
		{"ogg truncated page", apOpus()[:30], []string{"truncated"}},
		{"caf", []byte("caff\x00\x01\x00\x00"), []string{"not supported"}},
		{"text", []byte("hello"), []string{"not a recognised audio file"}},
	}
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "bad.audio", c.data)
			mediaErr(t, tool, map[string]any{"operation": "metadata", "file_path": "bad.audio"}, tools.TypeExecution, c.want...)
		})
	}

	t.Run("limits", func(t *testing.T) {
		small := t.TempDir()
		src := apTone() // 8000 data bytes
		ps, err := perm.New(perm.Config{Base: small, Read: []string{small}, Write: []string{small},
			Limits: perm.Limits{MaxFileBytes: int64(len(src) + 100)}})
		if err != nil {
			t.Fatal(err)
		}
		mediaWriteFile(t, small, "tone.wav", src)
		mediaWriteFile(t, small, "big.wav", append(bytes.Clone(src), make([]byte, 200)...))
		lim := media.AudioProcessor(ps)
		mediaErr(t, lim, map[string]any{"operation": "convert", "file_path": "tone.wav", "target_path": "o.wav", "bit_depth": 32},
			tools.TypeTooLarge, "file limit")
		mediaErr(t, lim, map[string]any{"operation": "convert", "file_path": "big.wav", "target_path": "o.wav"},
			tools.TypeTooLarge, "file limit")
		// metadata reads headers only, so it works on a file over the limit.
		if res := call(t, lim, map[string]any{"file_path": "big.wav"}); res["frames"] != int64(4000) {
			t.Fatalf("got %v", res)
		}
		if _, err := os.Stat(filepath.Join(small, "o.wav")); err == nil {
			t.Fatal("a refused conversion wrote its target")
		}
	})
}

func TestAudioProcessorEscapes(t *testing.T) {
	mediaCheckEscapes(t, func(ps *perm.Set) tools.Tool { return media.AudioProcessor(ps) },
		"tone.wav", apTone(), map[string]any{"operation": "convert", "file_path": "tone.wav", "target_path": "out-tone.wav"})
}

func TestAudioProcessorSpec(t *testing.T) {
	if err := media.AudioProcessor(nil).Spec().Check(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkAudioProcessor(b *testing.B) {
	dir := b.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	mediaWriteFile(b, dir, "tone.wav", apTone())
	tool := media.AudioProcessor(ps)
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"metadata", map[string]any{"operation": "metadata", "file_path": "tone.wav"}},
		{"convert", map[string]any{"operation": "convert", "file_path": "tone.wav", "target_path": "o.aiff",
			"target_format": "aiff", "bit_depth": 24, "overwrite": true}},
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

func FuzzAudioProcessor(f *testing.F) {
	mediaFuzz(f, func(ps *perm.Set) tools.Tool { return media.AudioProcessor(ps) },
		[]map[string]any{{"operation": "detect"}, {"operation": "metadata"},
			{"operation": "convert", "target_path": "out.wav", "overwrite": true, "channels": 1}},
		apTone(), apAIFF(2, 4, 16, 44100, "sowt", make([]byte, 16)), apFLAC(),
		bytes.Join([][]byte{apID3(), apMP3Frame(100), apMP3Frame(0)}, nil), apOpus(),
		append([]byte(".snd"), vpU32(24, 16, 3, 8000, 1)...), vpMP4(func(o *vpOpts) { o.brand = "M4A " }))
}
