package perm_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"spellhost/tools/perm"
)

func TestChildEnv(t *testing.T) {
	t.Setenv("APP_HOST", "inherited")
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Env: []string{"APP_*", "HOME"}})
	must(t, err)
	path := "PATH=" + os.Getenv("PATH")
	cases := []struct {
		vars    map[string]string
		want    []string
		refused string
	}{
		{nil, []string{path}, ""},
		{map[string]string{"APP_B": "2", "APP_A": "1", "HOME": "/h"}, []string{path, "APP_A=1", "APP_B=2", "HOME=/h"}, ""},
		{map[string]string{"APP_A": "1", "BASH_ENV": "/x"}, nil, "BASH_ENV"},
		{map[string]string{"LD_PRELOAD": "/x.so"}, nil, "LD_PRELOAD"},
		{map[string]string{"PATH": "/evil"}, nil, "PATH"},
		{map[string]string{"GIT_EXTERNAL_DIFF": "/x", "APPX": "1"}, nil, "APPX"}, // sorted: APPX comes first
	}
	for _, c := range cases {
		got, err := p.ChildEnv(c.vars)
		if c.refused != "" {
			if !isDenied(err) || !strings.Contains(err.Error(), "--allow-env="+c.refused) {
				t.Errorf("ChildEnv(%v) = %v, %v; want refused naming --allow-env=%s", c.vars, got, err, c.refused)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ChildEnv(%v) = %q, %v; want %q", c.vars, got, err, c.want)
		}
	}
	withPath, err := perm.New(perm.Config{Base: dir, Env: []string{"PATH"}})
	must(t, err)
	if got, err := withPath.ChildEnv(map[string]string{"PATH": "/bin"}); err != nil || !slices.Equal(got, []string{"PATH=/bin"}) {
		t.Errorf("allowed PATH: %q, %v", got, err)
	}
	all, err := perm.New(perm.Config{Base: dir, All: true})
	must(t, err)
	if got, err := all.ChildEnv(map[string]string{"LD_PRELOAD": "x"}); err != nil || !slices.Equal(got, []string{path, "LD_PRELOAD=x"}) {
		t.Errorf("--allow-all: %q, %v", got, err)
	}
}
