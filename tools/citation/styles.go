package citation

import (
	"fmt"
	"strings"
)

// The citation-formatter styles: APA 7, MLA 9, Chicago 17, Harvard and IEEE.

// apaNames: "Smith, J., Doe, A., & Lee, K."; 21 or more: the first
// 19, an ellipsis and the last.
func apaNames(n names) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].initialsLast(" ")
	}
	if len(items) >= 21 {
		return strings.Join(items[:19], ", ") + ", . . . " + items[len(items)-1]
	}
	if n.others {
		return strings.Join(items, ", ") + ", et al."
	}
	if len(items) == 2 {
		return items[0] + ", & " + items[1]
	}
	return joinList(items, "&", true, false)
}

// apaEditors: "A. Editor & B. Editor (Eds.)".
func apaEditors(n names) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].initialsFirst()
	}
	s := joinList(items, "&", true, false)
	if n.others {
		s += " et al."
	}
	return s + " " + edLabel(n, "(Ed.)", "(Eds.)")
}

func apa(w *writer, e *entry) {
	kind := kindOf(e.typ)
	year := orDefault(e.f("year"), "n.d.")
	title := e.title()
	italTitle := kind == "book" || kind == "thesis" || kind == "report" || kind == "web" || kind == "misc"
	writeTitle := func() {
		if italTitle {
			w.ital(title)
		} else {
			w.text(title)
		}
		switch kind {
		case "book":
			if ed := e.f("edition"); ed != "" {
				w.text(" (" + ordinal(ed) + " ed.)")
			}
		case "thesis":
			w.text(" [" + joinNonEmpty(", ", e.thesisKind(true), e.f("school")) + "]")
		case "report":
			if num := e.f("number"); num != "" {
				w.text(" (Report No. " + num + ")")
			}
		}
	}
	switch {
	case len(e.authors.names) > 0:
		w.text(apaNames(e.authors))
		w.sep(". ")
		w.text("(" + year + "). ")
		writeTitle()
		w.sep(". ")
	case len(e.editors.names) > 0 && (kind == "book" || kind == "misc"):
		w.text(apaNames(e.editors) + " " + edLabel(e.editors, "(Ed.)", "(Eds.)") + ". ")
		w.text("(" + year + "). ")
		writeTitle()
		w.sep(". ")
	default:
		writeTitle()
		w.sep(". ")
		w.text("(" + year + "). ")
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			w.ital(j)
			if v := e.f("volume"); v != "" {
				w.text(", ")
				w.ital(v)
				if num := e.f("number"); num != "" {
					w.text("(" + num + ")")
				}
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + pg)
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("In ")
			if len(e.editors.names) > 0 {
				w.text(apaEditors(e.editors) + ", ")
			}
			w.ital(bt)
			if pg := e.pages(); pg != "" {
				w.text(" (" + pages(pg) + ")")
			}
			w.sep(". ")
		}
		if pub := e.publisher(); pub != "" {
			w.text(pub)
			w.sep(". ")
		}
	case "book", "report":
		if pub := e.publisher(); pub != "" {
			w.text(pub)
			w.sep(". ")
		}
	case "web", "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text(l)
	}
}

// mlaNames: "Smith, John", "Smith, John, and Jane Doe", "Smith, John, et al."
func mlaNames(n names) string {
	switch {
	case len(n.names) == 0:
		return ""
	case len(n.names) >= 3 || n.others:
		return n.names[0].inverted() + ", et al."
	case len(n.names) == 2:
		return n.names[0].inverted() + ", and " + n.names[1].natural()
	}
	return n.names[0].inverted()
}

func naturalList(n names, serial bool) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].natural()
	}
	s := joinList(items, "and", serial, false)
	if n.others {
		s += " et al."
	}
	return s
}

// noScheme drops http:// and https:// (MLA prints URLs without them).
func noScheme(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

func mla(w *writer, e *entry) {
	kind := kindOf(e.typ)
	if len(e.authors.names) > 0 {
		w.text(mlaNames(e.authors))
		w.sep(". ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(mlaNames(e.editors) + ", " + edLabel(e.editors, "editor", "editors"))
		w.sep(". ")
	}
	title := e.title()
	quotedTitle := kind == "article" || kind == "chapter" || kind == "paper" || kind == "web" && e.container() != ""
	if quotedTitle {
		w.quoted(title, ".", false)
		w.text(" ")
	} else {
		w.ital(title)
		w.sep(". ")
	}
	// The container and its elements, separated by commas.
	var elems []func()
	add := func(f func()) { elems = append(elems, f) }
	addText := func(s string) {
		if s != "" {
			add(func() { w.text(s) })
		}
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			add(func() { w.ital(j) })
		}
		if v := e.f("volume"); v != "" {
			addText("vol. " + v)
		}
		if num := e.f("number"); num != "" {
			addText("no. " + num)
		}
		addText(joinNonEmpty(" ", monthAbbrIf(e.f("month")), e.f("year")))
		if pg := e.pages(); pg != "" {
			addText(pages(pg))
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			add(func() { w.ital(bt) })
		}
		if len(e.editors.names) > 0 {
			addText("edited by " + naturalList(e.editors, true))
		}
		if ed := e.f("edition"); ed != "" {
			addText(ordinal(ed) + " ed.")
		}
		addText(e.publisher())
		addText(e.f("year"))
		if pg := e.pages(); pg != "" {
			addText(pages(pg))
		}
	case "book", "report", "misc":
		if ed := e.f("edition"); ed != "" {
			addText(ordinal(ed) + " ed.")
		}
		if kind == "misc" {
			addText(e.container())
		} else {
			addText(e.publisher())
		}
		addText(e.f("year"))
	case "thesis":
		addText(e.f("year"))
	case "web":
		if c := e.container(); c != "" {
			add(func() { w.ital(c) })
		}
		addText(joinNonEmpty(" ", monthAbbrIf(e.f("month")), e.f("year")))
	}
	if d := e.f("doi"); d != "" {
		addText("https://doi.org/" + bareDOI(d))
	} else if u := e.f("url"); u != "" {
		addText(noScheme(u))
	}
	for i, f := range elems {
		if i > 0 {
			w.sep(", ")
		}
		f()
	}
	if len(elems) > 0 {
		w.punct(".")
	}
	if kind == "thesis" {
		w.text(" " + joinNonEmpty(", ", e.f("school"), e.thesisKind(false)))
		w.punct(".")
	}
}

// chicagoNames: "Smith, John, Jane Doe, and Kim Lee"; more than ten:
// the first seven and et al.
func chicagoNames(n names) string {
	k := len(n.names)
	if k == 0 {
		return ""
	}
	items := []string{n.names[0].inverted()}
	limit := k
	if k > 10 {
		limit = 7
	}
	for i := 1; i < limit; i++ {
		items = append(items, n.names[i].natural())
	}
	if k > 10 || n.others {
		return strings.Join(items, ", ") + ", et al."
	}
	if len(items) == 2 {
		return items[0] + ", and " + items[1]
	}
	return joinList(items, "and", true, false)
}

func chicago(w *writer, e *entry) {
	kind := kindOf(e.typ)
	if len(e.authors.names) > 0 {
		w.text(chicagoNames(e.authors))
		w.sep(". ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(chicagoNames(e.editors) + ", " + edLabel(e.editors, "ed", "eds"))
		w.sep(". ")
	}
	title := e.title()
	if kind == "article" || kind == "chapter" || kind == "paper" || kind == "thesis" || kind == "web" {
		w.quoted(title, ".", false)
		w.text(" ")
	} else {
		w.ital(title)
		w.sep(". ")
	}
	place := func(pub string) {
		// "Address: Publisher, Year."
		addr := e.f("address")
		switch {
		case addr != "" && pub != "":
			w.text(addr + ": " + pub)
		default:
			w.text(addr + pub)
		}
		if y := e.f("year"); y != "" {
			if addr != "" || pub != "" {
				w.text(", ")
			}
			w.text(y)
		}
		w.sep(". ")
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			w.ital(j)
			if v := e.f("volume"); v != "" {
				w.text(" " + v)
			}
			if num := e.f("number"); num != "" {
				w.text(", no. " + num)
			}
			if y := e.f("year"); y != "" {
				w.text(" (" + joinNonEmpty(" ", monthIfAny(e.f("month")), y) + ")")
			}
			if pg := e.pages(); pg != "" {
				w.text(": " + pg)
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("In ")
			w.ital(bt)
			if len(e.editors.names) > 0 {
				w.text(", edited by " + naturalList(e.editors, true))
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + pg)
			}
			w.sep(". ")
		}
		place(e.publisher())
	case "book", "report":
		if ed := e.f("edition"); ed != "" {
			w.text(ordinal(ed) + " ed. ")
		}
		if num := e.f("number"); kind == "report" && num != "" {
			w.text("Report " + num + ". ")
		}
		place(e.publisher())
	case "thesis":
		deg := "PhD diss."
		if e.thesisKind(false) == "MA thesis" {
			deg = "Master’s thesis"
		}
		w.text(joinNonEmpty(", ", deg, e.f("school"), e.f("year")))
		w.sep(". ")
	case "web", "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
		if y := e.f("year"); y != "" {
			w.text(joinNonEmpty(" ", monthIfAny(e.f("month")), y))
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text(l)
		w.punct(".")
	}
}

func monthIfAny(s string) string {
	if s == "" {
		return ""
	}
	return monthName(s)
}

// harvardNames: "Smith, J.", "Smith, J. and Doe, A.", "Smith, J., Doe,
// A. and Lee, K."; four or more: "Smith, J. et al."
func harvardNames(n names) string {
	k := len(n.names)
	switch {
	case k == 0:
		return ""
	case k >= 4 || n.others:
		return n.names[0].initialsLast("") + " et al."
	}
	items := make([]string, k)
	for i := range n.names {
		items[i] = n.names[i].initialsLast("")
	}
	return joinList(items, "and", false, false)
}

func harvard(w *writer, e *entry) {
	kind := kindOf(e.typ)
	year := orDefault(e.f("year"), "no date")
	title := e.title()
	quotedTitle := kind == "article" || kind == "chapter" || kind == "paper"
	switch {
	case len(e.authors.names) > 0:
		w.text(harvardNames(e.authors) + " (" + year + ") ")
	case len(e.editors.names) > 0 && kind == "book":
		w.text(harvardNames(e.editors) + " (" + edLabel(e.editors, "ed.", "eds.") + ") (" + year + ") ")
	default:
		if quotedTitle {
			w.quoted(title, "", true)
		} else {
			w.ital(title)
		}
		w.text(" (" + year + ") ")
		title = ""
	}
	if title != "" {
		if quotedTitle {
			w.quoted(title, "", true)
			w.text(", ")
		} else {
			w.ital(title)
			w.sep(". ")
		}
	} else if quotedTitle {
		w.text(", ")
	}
	place := func(pub string) {
		addr := e.f("address")
		if addr != "" && pub != "" {
			w.text(addr + ": " + pub)
		} else {
			w.text(addr + pub)
		}
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			w.ital(j)
			if v := e.f("volume"); v != "" {
				w.text(", " + v)
				if num := e.f("number"); num != "" {
					w.text("(" + num + ")")
				}
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + pages(pg))
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("in ")
			if len(e.editors.names) > 0 {
				w.text(harvardNames(e.editors) + " (" + edLabel(e.editors, "ed.", "eds.") + ") ")
			}
			w.ital(bt)
			w.sep(". ")
		}
		if pub := e.publisher(); pub != "" || e.f("address") != "" {
			place(pub)
			if pg := e.pages(); pg != "" {
				w.text(", " + pages(pg))
			}
			w.sep(". ")
		} else if pg := e.pages(); pg != "" {
			w.text(pages(pg))
			w.sep(". ")
		}
	case "book", "report":
		if ed := e.f("edition"); ed != "" {
			w.text(ordinal(ed) + " edn. ")
		}
		if num := e.f("number"); kind == "report" && num != "" {
			w.text("Report " + num + ". ")
		}
		if pub := e.publisher(); pub != "" || e.f("address") != "" {
			place(pub)
			w.sep(". ")
		}
	case "thesis":
		deg := "PhD thesis. "
		if e.thesisKind(false) == "MA thesis" {
			deg = "MA thesis. "
		}
		w.text(deg)
		if s := e.f("school"); s != "" {
			w.text(s)
			w.sep(". ")
		}
	case "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text("Available at: " + l)
		if d := e.f("urldate"); d != "" && e.f("doi") == "" {
			w.text(" (Accessed: " + d + ")")
		}
		w.punct(".")
	}
}

// ieeeNames: "J. Smith, A. Doe, and K. Lee"; seven or more: "J. Smith et al."
func ieeeNames(n names) string {
	k := len(n.names)
	if k == 0 {
		return ""
	}
	if k >= 7 || n.others {
		return n.names[0].initialsFirst() + " et al."
	}
	items := make([]string, k)
	for i := range n.names {
		items[i] = n.names[i].initialsFirst()
	}
	return joinList(items, "and", true, false)
}

func ieee(w *writer, e *entry, num int) {
	kind := kindOf(e.typ)
	w.text(fmt.Sprintf("[%d] ", num))
	if len(e.authors.names) > 0 {
		w.text(ieeeNames(e.authors))
		w.sep(", ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(ieeeNames(e.editors) + ", " + edLabel(e.editors, "Ed.", "Eds."))
		w.sep(", ")
	}
	title := e.title()
	var elems []string
	date := joinNonEmpty(" ", monthAbbrIf(e.f("month")), e.f("year"))
	switch kind {
	case "book":
		w.ital(title)
		if ed := e.f("edition"); ed != "" {
			w.text(", " + ordinal(ed) + " ed")
		}
		w.sep(". ")
		pub := e.publisher()
		if a := e.f("address"); a != "" && pub != "" {
			w.text(a + ": " + pub)
		} else {
			w.text(a + pub)
		}
		if date != "" {
			if pub != "" || e.f("address") != "" {
				w.text(", ")
			}
			w.text(date)
		}
		w.punct(".")
	case "web":
		w.quoted(title, ".", false)
		if c := e.container(); c != "" {
			w.text(" " + c)
			w.punct(".")
		}
		if u := e.f("url"); u != "" {
			w.text(" [Online]. Available: " + u)
		}
		if d := e.f("urldate"); d != "" {
			w.text(" (accessed " + d + ")")
		}
		if w.tail != '.' && w.tail != ')' {
			w.punct(".")
		}
		return
	default:
		w.quoted(title, ",", false)
		w.text(" ")
		switch kind {
		case "article":
			elems = append(elems, "\x00"+e.f("journal"))
			if v := e.f("volume"); v != "" {
				elems = append(elems, "vol. "+v)
			}
			if n := e.f("number"); n != "" {
				elems = append(elems, "no. "+n)
			}
			if pg := e.pages(); pg != "" {
				elems = append(elems, pages(pg))
			}
			elems = append(elems, date)
		case "chapter", "paper":
			if bt := e.f("booktitle"); bt != "" {
				elems = append(elems, "in\x00"+bt)
			}
			if len(e.editors.names) > 0 && kind == "chapter" {
				elems = append(elems, ieeeNames(e.editors)+", "+edLabel(e.editors, "Ed.", "Eds."))
			}
			elems = append(elems, e.f("address"))
			if kind == "chapter" {
				elems = append(elems, e.publisher())
			}
			elems = append(elems, date)
			if pg := e.pages(); pg != "" {
				elems = append(elems, pages(pg))
			}
		case "thesis":
			deg := "Ph.D. dissertation"
			if e.thesisKind(false) == "MA thesis" {
				deg = "M.S. thesis"
			}
			elems = append(elems, deg, e.f("school"), e.f("address"), date)
		case "report":
			elems = append(elems, e.publisher(), e.f("address"))
			if n := e.f("number"); n != "" {
				elems = append(elems, "Tech. Rep. "+n)
			} else {
				elems = append(elems, "Tech. Rep.")
			}
			elems = append(elems, date)
		default:
			elems = append(elems, e.container(), date)
		}
	}
	first := true
	for _, el := range elems {
		if el == "" || el == "\x00" || el == "in\x00" {
			continue
		}
		if !first {
			w.sep(", ")
		}
		first = false
		if pre, it, ok := strings.Cut(el, "\x00"); ok {
			if pre != "" {
				w.text(pre + " ")
			}
			w.ital(it)
			continue
		}
		w.text(el)
	}
	if d := e.f("doi"); d != "" {
		if !first {
			w.sep(", ")
		}
		w.text("doi: " + bareDOI(d))
		first = false
	}
	if !first {
		w.punct(".")
	}
	if u := e.f("url"); u != "" && e.f("doi") == "" {
		w.text(" [Online]. Available: " + u)
	}
}

func monthAbbrIf(s string) string {
	if s == "" {
		return ""
	}
	return monthAbbr(s)
}
