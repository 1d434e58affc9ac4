package citation

import (
	"fmt"
	"strings"
)

// The citation-formatter styles: APA 7, MLA 9, Chicago 17, Harvard and IEEE.

// citeAPANames: "Smith, J., Doe, A., & Lee, K."; 21 or more: the first
// 19, an ellipsis and the last.
func citeAPANames(n citeNames) string {
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
	return citeList(items, "&", true, false)
}

// citeAPAEditors: "A. Editor & B. Editor (Eds.)".
func citeAPAEditors(n citeNames) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].initialsFirst()
	}
	s := citeList(items, "&", true, false)
	if n.others {
		s += " et al."
	}
	return s + " " + citeEdLabel(n, "(Ed.)", "(Eds.)")
}

func citeAPA(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	year := citeOr(e.f("year"), "n.d.")
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
				w.text(" (" + citeOrdinal(ed) + " ed.)")
			}
		case "thesis":
			w.text(" [" + citeJoinNonEmpty(", ", e.thesisKind(true), e.f("school")) + "]")
		case "report":
			if num := e.f("number"); num != "" {
				w.text(" (Report No. " + num + ")")
			}
		}
	}
	switch {
	case len(e.authors.names) > 0:
		w.text(citeAPANames(e.authors))
		w.sep(". ")
		w.text("(" + year + "). ")
		writeTitle()
		w.sep(". ")
	case len(e.editors.names) > 0 && (kind == "book" || kind == "misc"):
		w.text(citeAPANames(e.editors) + " " + citeEdLabel(e.editors, "(Ed.)", "(Eds.)") + ". ")
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
				w.text(citeAPAEditors(e.editors) + ", ")
			}
			w.ital(bt)
			if pg := e.pages(); pg != "" {
				w.text(" (" + citePages(pg) + ")")
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

// citeMLANames: "Smith, John", "Smith, John, and Jane Doe", "Smith, John, et al."
func citeMLANames(n citeNames) string {
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

func citeNaturalList(n citeNames, serial bool) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].natural()
	}
	s := citeList(items, "and", serial, false)
	if n.others {
		s += " et al."
	}
	return s
}

// citeNoScheme drops http:// and https:// (MLA prints URLs without them).
func citeNoScheme(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

func citeMLA(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	if len(e.authors.names) > 0 {
		w.text(citeMLANames(e.authors))
		w.sep(". ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(citeMLANames(e.editors) + ", " + citeEdLabel(e.editors, "editor", "editors"))
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
		addText(citeJoinNonEmpty(" ", citeMonthAbbrIf(e.f("month")), e.f("year")))
		if pg := e.pages(); pg != "" {
			addText(citePages(pg))
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			add(func() { w.ital(bt) })
		}
		if len(e.editors.names) > 0 {
			addText("edited by " + citeNaturalList(e.editors, true))
		}
		if ed := e.f("edition"); ed != "" {
			addText(citeOrdinal(ed) + " ed.")
		}
		addText(e.publisher())
		addText(e.f("year"))
		if pg := e.pages(); pg != "" {
			addText(citePages(pg))
		}
	case "book", "report", "misc":
		if ed := e.f("edition"); ed != "" {
			addText(citeOrdinal(ed) + " ed.")
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
		addText(citeJoinNonEmpty(" ", citeMonthAbbrIf(e.f("month")), e.f("year")))
	}
	if d := e.f("doi"); d != "" {
		addText("https://doi.org/" + citeBareDOI(d))
	} else if u := e.f("url"); u != "" {
		addText(citeNoScheme(u))
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
		w.text(" " + citeJoinNonEmpty(", ", e.f("school"), e.thesisKind(false)))
		w.punct(".")
	}
}

// citeChicagoNames: "Smith, John, Jane Doe, and Kim Lee"; more than ten:
// the first seven and et al.
func citeChicagoNames(n citeNames) string {
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
	return citeList(items, "and", true, false)
}

func citeChicago(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	if len(e.authors.names) > 0 {
		w.text(citeChicagoNames(e.authors))
		w.sep(". ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(citeChicagoNames(e.editors) + ", " + citeEdLabel(e.editors, "ed", "eds"))
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
				w.text(" (" + citeJoinNonEmpty(" ", citeMonthIfAny(e.f("month")), y) + ")")
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
				w.text(", edited by " + citeNaturalList(e.editors, true))
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + pg)
			}
			w.sep(". ")
		}
		place(e.publisher())
	case "book", "report":
		if ed := e.f("edition"); ed != "" {
			w.text(citeOrdinal(ed) + " ed. ")
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
		w.text(citeJoinNonEmpty(", ", deg, e.f("school"), e.f("year")))
		w.sep(". ")
	case "web", "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
		if y := e.f("year"); y != "" {
			w.text(citeJoinNonEmpty(" ", citeMonthIfAny(e.f("month")), y))
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text(l)
		w.punct(".")
	}
}

func citeMonthIfAny(s string) string {
	if s == "" {
		return ""
	}
	return citeMonth(s)
}

// citeHarvardNames: "Smith, J.", "Smith, J. and Doe, A.", "Smith, J., Doe,
// A. and Lee, K."; four or more: "Smith, J. et al."
func citeHarvardNames(n citeNames) string {
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
	return citeList(items, "and", false, false)
}

func citeHarvard(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	year := citeOr(e.f("year"), "no date")
	title := e.title()
	quotedTitle := kind == "article" || kind == "chapter" || kind == "paper"
	switch {
	case len(e.authors.names) > 0:
		w.text(citeHarvardNames(e.authors) + " (" + year + ") ")
	case len(e.editors.names) > 0 && kind == "book":
		w.text(citeHarvardNames(e.editors) + " (" + citeEdLabel(e.editors, "ed.", "eds.") + ") (" + year + ") ")
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
				w.text(", " + citePages(pg))
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("in ")
			if len(e.editors.names) > 0 {
				w.text(citeHarvardNames(e.editors) + " (" + citeEdLabel(e.editors, "ed.", "eds.") + ") ")
			}
			w.ital(bt)
			w.sep(". ")
		}
		if pub := e.publisher(); pub != "" || e.f("address") != "" {
			place(pub)
			if pg := e.pages(); pg != "" {
				w.text(", " + citePages(pg))
			}
			w.sep(". ")
		} else if pg := e.pages(); pg != "" {
			w.text(citePages(pg))
			w.sep(". ")
		}
	case "book", "report":
		if ed := e.f("edition"); ed != "" {
			w.text(citeOrdinal(ed) + " edn. ")
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

// citeIEEENames: "J. Smith, A. Doe, and K. Lee"; seven or more: "J. Smith et al."
func citeIEEENames(n citeNames) string {
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
	return citeList(items, "and", true, false)
}

func citeIEEE(w *citeW, e *citeEntry, num int) {
	kind := citeKind(e.typ)
	w.text(fmt.Sprintf("[%d] ", num))
	if len(e.authors.names) > 0 {
		w.text(citeIEEENames(e.authors))
		w.sep(", ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(citeIEEENames(e.editors) + ", " + citeEdLabel(e.editors, "Ed.", "Eds."))
		w.sep(", ")
	}
	title := e.title()
	var elems []string
	date := citeJoinNonEmpty(" ", citeMonthAbbrIf(e.f("month")), e.f("year"))
	switch kind {
	case "book":
		w.ital(title)
		if ed := e.f("edition"); ed != "" {
			w.text(", " + citeOrdinal(ed) + " ed")
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
				elems = append(elems, citePages(pg))
			}
			elems = append(elems, date)
		case "chapter", "paper":
			if bt := e.f("booktitle"); bt != "" {
				elems = append(elems, "in\x00"+bt)
			}
			if len(e.editors.names) > 0 && kind == "chapter" {
				elems = append(elems, citeIEEENames(e.editors)+", "+citeEdLabel(e.editors, "Ed.", "Eds."))
			}
			elems = append(elems, e.f("address"))
			if kind == "chapter" {
				elems = append(elems, e.publisher())
			}
			elems = append(elems, date)
			if pg := e.pages(); pg != "" {
				elems = append(elems, citePages(pg))
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
		w.text("doi: " + citeBareDOI(d))
		first = false
	}
	if !first {
		w.punct(".")
	}
	if u := e.f("url"); u != "" && e.f("doi") == "" {
		w.text(" [Online]. Available: " + u)
	}
}

func citeMonthAbbrIf(s string) string {
	if s == "" {
		return ""
	}
	return citeMonthAbbr(s)
}
