package vuhttp

import (
	"crypto/md5" //nolint:gosec // digest authentication's default algorithm
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
)

// HTTP authentication from the URL's credentials: basic (RFC 7617) at
// once, digest (RFC 7616) in answer to the server's challenge.

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// challenge is a Digest WWW-Authenticate challenge.
type challenge struct {
	realm, nonce, opaque, algorithm string
	qop                             []string
}

// parseChallenge finds a Digest challenge the engine can answer (MD5 or
// SHA-256, with or without -sess) in resp's WWW-Authenticate headers.
func parseChallenge(resp *Response) (challenge, bool) {
	var found challenge
	ok := false
	resp.each("WWW-Authenticate", func(v string) {
		if ok {
			return
		}
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Digest") {
			return
		}
		params := authParams(rest)
		ch := challenge{realm: params["realm"], nonce: params["nonce"], opaque: params["opaque"],
			algorithm: params["algorithm"]}
		if ch.algorithm == "" {
			ch.algorithm = "MD5"
		}
		if digestHash(ch.algorithm) == nil || ch.nonce == "" {
			return
		}
		for q := range strings.SplitSeq(params["qop"], ",") {
			if q = strings.TrimSpace(q); q != "" {
				ch.qop = append(ch.qop, q)
			}
		}
		found, ok = ch, true
	})
	return found, ok
}

// authParams reads name=value and name="quoted value" pairs, separated by
// commas.
func authParams(s string) map[string]string {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(strings.TrimSpace(s), ", ") {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		rest = strings.TrimSpace(rest)
		var val strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				val.WriteByte(rest[i])
			}
			s = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val.WriteString(strings.TrimSpace(rest[:end]))
			s = rest[end:]
		}
		out[name] = val.String()
	}
	return out
}

// digestHash returns the hash an algorithm names, or nil.
func digestHash(alg string) func() hash.Hash {
	switch strings.ToUpper(strings.TrimSuffix(strings.ToUpper(alg), "-SESS")) {
	case "MD5":
		return md5.New
	case "SHA-256":
		return sha256.New
	}
	return nil
}

func hexHash(newHash func() hash.Hash, parts ...string) string {
	h := newHash()
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

// digestAuthorization answers ch for h's request.
func digestAuthorization(ch challenge, h *hop) string {
	user := h.t.u.User.Username()
	pass, _ := h.t.u.User.Password()
	H := digestHash(ch.algorithm)
	var nonce [12]byte
	rand.Read(nonce[:])
	cnonce := hex.EncodeToString(nonce[:])
	const nc = "00000001"
	ha1 := hexHash(H, user, ch.realm, pass)
	if strings.HasSuffix(strings.ToUpper(ch.algorithm), "-SESS") {
		ha1 = hexHash(H, ha1, ch.nonce, cnonce)
	}
	qop := ""
	for _, q := range ch.qop {
		if q == "auth" || q == "auth-int" && qop == "" {
			qop = q
		}
	}
	ha2 := hexHash(H, h.method, h.t.uri)
	if qop == "auth-int" {
		ha2 = hexHash(H, h.method, h.t.uri, hexHash(H, string(h.body)))
	}
	var response string
	if qop != "" {
		response = hexHash(H, ha1, ch.nonce, nc, cnonce, qop, ha2)
	} else {
		response = hexHash(H, ha1, ch.nonce, ha2)
	}
	var b strings.Builder
	b.WriteString("Digest ")
	quoted := func(k, v string) {
		b.WriteString(k + `="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v))
		b.WriteString(`", `)
	}
	quoted("username", user)
	quoted("realm", ch.realm)
	quoted("nonce", ch.nonce)
	quoted("uri", h.t.uri)
	if ch.opaque != "" {
		quoted("opaque", ch.opaque)
	}
	b.WriteString("algorithm=" + ch.algorithm + ", ")
	if qop != "" {
		b.WriteString("qop=" + qop + ", nc=" + nc + `, cnonce="` + cnonce + `", `)
	}
	b.WriteString(`response="` + response + `"`)
	return b.String()
}
