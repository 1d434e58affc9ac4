package text

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"spellhost/tools"
)

// uuid_generator limits.
const (
	maxName   = 1 << 20 // bytes of name hashed into a v3 or v5 UUID
	maxPrefix = 256     // bytes of prefix
	shortLen  = 12      // hex digits of a component_id's random part (48 bits)
)

func uuidGeneratorSpec() tools.Spec {
	return tools.Spec{
		Inline:   true,
		Name:     "uuid_generator",
		Category: "utility",
		Description: "Generates UUIDs (random v4, time-ordered v7, time-based v1/v6, name-based v3/v5), " +
			"prefixed ids, and validates UUID strings, reporting their version and variant.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "generate",
				Enum: []string{"generate", "component_id", "deterministic", "custom", "validate"},
				Description: "generate makes a UUID of the given version; deterministic makes a name-based UUID from namespace and name " +
					"(the same inputs always give the same UUID); component_id makes prefix + \"_\" + 12 random hex digits; " +
					"custom makes prefix + a UUID; validate checks the uuid parameter"},
			{Name: "version", Type: tools.String, Enum: []string{"v1", "v3", "v4", "v5", "v6", "v7"},
				Description: "the UUID version: v4 random (the default for generate and custom), v7 time-ordered and random, " +
					"v1 and v6 time and node based, v5 (SHA-1, the default for deterministic) and v3 (MD5) name-based, which need name. " +
					"validate: when given, the UUID is valid only if it has this version. Not used by component_id"},
			{Name: "format", Type: tools.String, Default: "hyphenated", Enum: []string{"hyphenated", "simple", "urn", "braced"},
				Description: "how to write the UUID: hyphenated 8-4-4-4-12, simple 32 hex digits, urn urn:uuid:..., braced {...}; " +
					"always lowercase. Not used by component_id or validate (validate accepts all four)"},
			{Name: "namespace", Type: tools.String, Default: "dns",
				Description: "for v3 and v5: dns, url, oid, x500 (the RFC 9562 namespaces) or any UUID"},
			{Name: "name", Type: tools.String,
				Description: "for v3 and v5 (and so deterministic): the name to hash within namespace, e.g. \"example.com\"; at most 1 MiB"},
			{Name: "prefix", Type: tools.String,
				Description: "component_id: the id's prefix, joined with \"_\" (default \"component\"); " +
					"custom (required): text put directly before the UUID, e.g. \"order-\"; at most 256 bytes, no control characters"},
			{Name: "uuid", Type: tools.String,
				Description: "validate (required): the string to check; hyphenated, simple, urn and braced forms are accepted"},
		},
		Returns: "generate, deterministic, custom: {uuid, version (integer), format}, deterministic adding namespace (as a UUID) " +
			"and custom adding prefix; component_id: {uuid (the id), prefix, version: 4, format: \"short\"}; " +
			"validate: {valid, version, variant (rfc4122, ncs, microsoft or future), uuid (canonical hyphenated form), format (of the input), error} " +
			"where version, variant, uuid and format are null and error says why when the string is not a UUID",
		Example: map[string]any{"operation": "deterministic", "namespace": "dns", "name": "example.com"},
	}
}

// UUIDGenerator returns the uuid_generator tool.
func UUIDGenerator() tools.Tool { return tools.New(uuidGeneratorSpec(), runUUID) }

func runUUID(_ context.Context, p tools.Params) (any, error) {
	op := p.String("operation")
	format := p.String("format")
	switch op {
	case "validate":
		return validate(p)
	case "component_id":
		prefix := "component"
		if p.Has("prefix") {
			prefix = p.String("prefix")
			if err := checkPrefix(prefix); err != nil {
				return nil, err
			}
		}
		u, err := uuid.NewRandom()
		if err != nil {
			return nil, tools.Failed("generate random id: %v", err)
		}
		var buf [maxPrefix + 1 + shortLen]byte // on the stack
		b := append(buf[:0], prefix...)
		b = append(b, '_')
		b = appendHex(b, u[:shortLen/2])
		return map[string]any{"uuid": string(b), "prefix": prefix, "version": 4, "format": "short"}, nil
	}

	version := p.String("version")
	if version == "" {
		version = "v4"
		if op == "deterministic" {
			version = "v5"
		}
	}
	if op == "deterministic" && version != "v5" && version != "v3" {
		return nil, tools.Invalid("parameter \"version\": deterministic makes name-based v5 or v3 UUIDs, not %s", version)
	}
	var prefix string
	if op == "custom" {
		if !p.Has("prefix") {
			return nil, tools.Invalid("missing parameter \"prefix\" for operation custom")
		}
		prefix = p.String("prefix")
		if err := checkPrefix(prefix); err != nil {
			return nil, err
		}
	}

	var u uuid.UUID
	var err error
	var space uuid.UUID
	switch version {
	case "v4":
		u, err = uuid.NewRandom()
	case "v7":
		u, err = uuid.NewV7()
	case "v1":
		u, err = uuid.NewUUID()
	case "v6":
		u, err = uuid.NewV6()
	case "v3", "v5":
		if !p.Has("name") {
			return nil, tools.Invalid("missing parameter \"name\" for a %s UUID (operation %s)", version, op)
		}
		name := p.String("name")
		if len(name) > maxName {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"name\": %d bytes exceeds the %d-byte limit", len(name), maxName)
		}
		space, err = namespace(p.String("namespace"))
		if err != nil {
			return nil, err
		}
		if version == "v5" {
			u = uuid.NewSHA1(space, []byte(name))
		} else {
			u = uuid.NewMD5(space, []byte(name))
		}
	}
	if err != nil {
		return nil, tools.Failed("generate %s UUID: %v", version, err)
	}

	var buf [maxPrefix + 45]byte // on the stack
	b := append(buf[:0], prefix...)
	b = appendUUID(b, u, format)
	res := make(map[string]any, 4)
	res["uuid"] = string(b)
	res["version"] = int(u.Version())
	res["format"], _ = p.Get("format") // already boxed: no allocation
	if op == "custom" {
		res["prefix"] = prefix
	}
	if op == "deterministic" {
		res["namespace"] = space.String()
	}
	return res, nil
}

func checkPrefix(prefix string) error {
	if len(prefix) > maxPrefix {
		return tools.Errorf(tools.TypeTooLarge, "parameter \"prefix\": %d bytes exceeds the %d-byte limit", len(prefix), maxPrefix)
	}
	for i, r := range prefix {
		if r < 0x20 || r == 0x7f {
			return tools.Invalid("parameter \"prefix\": control character %q at offset %d", r, i)
		}
	}
	return nil
}

func namespace(ns string) (uuid.UUID, error) {
	switch strings.ToLower(ns) {
	case "dns", "":
		return uuid.NameSpaceDNS, nil
	case "url":
		return uuid.NameSpaceURL, nil
	case "oid":
		return uuid.NameSpaceOID, nil
	case "x500":
		return uuid.NameSpaceX500, nil
	}
	u, err := parse(ns)
	if err != nil {
		return uuid.Nil, tools.Invalid("parameter \"namespace\": want dns, url, oid, x500 or a UUID, got %q", clipName(ns))
	}
	return u, nil
}

var errUUIDBraces = errors.New("38 characters but not enclosed in braces")

// parse is uuid.Parse, but insists that a 38-character form is
// enclosed in braces (uuid.Parse takes any two characters).
func parse(s string) (uuid.UUID, error) {
	if len(s) == 38 && (s[0] != '{' || s[37] != '}') {
		return uuid.Nil, errUUIDBraces
	}
	return uuid.Parse(s)
}

func validate(p tools.Params) (any, error) {
	if !p.Has("uuid") {
		return nil, tools.Invalid("missing parameter \"uuid\" for operation validate")
	}
	s := p.String("uuid")
	res := map[string]any{"valid": false, "version": nil, "variant": nil, "uuid": nil, "format": nil, "error": nil}
	u, err := parse(s)
	if err != nil {
		res["error"] = whyInvalid(s, err)
		return res, nil
	}
	switch len(s) {
	case 32:
		res["format"] = "simple"
	case 38:
		res["format"] = "braced"
	case 45:
		res["format"] = "urn"
	default:
		res["format"] = "hyphenated"
	}
	v := int(u.Version())
	res["version"] = v
	res["variant"] = variantName(u.Variant())
	res["uuid"] = u.String()
	if want := p.String("version"); want != "" && want != "v"+strconv.Itoa(v) {
		res["error"] = fmt.Sprintf("version %d, want %s", v, want)
		return res, nil
	}
	res["valid"] = true
	return res, nil
}

// whyInvalid explains why s is not a UUID, with the offset of the
// first bad character where there is one.
func whyInvalid(s string, err error) string {
	core, off := s, 0
	switch len(s) {
	case 32, 36:
	case 38:
		if s[0] != '{' || s[37] != '}' {
			return errUUIDBraces.Error()
		}
		core, off = s[1:37], 1
	case 45:
		if !strings.EqualFold(s[:9], "urn:uuid:") {
			return "45 characters but no \"urn:uuid:\" prefix"
		}
		core, off = s[9:], 9
	default:
		return fmt.Sprintf("wrong length: %d characters; want 36 (hyphenated), 32 (simple), 38 (braced) or 45 (urn)", len(s))
	}
	for i := 0; i < len(core); i++ {
		c := core[i]
		hyphen := len(core) == 36 && (i == 8 || i == 13 || i == 18 || i == 23)
		if hyphen && c != '-' {
			return fmt.Sprintf("expected '-' at offset %d in the 8-4-4-4-12 form", i+off)
		}
		if !hyphen && !isHex(c) {
			r, size := utf8.DecodeRuneInString(core[i:])
			return fmt.Sprintf("invalid hex digit %s at offset %d", quoteChar(r, size, c), i+off)
		}
	}
	return err.Error()
}

func variantName(v uuid.Variant) string {
	switch v {
	case uuid.RFC4122:
		return "rfc4122"
	case uuid.Reserved:
		return "ncs"
	case uuid.Microsoft:
		return "microsoft"
	}
	return "future"
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// appendUUID appends u to dst in format.
func appendUUID(dst []byte, u uuid.UUID, format string) []byte {
	switch format {
	case "simple":
		return appendHex(dst, u[:])
	case "urn":
		dst = append(dst, "urn:uuid:"...)
	case "braced":
		dst = append(dst, '{')
	}
	dst = appendHex(dst, u[0:4])
	dst = append(dst, '-')
	dst = appendHex(dst, u[4:6])
	dst = append(dst, '-')
	dst = appendHex(dst, u[6:8])
	dst = append(dst, '-')
	dst = appendHex(dst, u[8:10])
	dst = append(dst, '-')
	dst = appendHex(dst, u[10:])
	if format == "braced" {
		dst = append(dst, '}')
	}
	return dst
}

func clipName(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
