package citation

import (
	"strings"
	"unicode/utf8"
)

// LaTeX to plain Unicode text for citation-formatter: accents, symbols, commands.

// accents maps an accent command to "base composed" rune pairs and
// the combining mark used for other bases.
var accents = map[string]struct {
	pairs string
	mark  rune
}{
	"`":  {"aàeèiìoòuùAÀEÈIÌOÒUÙnǹNǸ", '\u0300'},
	"'":  {"aáeéiíoóuúyýAÁEÉIÍOÓUÚYÝcćCĆnńNŃsśSŚzźZŹlĺLĹrŕRŔgǵGǴ", '\u0301'},
	"^":  {"aâeêiîoôuûAÂEÊIÎOÔUÛcĉCĈgĝGĜhĥHĤjĵJĴsŝSŜwŵWŴyŷYŶ", '\u0302'},
	"~":  {"aãnñoõAÃNÑOÕiĩIĨuũUŨ", '\u0303'},
	"=":  {"aāAĀeēEĒiīIĪoōOŌuūUŪ", '\u0304'},
	"u":  {"aăAĂgğGĞuŭUŬeĕEĔoŏOŎ", '\u0306'},
	".":  {"zżZŻcċCĊeėEĖgġGĠIİ", '\u0307'},
	"\"": {"aäeëiïoöuüyÿAÄEËIÏOÖUÜYŸ", '\u0308'},
	"r":  {"aåAÅuůUŮ", '\u030A'},
	"H":  {"oőOŐuűUŰ", '\u030B'},
	"v":  {"cčCČdďDĎeěEĚnňNŇrřRŘsšSŠtťTŤzžZŽ", '\u030C'},
	"d":  {"", '\u0323'},
	"c":  {"cçCÇsşSŞtţTŢgģGĢkķKĶlļLĻnņNŅrŗRŖ", '\u0327'},
	"k":  {"aąAĄeęEĘiįIĮuųUŲ", '\u0328'},
	"b":  {"", '\u0331'},
}

// symbols are control words that stand for a character.
var symbols = map[string]string{
	"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
	"l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ", "ng": "ŋ", "NG": "Ŋ",
	"textendash": "–", "textemdash": "—", "dots": "…", "ldots": "…", "textellipsis": "…",
	"textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“", "textquotedblright": "”",
	"textregistered": "®", "copyright": "©", "textcopyright": "©", "texttrademark": "™", "S": "§", "P": "¶",
	"textsection": "§", "pounds": "£", "euro": "€", "textbackslash": "\\", "textasciitilde": "~",
	"textunderscore": "_", "textbar": "|", "textless": "<", "textgreater": ">", "LaTeX": "LaTeX", "TeX": "TeX",
	"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "mu": "μ", "pi": "π", "sigma": "σ", "lambda": "λ",
	"quad": " ", "qquad": " ", "space": " ", "nobreakspace": " ", "slash": "/", "and": "and",
}

// fromLatex turns a BibTeX value into plain text: accents and symbols to
// Unicode, escaped characters unescaped, braces and formatting commands
// (\emph, \textbf, ...) dropped with their argument kept, -- and --- to
// dashes, doubled backquotes and apostrophes to curly quotes, ~ to a
// space, and white space
// collapsed.
func fromLatex(s string) string {
	if !strings.ContainsAny(s, "\\{}~-$`'\n\t\r") {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '{', '}', '$':
			i++
		case '~':
			b.WriteByte(' ')
			i++
		case '-':
			switch {
			case strings.HasPrefix(s[i:], "---"):
				b.WriteString("—")
				i += 3
			case strings.HasPrefix(s[i:], "--"):
				b.WriteString("–")
				i += 2
			default:
				b.WriteByte('-')
				i++
			}
		case '`':
			if strings.HasPrefix(s[i:], "``") {
				b.WriteString("“")
				i += 2
			} else {
				b.WriteString("‘")
				i++
			}
		case '\'':
			if strings.HasPrefix(s[i:], "''") {
				b.WriteString("”")
				i += 2
			} else {
				b.WriteByte('\'')
				i++
			}
		case '\\':
			i = command(s, i, &b)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// command writes the text of the control sequence at s[i] ('\') and
// returns the index after it.
func command(s string, i int, b *strings.Builder) int {
	i++ // '\'
	if i >= len(s) {
		return i
	}
	c := s[i]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		i++
		if acc, ok := accents[string(c)]; ok {
			return accent(s, i, acc.pairs, acc.mark, b)
		}
		switch c {
		case '\\', ' ', ',', ';', ':', '!':
			b.WriteByte(' ')
		case '-', '/':
			// a discretionary hyphen or a break point: nothing
		default:
			b.WriteByte(c) // \& \% \$ \# \_ \{ \}
		}
		return i
	}
	start := i
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	name := s[start:i]
	j := i
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++ // TeX drops the space after a control word
	}
	if acc, ok := accents[name]; ok && len(name) == 1 {
		return accent(s, j, acc.pairs, acc.mark, b)
	}
	if sym, ok := symbols[name]; ok {
		b.WriteString(sym)
		if j < len(s) && s[j] == '{' && j+1 < len(s) && s[j+1] == '}' {
			j += 2 // \ss{} and the like
		}
		return j
	}
	if name == "url" || name == "href" {
		// \url{x} keeps x verbatim; \href{x}{text} keeps text.
		if j < len(s) && s[j] == '{' {
			end := groupEnd(s, j)
			arg := s[j+1 : end-1]
			if name == "href" && end < len(s) && s[end] == '{' {
				return end // the text group follows and is read as text
			}
			b.WriteString(arg)
			return end
		}
	}
	// A formatting or unknown command: drop it and keep its argument, which
	// the caller reads as text.
	return j
}

// groupEnd returns the index after the brace group opening at s[i].
func groupEnd(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// accent writes the accented form of the base at s[i] ("x", "{x}",
// "{\i}" or "\i") and returns the index after it.
func accent(s string, i int, pairs string, mark rune, b *strings.Builder) int {
	braced := i < len(s) && s[i] == '{'
	j := i
	if braced {
		j++
	}
	var base rune
	switch {
	case j < len(s) && s[j] == '\\' && j+1 < len(s) && (s[j+1] == 'i' || s[j+1] == 'j'):
		base = rune(s[j+1])
		j += 2
	case j < len(s):
		r, size := utf8.DecodeRuneInString(s[j:])
		base = r
		j += size
	default:
		return j
	}
	if braced {
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == '}' {
			j++
		}
	}
	for k := 0; k < len(pairs); {
		r, n := utf8.DecodeRuneInString(pairs[k:])
		comp, m := utf8.DecodeRuneInString(pairs[k+n:])
		if r == base {
			b.WriteRune(comp)
			return j
		}
		k += n + m
	}
	b.WriteRune(base)
	b.WriteRune(mark)
	return j
}

// cleanURL removes braces and TeX escapes from a URL-like field.
func cleanURL(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "\\url{"), "}")
	r := strings.NewReplacer("{", "", "}", "", `\_`, "_", `\%`, "%", `\&`, "&", `\#`, "#", `\~`, "~", `\$`, "$")
	return strings.Join(strings.Fields(r.Replace(s)), "")
}
