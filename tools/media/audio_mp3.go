package media

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
)

// MP3 input of audio-processor: MPEG frame headers and ID3 tags.

// syncsafe decodes a 28-bit ID3 syncsafe integer.
func syncsafe(b []byte) int {
	return int(b[0]&0x7f)<<21 | int(b[1]&0x7f)<<14 | int(b[2]&0x7f)<<7 | int(b[3]&0x7f)
}

// mpeg is a parsed MPEG audio (or ADTS, layer 0) frame header.
type mpeg struct {
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
	bitrates = [2][3][15]int{ // [v1, v2/2.5][layer 1..3][index]
		{{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}},
		{{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}},
	}
	rates = map[string][3]int{"1": {44100, 48000, 32000}, "2": {22050, 24000, 16000}, "2.5": {11025, 12000, 8000}}
	modes = [4]string{"stereo", "joint_stereo", "dual_channel", "mono"}
)

// mpegParse parses a 4-byte frame header. Free-format bitrates are not
// accepted.
func mpegParse(b []byte) (mpeg, bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return mpeg{}, false
	}
	var h mpeg
	switch b[1] >> 3 & 3 {
	case 0:
		h.version = "2.5"
	case 2:
		h.version = "2"
	case 3:
		h.version = "1"
	default:
		return mpeg{}, false
	}
	if b[1]>>1&3 == 0 { // ADTS AAC: sync 0xFFF, layer 0
		if b[1]&0xf6 != 0xf0 {
			return mpeg{}, false
		}
		return mpeg{layer: 0}, true
	}
	h.layer = 4 - int(b[1]>>1&3)
	bi, si := int(b[2]>>4), int(b[2]>>2&3)
	if bi == 0 || bi == 15 || si == 3 {
		return mpeg{}, false
	}
	v := 0
	if h.version != "1" {
		v = 1
	}
	h.bitrate = bitrates[v][h.layer-1][bi]
	h.rate = rates[h.version][si]
	pad := int(b[2] >> 1 & 1)
	h.mode = modes[b[3]>>6]
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

// id3Names maps ID3v2 frame ids to tag names.
var id3Names = map[string]string{
	"TIT2": "title", "TT2": "title", "TPE1": "artist", "TP1": "artist", "TALB": "album", "TAL": "album",
	"TPE2": "album_artist", "TP2": "album_artist", "TYER": "year", "TYE": "year", "TDRC": "date",
	"TCON": "genre", "TCO": "genre", "TRCK": "track", "TRK": "track", "TPOS": "disc", "TPA": "disc",
	"TCOM": "composer", "TCM": "composer", "COMM": "comment", "COM": "comment", "TENC": "encoded_by",
	"TEN": "encoded_by", "TSSE": "encoder", "TSS": "encoder", "TCOP": "copyright", "TCR": "copyright",
	"TBPM": "bpm", "TBP": "bpm", "TLEN": "length_ms", "TLE": "length_ms",
}

// id3v2 reads the text frames of an ID3v2 tag at the start of the file
// into tags and returns the tag's end and version.
func id3v2(src src, tags map[string]any) (int64, string, []string) {
	h, err := src.at(0, 10)
	if err != nil || string(h[:3]) != "ID3" {
		return 0, "", nil
	}
	ver, flags := h[3], h[5]
	end := int64(10 + syncsafe(h[6:10]))
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
			off += 4 + int64(be.Uint32(x))
		} else {
			off += int64(syncsafe(x))
		}
	}
	hdr, idLen := int64(10), 4
	if ver == 2 {
		hdr, idLen = 6, 3
	}
	for n := 0; off+hdr <= end && n < 256 && len(tags) < maxTags; n++ {
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
			size, fflags = int64(be.Uint32(fh[4:])), fh[9]
			if fflags&0xc0 != 0 { // compressed or encrypted
				fflags = 0xff
			}
		case 4:
			size, fflags = int64(syncsafe(fh[4:])), fh[9]
			if fflags&0x0e != 0 { // compressed, encrypted or unsynchronised
				fflags = 0xff
			}
		}
		body := off + hdr
		if size > end-body {
			return end, version, append(warns, fmt.Sprintf("ID3v2 frame %s claims %d bytes, past the tag's end", id, size))
		}
		off = body + size
		name := id3Names[id]
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
			v = id3Comment(d)
		} else {
			v = id3Text(d[0], d[1:])
		}
		if v != "" {
			if _, dup := tags[name]; !dup {
				tags[name] = v
			}
		}
	}
	return end, version, warns
}

// id3Text decodes an ID3v2 string in the given encoding; several
// NUL-separated values are joined with "; ".
func id3Text(enc byte, b []byte) string {
	var s string
	switch enc {
	case 0:
		s = latin1(b)
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
				u[i] = be.Uint16(b[2*i:])
			} else {
				u[i] = le.Uint16(b[2*i:])
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
	return clip(strings.TrimSpace(strings.Join(parts, "; ")))
}

// id3Comment decodes a COMM frame: encoding, language, a short
// description and the text; it returns the text.
func id3Comment(d []byte) string {
	if len(d) < 5 {
		return ""
	}
	enc, rest := d[0], d[4:]
	wide := enc == 1 || enc == 2
	for i := 0; i < len(rest); i++ {
		if wide {
			if i%2 == 0 && i+1 < len(rest) && rest[i] == 0 && rest[i+1] == 0 {
				return id3Text(enc, rest[i+2:])
			}
		} else if rest[i] == 0 {
			return id3Text(enc, rest[i+1:])
		}
	}
	return ""
}

// parseMP3 reads an MPEG audio file: ID3v2 tag, first frame, the
// Xing/Info or VBRI header, and an ID3v1 tag at the end.
func parseMP3(src src) (map[string]any, error) {
	tags := map[string]any{}
	res := map[string]any{}
	start, id3ver, warns := id3v2(src, tags)
	if id3ver != "" {
		res["id3_version"] = id3ver
	}
	buf, err := src.at(start, min(scan+4, src.size-start))
	if err != nil {
		return nil, fail("MPEG audio file: cannot read past the ID3 tag")
	}
	var h mpeg
	pos := -1
	for i := 0; i+4 <= len(buf); i++ {
		if buf[i] != 0xff {
			continue
		}
		cand, ok := mpegParse(buf[i:])
		if !ok || cand.layer == 0 {
			continue
		}
		// A real frame is followed by another (or by the end of the data).
		next := i + cand.frameLen
		if next+4 <= len(buf) {
			if n, ok := mpegParse(buf[next:]); !ok || n.version != cand.version || n.layer != cand.layer || n.rate != cand.rate {
				continue
			}
		}
		h, pos = cand, i
		break
	}
	if pos < 0 {
		return nil, fail("MPEG audio file: no frame header in the first %d KiB after the tag", scan>>10)
	}
	audioStart := start + int64(pos)
	audioEnd := src.size
	if src.size-audioStart >= 128 {
		if t, err := src.at(src.size-128, 128); err == nil && string(t[:3]) == "TAG" {
			audioEnd -= 128
			if id3ver == "" {
				res["id3_version"] = "1"
			}
			id3v1(t, tags)
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
		flags := be.Uint32(frame[x+4:])
		if flags&1 != 0 {
			frames = int64(be.Uint32(frame[x+8:]))
		}
	} else if len(frame) >= 36+18 && string(frame[36:40]) == "VBRI" {
		mode = "vbr"
		frames = int64(be.Uint32(frame[50:]))
	}
	res["bitrate_mode"] = mode
	if frames > 0 {
		dur := float64(frames) * float64(h.spf) / float64(h.rate)
		res["frames"] = frames * int64(h.spf)
		res["duration_seconds"] = round(dur, 3)
		res["bitrate_kbps"] = round(float64(audioEnd-audioStart)*8/dur/1000, 1)
		res["duration_estimated"] = false
	} else {
		res["bitrate_kbps"] = float64(h.bitrate)
		res["duration_seconds"] = round(float64(audioEnd-audioStart)*8/float64(h.bitrate*1000), 3)
		res["duration_estimated"] = true
		if mode == "cbr" {
			warns = append(warns, "no Xing/Info/VBRI header: duration estimated from the first frame's bitrate")
		}
	}
	res["tags"] = tags
	if len(warns) > 0 {
		res["warnings"] = anyList(warns)
	}
	return res, nil
}

// id3v1 reads a 128-byte ID3v1 tag into tags that are not set yet.
func id3v1(t []byte, tags map[string]any) {
	set := func(name string, b []byte) {
		if _, ok := tags[name]; ok {
			return
		}
		if v := strings.TrimSpace(latin1(bytes.TrimRight(bytes.SplitN(b, []byte{0}, 2)[0], " "))); v != "" {
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
