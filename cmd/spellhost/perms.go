package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"spellhost/tools"
	"spellhost/tools/builtin"
	"spellhost/tools/perm"
)

// permFlags are the permission and limit flags shared by run and tools invoke.
type permFlags struct {
	read, write, net, run, env  []string
	all                         bool
	maxFile, maxResp, maxOutput string
	searchEndpoint              string
}

func (p *permFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&p.read, "allow-read", nil, "folders or files tools may read, as --allow-read=DIR,FILE; exactly these (list the script's folder to keep it readable); bare --allow-read allows all (default: the base folder: the script's for run, the current one for tools invoke)")
	fs.StringSliceVar(&p.write, "allow-write", nil, "folders tools may write; bare --allow-write allows all (default: a scratch folder removed at exit)")
	fs.StringSliceVar(&p.net, "allow-net", nil, "hosts tools may reach, exactly: host, host:port, IP, IP:port or CIDR (loopback only if listed); a name not listed is refused without a DNS lookup; bare --allow-net allows all (default: loopback only)")
	fs.StringSliceVar(&p.run, "allow-run", nil, "programs process_executor may run, by name or path; spellhost cannot confine what an allowed program does (default: none)")
	fs.StringSliceVar(&p.env, "allow-env", nil, "environment variables scripts may read and pass to the programs they run; PREFIX_* matches a prefix (default: none)")
	fs.BoolVarP(&p.all, "allow-all", "A", false, "allow everything above")
	fs.StringVar(&p.maxFile, "max-file-size", humanize.IBytes(perm.DefaultMaxFileBytes), "largest file a tool may read or write")
	fs.StringVar(&p.maxResp, "max-response-size", humanize.IBytes(perm.DefaultMaxResponseBytes), "largest HTTP response body a tool may read")
	fs.StringVar(&p.maxOutput, "max-process-output", humanize.IBytes(perm.DefaultMaxOutputBytes), "largest stdout or stderr process_executor keeps")
	fs.StringVar(&p.searchEndpoint, "search-endpoint", "", "web_search backend, a SearXNG-style JSON endpoint (env SPELLHOST_SEARCH_ENDPOINT)")
	for _, name := range []string{"allow-read", "allow-write"} {
		fs.Lookup(name).NoOptDefVal = "/"
	}
	for _, name := range []string{"allow-net", "allow-run", "allow-env"} {
		fs.Lookup(name).NoOptDefVal = "*"
	}
}

// session is what a command needs to build a kernel: the tool config and a
// cleanup for the scratch folder.
type session struct {
	cfg     builtin.Config
	scratch string
}

// registry builds the built-in tools over the session's permissions; a
// run calls it once for its kernel.
func (s *session) registry() (*tools.Registry, error) { return builtin.NewRegistry(s.cfg) }

func (s *session) close() {
	if s.cfg.Perm != nil {
		s.cfg.Perm.Close()
	}
	if s.scratch != "" {
		os.RemoveAll(s.scratch)
	}
}

// build resolves the flags. base is the folder that relative paths resolve
// against; it is readable when --allow-read is not given. A list given
// with --allow-read is exact: base is readable then only if listed
// (require still loads the script's own modules: they are its code, not
// data tools read).
func (p *permFlags) build(gs *globalState, base string) (*session, error) {
	var lim perm.Limits
	for _, f := range []struct {
		name, val string
		dst       *int64
	}{
		{"--max-file-size", p.maxFile, &lim.MaxFileBytes},
		{"--max-response-size", p.maxResp, &lim.MaxResponseBytes},
		{"--max-process-output", p.maxOutput, &lim.MaxOutputBytes},
	} {
		n, err := humanize.ParseBytes(f.val)
		if err != nil || n == 0 || n > 1<<40 {
			return nil, usageErr("%s=%s: want a size such as 64MiB or 500KB", f.name, f.val)
		}
		*f.dst = int64(n)
	}
	// Relative folders in the flags mean what the shell means: relative to
	// the current directory. (Relative paths given to tools resolve
	// against the script's folder.)
	wd, err := gs.getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	abs := func(list []string) []string {
		out := make([]string, len(list))
		for i, d := range list {
			if d != "" && !filepath.IsAbs(d) {
				d = filepath.Join(wd, d)
			}
			out[i] = d
		}
		return out
	}
	p.read, p.write = abs(p.read), abs(p.write)
	scratch, err := os.MkdirTemp("", "spellhost-scratch-")
	if err != nil {
		return nil, fmt.Errorf("scratch folder: %w", err)
	}
	s := &session{scratch: scratch}
	read := p.read
	if len(read) == 0 {
		read = []string{base}
	}
	set, err := perm.New(perm.Config{
		Base:     base,
		Read:     read,
		Write:    append([]string{scratch}, p.write...),
		Net:      p.net,
		Run:      p.run,
		Env:      p.env,
		All:      p.all,
		Limits:   lim,
		Resolver: gs.resolver,
	})
	if err != nil {
		s.close()
		return nil, usageErr("%v", err)
	}
	endpoint := p.searchEndpoint
	if endpoint == "" {
		endpoint, _ = gs.lookupEnv("SPELLHOST_SEARCH_ENDPOINT")
	}
	s.cfg = builtin.Config{Perm: set, SearchEndpoint: endpoint}
	return s, nil
}
