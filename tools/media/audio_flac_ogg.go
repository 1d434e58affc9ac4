package media

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"spellhost/tools"
)

// FLAC and Ogg input of audio-processor, with Vorbis comments.

// parseFLAC reads a FLAC stream's metadata blocks, starting at off (after
// a leading ID3 tag, if any).
func parseFLAC(src src, off int64) (map[string]any, error) {
	if b, err := src.at(off, 4); err != nil || string(b) != "fLaC" {
		return nil, fail("FLAC file: no fLaC marker")
	}
	res := map[string]any{"codec": "flac"}
	tags := map[string]any{}
	pictures := 0
	off += 4
	var haveInfo bool
	var rate, total int64
	for n := 0; ; n++ {
		if n == maxChunks {
			return nil, fail("FLAC file: more than %d metadata blocks", maxChunks)
		}
		h, err := src.at(off, 4)
		if err != nil {
			return nil, fail("FLAC file: metadata block header at offset %d is truncated", off)
		}
		last, typ := h[0]&0x80 != 0, h[0]&0x7f
		size := int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3])
		body := off + 4
		if size > src.size-body {
			return nil, fail("FLAC file: metadata block at offset %d claims %d bytes but only %d remain", off, size, src.size-body)
		}
		switch typ {
		case 0:
			if size < 34 {
				return nil, fail("FLAC file: STREAMINFO is %d bytes, 34 are needed", size)
			}
			d, _ := src.at(body, 34)
			v := be.Uint64(d[10:])
			rate = int64(v >> 44)
			channels := int(v>>41&7) + 1
			bits := int(v>>36&31) + 1
			total = int64(v & (1<<36 - 1))
			if rate == 0 {
				return nil, fail("FLAC file: STREAMINFO has a sample rate of 0")
			}
			res["sample_rate"] = rate
			res["channels"] = channels
			res["bits_per_sample"] = bits
			res["min_block_size"] = int(be.Uint16(d))
			res["max_block_size"] = int(be.Uint16(d[2:]))
			if total > 0 {
				res["frames"] = total
				res["duration_seconds"] = round(float64(total)/float64(rate), 3)
			}
			if md5 := d[18:34]; !allZero(md5) {
				res["md5"] = fmt.Sprintf("%x", md5)
			}
			haveInfo = true
		case 4:
			if d, err := src.at(body, min(size, maxTagBytes)); err == nil {
				if vendor := vorbisComments(d, tags); vendor != "" {
					res["vendor"] = vendor
				}
			}
		case 6:
			pictures++
		case 127:
			return nil, fail("FLAC file: invalid metadata block type 127")
		}
		off = body + size
		if last {
			break
		}
	}
	if !haveInfo {
		return nil, fail("FLAC file: no STREAMINFO block")
	}
	if d, ok := res["duration_seconds"].(float64); ok && d > 0 {
		res["bitrate_kbps"] = round(float64(src.size-off)*8/d/1000, 1)
	}
	if pictures > 0 {
		res["pictures"] = pictures
	}
	res["tags"] = tags
	return res, nil
}

// vorbisNames maps Vorbis comment keys to tag names.
var vorbisNames = map[string]string{
	"TITLE": "title", "ARTIST": "artist", "ALBUM": "album", "ALBUMARTIST": "album_artist", "DATE": "date",
	"GENRE": "genre", "TRACKNUMBER": "track", "DISCNUMBER": "disc", "COMMENT": "comment",
	"DESCRIPTION": "comment", "COMPOSER": "composer", "COPYRIGHT": "copyright", "ENCODER": "encoder",
}

// vorbisComments reads a Vorbis comment block (FLAC, Ogg) into tags and
// returns the vendor string.
func vorbisComments(d []byte, tags map[string]any) string {
	if len(d) < 4 {
		return ""
	}
	vl := int64(le.Uint32(d))
	if vl > int64(len(d)-4) {
		return ""
	}
	vendor := textInfo(d[4 : 4+vl])
	d = d[4+vl:]
	if len(d) < 4 {
		return vendor
	}
	n := le.Uint32(d)
	d = d[4:]
	for i := uint32(0); i < n && len(d) >= 4 && len(tags) < maxTags; i++ {
		l := int64(le.Uint32(d))
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
		name := vorbisNames[key]
		if name == "" {
			name = strings.ToLower(clip(key))
		}
		val := textInfo(v)
		if val == "" {
			continue
		}
		if old, ok := tags[name].(string); ok {
			val = clip(old + "; " + val)
		}
		tags[name] = val
	}
	return vendor
}

// oggPage is the header of one Ogg page.
type oggPage struct {
	granule    uint64
	serial     uint32
	headerLen  int64
	bodyLen    int64
	firstLen   int64 // length of the first packet's part on this page
	firstWhole bool  // the first packet ends on this page
}

func oggHeader(src src, off int64) (oggPage, error) {
	h, err := src.at(off, 27)
	if err != nil || string(h[:4]) != "OggS" || h[4] != 0 {
		return oggPage{}, fail("Ogg file: no page header at offset %d", off)
	}
	n := int64(h[26])
	lace, err := src.at(off+27, n)
	if err != nil {
		return oggPage{}, fail("Ogg file: page at offset %d is truncated", off)
	}
	p := oggPage{granule: le.Uint64(h[6:]), serial: le.Uint32(h[14:]), headerLen: 27 + n}
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
		return oggPage{}, fail("Ogg file: page at offset %d is truncated", off)
	}
	return p, nil
}

// parseOgg reads the identification and comment headers of the first
// logical stream and the granule position of its last page.
func parseOgg(src src) (map[string]any, error) {
	first, err := oggHeader(src, 0)
	if err != nil {
		return nil, err
	}
	id, err := src.at(first.headerLen, min(first.firstLen, 128))
	if err != nil {
		return nil, fail("Ogg file: first packet is truncated")
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
		rate = float64(le.Uint32(id[12:]))
		if nominal := int32(le.Uint32(id[20:])); nominal > 0 {
			res["nominal_bitrate_kbps"] = round(float64(nominal)/1000, 1)
		}
		commentMagic = "\x03vorbis"
	case len(id) >= 19 && string(id[:8]) == "OpusHead":
		res["codec"] = "opus"
		res["channels"] = int(id[9])
		preskip = uint64(le.Uint16(id[10:]))
		if in := le.Uint32(id[12:]); in > 0 {
			res["input_sample_rate"] = int64(in)
		}
		rate = 48000 // Opus granule positions count 48 kHz samples
		commentMagic = "OpusTags"
	case len(id) >= 51 && string(id[:5]) == "\x7fFLAC" && string(id[9:13]) == "fLaC":
		res["codec"] = "flac"
		v := be.Uint64(id[13+4+10:])
		rate = float64(v >> 44)
		res["channels"] = int(v>>41&7) + 1
		res["bits_per_sample"] = int(v>>36&31) + 1
	case len(id) >= 8 && string(id[:8]) == "Speex   ":
		res["codec"] = "speex"
		if len(id) >= 52 {
			rate = float64(le.Uint32(id[36:]))
			res["channels"] = int(le.Uint32(id[48:]))
		}
	case len(id) >= 7 && string(id[:7]) == "\x80theora":
		return nil, tools.Failed("Ogg file holds Theora video, not audio")
	default:
		return nil, tools.Failed("Ogg file: unrecognised codec in the first packet")
	}
	if rate <= 0 || rate > 1e7 {
		return nil, fail("Ogg file: sample rate %v in the identification header", rate)
	}
	res["sample_rate"] = round(rate, 3)

	// The comment header is the first packet of the second page, when it
	// fits on that page.
	if commentMagic != "" {
		off := first.headerLen + first.bodyLen
		if pg, err := oggHeader(src, off); err == nil && pg.firstWhole && pg.serial == first.serial {
			if d, err := src.at(off+pg.headerLen, min(pg.firstLen, maxTagBytes)); err == nil && bytes.HasPrefix(d, []byte(commentMagic)) {
				if vendor := vorbisComments(d[len(commentMagic):], tags); vendor != "" {
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
		if le.Uint32(buf[i+14:]) != first.serial {
			continue
		}
		if g := le.Uint64(buf[i+6:]); g != math.MaxUint64 {
			granule, found = g, true
		}
	}
	if found && granule > preskip {
		samples := granule - preskip
		dur := float64(samples) / rate
		res["frames"] = int64(samples)
		res["duration_seconds"] = round(dur, 3)
		if dur > 0 {
			res["bitrate_kbps"] = round(float64(src.size)*8/dur/1000, 1)
		}
	}
	res["tags"] = tags
	return res, nil
}
