package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Key is one API key: a name for logs and metrics, and the secret clients
// send. The secret never appears in logs; String and LogValue show the name.
type Key struct {
	Name   string
	Secret string
}

func (k Key) String() string { return k.Name }

// GoString keeps the secret out of %#v.
func (k Key) GoString() string { return "server.Key{Name: " + strconv.Quote(k.Name) + "}" }

// LogValue keeps the secret out of structured logs.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.Name) }

// Limits on API keys.
const (
	MinKeyLen = 16
	MaxKeyLen = 256
	maxName   = 64
)

// KeyName is the name of an unnamed key: "key-" and the first eight hex
// digits of its SHA-256, enough to tell keys apart in a log without
// revealing them.
func KeyName(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "key-" + hex.EncodeToString(h[:4])
}

// ParseKeys reads API keys, one a line: KEY or NAME:KEY. Blank lines and
// lines starting with # are skipped. A key is 16 to 256 characters of
// A-Z a-z 0-9 and - . _ ~ + / = (the characters of a bearer token); a name
// is 1 to 64 of A-Z a-z 0-9 - . _. source names the input in errors
// ("keys.txt"), which give the line and never the key.
func ParseKeys(r io.Reader, source string) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		k, err := parseKey(text)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", source, line, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", source, line+1, err)
	}
	return keys, nil
}

// ParseKeyList reads keys separated by commas, as SPELLHOST_API_KEYS
// holds them; entries are KEY or NAME:KEY.
func ParseKeyList(list, source string) ([]Key, error) {
	var keys []Key
	for i, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		k, err := parseKey(e)
		if err != nil {
			return nil, fmt.Errorf("%s entry %d: %w", source, i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func parseKey(text string) (Key, error) {
	name, secret, named := strings.Cut(text, ":")
	if !named {
		name, secret = "", text
	}
	secret = strings.TrimSpace(secret)
	name = strings.TrimSpace(name)
	switch {
	case named && (name == "" || len(name) > maxName || !validName(name)):
		return Key{}, fmt.Errorf("key name: want 1 to %d characters of A-Z a-z 0-9 - . _ before the colon", maxName)
	case secret == "":
		return Key{}, fmt.Errorf("empty key")
	case len(secret) < MinKeyLen:
		return Key{}, fmt.Errorf("key of %d characters is too short: want at least %d (openssl rand -hex 24 makes one)", len(secret), MinKeyLen)
	case len(secret) > MaxKeyLen:
		return Key{}, fmt.Errorf("key of %d characters is too long: at most %d", len(secret), MaxKeyLen)
	case !validSecret(secret):
		return Key{}, fmt.Errorf("key has a character outside A-Z a-z 0-9 - . _ ~ + / =")
	}
	if !named {
		name = KeyName(secret)
	}
	return Key{Name: name, Secret: secret}, nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func validSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// CheckKeys rejects two keys with the same secret or the same name.
func CheckKeys(keys []Key) error {
	names := map[string]bool{}
	secrets := map[string]string{}
	for _, k := range keys {
		if names[k.Name] {
			return fmt.Errorf("API keys: the name %s is given twice", k.Name)
		}
		if other, ok := secrets[k.Secret]; ok {
			return fmt.Errorf("API keys: %s and %s are the same key", other, k.Name)
		}
		names[k.Name] = true
		secrets[k.Secret] = k.Name
	}
	return nil
}

// client is who sends requests: one API key, or everyone when the server
// runs without keys. Its limits are its own.
type client struct {
	name    string
	hash    [sha256.Size]byte
	limiter *rate.Limiter // nil: no rate limit
	active  atomic.Int64  // requests in progress
}

// anonymous is the client of a server without keys.
const anonymous = "anonymous"

func newClient(name, secret string, r float64, burst int) *client {
	c := &client{name: name}
	if secret != "" {
		c.hash = sha256.Sum256([]byte(secret))
	}
	if r > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(r), burst)
	}
	return c
}

// presented returns the key a request carries, from Authorization: Bearer
// or X-API-Key, and an error message when the headers are malformed.
func presented(h http.Header) (key, problem string) {
	auth := h["Authorization"]
	if len(auth) > 1 {
		return "", "more than one Authorization header"
	}
	if len(auth) == 1 {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(auth[0]), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", "Authorization: want Bearer and the API key"
		}
		key = strings.TrimSpace(tok)
	} else {
		xs := h["X-Api-Key"]
		if len(xs) > 1 {
			return "", "more than one X-API-Key header"
		}
		if len(xs) == 1 {
			key = strings.TrimSpace(xs[0])
		}
	}
	if key == "" {
		return "", "missing API key: send Authorization: Bearer KEY or X-API-Key: KEY"
	}
	if len(key) > MaxKeyLen {
		return "", "malformed API key: longer than " + strconv.Itoa(MaxKeyLen) + " characters"
	}
	return key, ""
}

// lookup finds the client whose key is key. Every key is compared, in
// constant time on SHA-256 digests, so the time taken says nothing about
// how close a guess came.
func (s *Server) lookup(key string) *client {
	h := sha256.Sum256([]byte(key))
	var found *client
	for _, c := range s.clients {
		if subtle.ConstantTimeCompare(h[:], c.hash[:]) == 1 {
			found = c
		}
	}
	return found
}

// retryAfter is the whole seconds until lim has a token, at least 1.
func retryAfter(lim *rate.Limiter, now time.Time) string {
	missing := 1 - lim.TokensAt(now)
	secs := 1.0
	if l := float64(lim.Limit()); l > 0 && missing > 0 {
		secs = math.Max(1, math.Ceil(missing/l))
	}
	return strconv.FormatFloat(secs, 'f', 0, 64)
}
