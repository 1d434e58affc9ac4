package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/media"
	"spellhost/tools/perm"
)

// vpBox builds an ISO base media box.
func vpBox(typ string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

// vpFull is the version and flags of a full box.
func vpFull(version byte) []byte { return []byte{version, 0, 0, 0} }

func vpU32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func vpU16(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func vpU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// vpMatrix is a tkhd matrix: identity, or a 90-degree rotation.
func vpMatrix(rot90 bool) []byte {
	if rot90 {
		return vpU32(0, 1<<16, 0, 0xffff0000, 0, 0, 0, 0, 1<<30)
	}
	return vpU32(1<<16, 0, 0, 0, 1<<16, 0, 0, 0, 1<<30)
}

func vpTkhd(id, duration uint32, w, h uint16, rot90 bool) []byte {
	return vpBox("tkhd", vpFull(0), vpU32(0, 0, id, 0, duration), make([]byte, 16), vpMatrix(rot90),
		vpU32(uint32(w)<<16, uint32(h)<<16))
}

func vpMdhd(timescale, duration uint32, lang string) []byte {
	l := uint16(lang[0]-0x60)<<10 | uint16(lang[1]-0x60)<<5 | uint16(lang[2]-0x60)
	return vpBox("mdhd", vpFull(0), vpU32(0, 0, timescale, duration), vpU16(l, 0))
}

func vpHdlr(handler string) []byte {
	return vpBox("hdlr", vpFull(0), vpU32(0), []byte(handler), make([]byte, 12), []byte("handler\x00"))
}

func vpStbl(entry []byte, sttsCount, sttsDelta, sampleSize uint32) []byte {
	return vpBox("stbl",
		vpBox("stsd", vpFull(0), vpU32(1), entry),
		vpBox("stts", vpFull(0), vpU32(1, sttsCount, sttsDelta)),
		vpBox("stsz", vpFull(0), vpU32(sampleSize, sttsCount)))
}

func vpAVC1(w, h uint16) []byte {
	visual := bytes.Join([][]byte{make([]byte, 6), vpU16(1), make([]byte, 16), vpU16(w, h),
		vpU32(0x00480000, 0x00480000, 0), vpU16(1), make([]byte, 32), vpU16(0x18, 0xffff)}, nil)
	return vpBox("avc1", visual, vpBox("avcC", []byte{1, 100, 0, 40, 0xff, 0xe1}))
}

func vpMP4A(channels uint16, rate uint32) []byte {
	audio := bytes.Join([][]byte{make([]byte, 6), vpU16(1), make([]byte, 8), vpU16(channels, 16, 0, 0), vpU32(rate << 16)}, nil)
	return vpBox("mp4a", audio)
}

// vpMP4 builds a small MP4: a 10 s movie with a 1920x1080 H.264 track at
// 29.97 frames a second and a 48 kHz stereo AAC track.
func vpMP4(opts ...func(*vpOpts)) []byte {
	o := vpOpts{brand: "isom"}
	for _, f := range opts {
		f(&o)
	}
	video := vpBox("trak",
		vpTkhd(1, 10000, 1920, 1080, o.rot90),
		vpBox("mdia", vpMdhd(30000, 300300, "eng"), vpHdlr("vide"),
			vpBox("minf", vpBox("vmhd", vpFull(0), make([]byte, 8)), vpStbl(vpAVC1(1920, 1080), 300, 1001, 5000))))
	audio := vpBox("trak",
		vpTkhd(2, 10000, 0, 0, false),
		vpBox("mdia", vpMdhd(48000, 480000, "fra"), vpHdlr("soun"),
			vpBox("minf", vpStbl(vpMP4A(2, 48000), 469, 1024, 400))))
	mvhd := vpBox("mvhd", vpFull(0), vpU32(3786912000, 3786912000, 1000, 10000), make([]byte, 80))
	if o.mvhdV1 {
		mvhd = vpBox("mvhd", vpFull(1), vpU64(3786912000), vpU64(3786912000), vpU32(1000), vpU64(10000), make([]byte, 80))
	}
	moov := vpBox("moov", mvhd, video, audio)
	ftyp := vpBox("ftyp", []byte(o.brand), vpU32(512), []byte("isomiso2avc1mp41"))
	mdat := vpBox("mdat", make([]byte, 64))
	if o.bigMdat {
		mdat = append(append(vpU32(1), "mdat"...), vpU64(16+64)...)
		mdat = append(mdat, make([]byte, 64)...)
	}
	if o.moovLast {
		return bytes.Join([][]byte{ftyp, mdat, moov}, nil)
	}
	return bytes.Join([][]byte{ftyp, moov, mdat}, nil)
}

type vpOpts struct {
	brand                            string
	rot90, mvhdV1, bigMdat, moovLast bool
}

func vpTool(t *testing.T) (tools.Tool, string) {
	t.Helper()
	ps, dir := testPerm(t)
	return media.VideoProcessor(ps), dir
}

func TestVideoProcessorMetadata(t *testing.T) {
	tool, dir := vpTool(t)
	mediaWriteFile(t, dir, "clip.mp4", vpMP4())
	res := call(t, tool, map[string]any{"operation": "metadata", "file_path": "clip.mp4"})
	want := map[string]any{
		"format": "mp4", "mime": "video/mp4", "major_brand": "isom", "minor_version": int64(512),
		"duration_seconds": 10.0, "timescale": int64(1000), "fragmented": false,
		"created": "2024-01-01T00:00:00Z",
	}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s = %#v, want %#v", k, res[k], v)
		}
	}
	if b := res["compatible_brands"].([]any); len(b) != 4 || b[2] != "avc1" {
		t.Errorf("compatible_brands %v", b)
	}
	tracks := res["tracks"].([]any)
	if len(tracks) != 2 {
		t.Fatalf("tracks %v", tracks)
	}
	v := res["video"].(map[string]any)
	wantV := map[string]any{"id": int64(1), "kind": "video", "handler": "vide", "codec": "avc1.640028",
		"codec_name": "H.264/AVC", "profile": "High", "width": 1920, "height": 1080, "coded_width": 1920,
		"coded_height": 1080, "rotation": 0, "frame_rate": 29.97, "duration_seconds": 10.01,
		"timescale": int64(30000), "samples": int64(300), "language": "eng"}
	for k, w := range wantV {
		if v[k] != w {
			t.Errorf("video %s = %#v, want %#v", k, v[k], w)
		}
	}
	a := res["audio"].(map[string]any)
	wantA := map[string]any{"kind": "audio", "codec": "mp4a", "sample_rate": 48000.0, "channels": 2,
		"bits_per_sample": 16, "duration_seconds": 10.0, "samples": int64(469), "language": "fra"}
	for k, w := range wantA {
		if a[k] != w {
			t.Errorf("audio %s = %#v, want %#v", k, a[k], w)
		}
	}
	if _, ok := res["warnings"]; ok {
		t.Errorf("unexpected warnings %v", res["warnings"])
	}

	t.Run("variants", func(t *testing.T) {
		cases := []struct {
			name string
			opt  func(*vpOpts)
			key  string
			want any
		}{
			{"quicktime brand", func(o *vpOpts) { o.brand = "qt  " }, "format", "mov"},
			{"m4a brand", func(o *vpOpts) { o.brand = "M4A " }, "mime", "audio/mp4"},
			{"3gp brand", func(o *vpOpts) { o.brand = "3gp5" }, "format", "3gp"},
			{"version 1 mvhd", func(o *vpOpts) { o.mvhdV1 = true }, "duration_seconds", 10.0},
			{"64-bit mdat size", func(o *vpOpts) { o.bigMdat = true }, "duration_seconds", 10.0},
			{"moov after mdat", func(o *vpOpts) { o.moovLast = true }, "duration_seconds", 10.0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				mediaWriteFile(t, dir, "v.mp4", vpMP4(c.opt))
				res := call(t, tool, map[string]any{"file_path": "v.mp4"})
				if res[c.key] != c.want {
					t.Fatalf("%s = %#v, want %#v", c.key, res[c.key], c.want)
				}
			})
		}
		mediaWriteFile(t, dir, "rot.mp4", vpMP4(func(o *vpOpts) { o.rot90 = true }))
		res := call(t, tool, map[string]any{"file_path": "rot.mp4"})
		if r := res["video"].(map[string]any)["rotation"]; r != 90 {
			t.Fatalf("rotation %v", r)
		}
	})

	t.Run("bare quicktime", func(t *testing.T) {
		data := vpMP4()
		ftypLen := binary.BigEndian.Uint32(data)
		mediaWriteFile(t, dir, "old.mov", data[ftypLen:])
		res := call(t, tool, map[string]any{"file_path": "old.mov"})
		if res["format"] != "mov" || res["duration_seconds"] != 10.0 {
			t.Fatalf("got %v", res)
		}
		if _, ok := res["major_brand"]; ok {
			t.Fatal("a file without ftyp has no brand")
		}
	})

	t.Run("size 0 box runs to the end", func(t *testing.T) {
		data := vpMP4()
		// The trailing mdat (72 bytes) gets size 0.
		copy(data[len(data)-72:], []byte{0, 0, 0, 0})
		mediaWriteFile(t, dir, "z.mp4", data)
		if res := call(t, tool, map[string]any{"file_path": "z.mp4"}); res["duration_seconds"] != 10.0 {
			t.Fatalf("got %v", res)
		}
	})

	t.Run("fragmented", func(t *testing.T) {
		data := vpMP4()
		frag := bytes.Join([][]byte{vpBox("moof", vpBox("mfhd", vpFull(0), vpU32(1))), vpBox("mdat", make([]byte, 8)),
			vpBox("moof", vpBox("mfhd", vpFull(0), vpU32(2))), vpBox("mdat", make([]byte, 8))}, nil)
		mediaWriteFile(t, dir, "f.mp4", append(data, frag...))
		res := call(t, tool, map[string]any{"file_path": "f.mp4"})
		if res["fragmented"] != true || res["fragments"] != 2 || res["warnings"] == nil {
			t.Fatalf("got %v", res)
		}
	})
}

func TestVideoProcessorDetect(t *testing.T) {
	tool, dir := vpTool(t)
	ts := make([]byte, 188*3)
	for i := 0; i < len(ts); i += 188 {
		ts[i] = 0x47
	}
	cases := []struct {
		name   string
		data   []byte
		format string
		mime   string
	}{
		{"mp4", vpMP4(), "mp4", "video/mp4"},
		{"mov", vpMP4(func(o *vpOpts) { o.brand = "qt  " }), "mov", "video/quicktime"},
		{"webm", append([]byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84}, "webm\x42\x87"...), "webm", "video/webm"},
		{"mkv", append([]byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88}, "matroska"...), "mkv", "video/x-matroska"},
		{"avi", []byte("RIFF\x00\x01\x00\x00AVI LIST"), "avi", "video/x-msvideo"},
		{"flv", []byte("FLV\x01\x05\x00\x00\x00\x09"), "flv", "video/x-flv"},
		{"mpeg-ts", ts, "mpeg-ts", "video/mp2t"},
		{"mpeg-ps", []byte{0, 0, 1, 0xba, 0x44, 0, 4, 0}, "mpeg-ps", "video/mpeg"},
		{"avif", vpBox("ftyp", []byte("avif"), vpU32(0), []byte("mif1")), "avif", "image/avif"},
		{"text", []byte("hello, this is not a video"), "unknown", "application/octet-stream"},
		{"empty", nil, "unknown", "application/octet-stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "in.bin", c.data)
			res := call(t, tool, map[string]any{"operation": "detect", "file_path": "in.bin"})
			if res["format"] != c.format || res["mime"] != c.mime || res["file_size"] != int64(len(c.data)) {
				t.Fatalf("got %v, want %s %s", res, c.format, c.mime)
			}
		})
	}
}

func TestVideoProcessorErrors(t *testing.T) {
	tool, dir := vpTool(t)
	good := vpMP4()
	ftypLen := int(binary.BigEndian.Uint32(good))
	moovAt := ftypLen
	moovLen := int(binary.BigEndian.Uint32(good[moovAt:]))
	patch := func(off int, b []byte) []byte {
		d := bytes.Clone(good)
		copy(d[off:], b)
		return d
	}
	// Offsets inside moov: mvhd starts right after moov's header.
	mvhdAt := moovAt + 8
	mvhdLen := int(binary.BigEndian.Uint32(good[mvhdAt:]))
	trakAt := mvhdAt + mvhdLen
	tkhdAt := trakAt + 8
	var many []byte
	for range 20_001 {
		many = append(many, vpBox("free")...)
	}
	sttsAt := bytes.Index(good, []byte("stts")) - 4
	cases := []struct {
		name string
		data []byte
		typ  tools.ErrorType
		want []string
	}{
		{"no moov", vpBox("ftyp", []byte("isom"), vpU32(0)), tools.TypeExecution, []string{"no moov"}},
		{"box smaller than header", patch(moovAt, vpU32(4)), tools.TypeExecution, []string{`"moov"`, "smaller than its 8-byte header"}},
		{"box past the end", patch(moovAt, vpU32(1<<30)), tools.TypeExecution, []string{`"moov"`, "claims"}},
		{"truncated file", good[:ftypLen+moovLen-10], tools.TypeExecution, []string{"claims", "truncated"}},
		{"child past its parent", patch(tkhdAt, vpU32(1<<20)), tools.TypeExecution, []string{`"tkhd"`, "claims"}},
		{"child size 0", patch(tkhdAt, vpU32(0)), tools.TypeExecution, []string{"size 0 inside"}},
		{"64-bit size too large", patch(moovAt, append(vpU32(1), "moov\x80\x00\x00\x00\x00\x00\x00\x00"...)), tools.TypeExecution, []string{"out of range"}},
		{"binary box type", patch(moovAt+4, []byte{0, 1, 2, 3}), tools.TypeExecution, []string{"four-character code"}},
		{"stts count too large", patch(sttsAt+12, vpU32(1<<30)), tools.TypeExecution, []string{"stts", "claims"}},
		{"no mvhd", patch(mvhdAt+4, []byte("free")), tools.TypeExecution, []string{"no mvhd"}},
		{"too many boxes", bytes.Join([][]byte{vpBox("ftyp", []byte("isom"), vpU32(0)), vpBox("moov", many)}, nil), tools.TypeTooLarge, []string{"more than 20000 boxes"}},
		{"webm", []byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84, 'w', 'e', 'b', 'm'}, tools.TypeExecution, []string{"ISO base media", "webm"}},
		{"heif image", vpBox("ftyp", []byte("heic"), vpU32(0)), tools.TypeExecution, []string{"still-image"}},
		{"not a video", []byte("plain text"), tools.TypeExecution, []string{"not a recognised video"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mediaWriteFile(t, dir, "bad.mp4", c.data)
			mediaErr(t, tool, map[string]any{"operation": "metadata", "file_path": "bad.mp4"}, c.typ, c.want...)
		})
	}

	t.Run("moov over the file limit", func(t *testing.T) {
		small := t.TempDir()
		ps, err := perm.New(perm.Config{Base: small, Read: []string{small}, Limits: perm.Limits{MaxFileBytes: 100}})
		if err != nil {
			t.Fatal(err)
		}
		mediaWriteFile(t, small, "v.mp4", good)
		mediaErr(t, media.VideoProcessor(ps), map[string]any{"file_path": "v.mp4"}, tools.TypeTooLarge, "moov box", "100-byte limit")
	})

	mediaWriteFile(t, dir, "ok.mp4", good)
	params := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		want   string
	}{
		{"missing file_path", map[string]any{"operation": "metadata"}, tools.TypeValidation, `"file_path"`},
		{"thumbnail is not offered", map[string]any{"operation": "thumbnail", "file_path": "ok.mp4"}, tools.TypeValidation, `"operation"`},
		{"unknown parameter", map[string]any{"file_path": "ok.mp4", "target_path": "x.png"}, tools.TypeValidation, `"target_path"`},
		{"missing file", map[string]any{"file_path": "nope.mp4"}, tools.TypeExecution, "nope.mp4"},
		{"folder", map[string]any{"file_path": "."}, tools.TypeValidation, "folder"},
	}
	for _, c := range params {
		t.Run(c.name, func(t *testing.T) { mediaErr(t, tool, c.params, c.typ, c.want) })
	}
}

func TestVideoProcessorEscapes(t *testing.T) {
	mediaCheckEscapes(t, func(ps *perm.Set) tools.Tool { return media.VideoProcessor(ps) },
		"clip.mp4", vpMP4(), nil)
}

func TestVideoProcessorSpec(t *testing.T) {
	spec := media.VideoProcessor(nil).Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	p, _ := spec.Param("operation")
	if strings.Contains(strings.Join(p.Enum, ","), "thumbnail") {
		t.Fatal("thumbnail needs a decoder and must not be offered")
	}
}

func BenchmarkVideoProcessor(b *testing.B) {
	dir := b.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	mediaWriteFile(b, dir, "clip.mp4", vpMP4())
	tool := media.VideoProcessor(ps)
	params := map[string]any{"operation": "metadata", "file_path": "clip.mp4"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(context.Background(), tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzVideoProcessor(f *testing.F) {
	mediaFuzz(f, func(ps *perm.Set) tools.Tool { return media.VideoProcessor(ps) },
		[]map[string]any{{"operation": "detect"}, {"operation": "metadata"}},
		vpMP4(), vpMP4(func(o *vpOpts) { o.mvhdV1, o.bigMdat, o.rot90 = true, true, true }))
}
