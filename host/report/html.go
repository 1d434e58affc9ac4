package report

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io"

	"spellhost/host/result"
)

// The page's assets: the template, its script and style, and uPlot
// (github.com/leeoniya/uPlot, MIT, its licence in assets/uPlot.LICENSE),
// all embedded so a report is one file that opens without a network.
//
//go:embed assets/report.tmpl assets/report.js assets/report.css assets/uPlot.iife.min.js assets/uPlot.min.css assets/uPlot.LICENSE
var assets embed.FS

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("report: missing embedded asset " + name)
	}
	return string(b)
}

var (
	pageTmpl = template.Must(template.New("report.tmpl").ParseFS(assets, "assets/report.tmpl"))
	// Assets is the page's shared script and styles (the compare report
	// uses them too).
	Assets = PageAssets{
		UPlotJS:  template.JS("/*\n" + asset("uPlot.LICENSE") + "*/\n" + asset("uPlot.iife.min.js")),
		UPlotCSS: template.CSS(asset("uPlot.min.css")),
		JS:       template.JS(asset("report.js")),
		CSS:      template.CSS(asset("report.css")),
	}
)

// PageAssets are the script and styles every spellhost page embeds.
type PageAssets struct {
	UPlotJS, JS   template.JS
	UPlotCSS, CSS template.CSS
}

// page is what report.tmpl renders.
type page struct {
	PageAssets
	M    *Model
	Live bool
	Data template.JS
}

// PageData is the JSON the page script reads from #report-data: the charts
// and whether to follow a live run.
type PageData struct {
	Live   bool    `json:"live"`
	Charts []Chart `json:"charts"`
}

// ScriptJSON marshals v for a <script type="application/json"> element:
// encoding/json escapes <, > and & (and U+2028, U+2029), so no value can
// close the element.
func ScriptJSON(v any) (template.JS, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return template.JS(b), nil
}

// WriteHTML writes the run's HTML report: one self-contained file with the
// charts and every table of the Markdown report.
func WriteHTML(w io.Writer, r *result.Run) error {
	return writePage(w, NewModel(r), false)
}

func writePage(w io.Writer, m *Model, live bool) error {
	charts := m.Charts
	if charts == nil {
		charts = []Chart{}
	}
	data, err := ScriptJSON(PageData{Live: live, Charts: charts})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, page{PageAssets: Assets, M: m, Live: live, Data: data}); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// fragment renders one of the page's blocks ("cards" or "tables"), escaped
// for insertion into the live page.
func fragment(name string, m *Model) (string, error) {
	var b bytes.Buffer
	err := pageTmpl.ExecuteTemplate(&b, name, m)
	return b.String(), err
}
