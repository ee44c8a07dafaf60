// Command vulngate reads `govulncheck -format json` on standard input and fails when the code calls
// a vulnerable function of a module: those are fixed by upgrading the module in go.mod. Findings in
// the Go standard library are fixed only by a newer Go toolchain; they are listed as warnings (or
// fail too with -stdlib=fail), so that `make test` keeps passing on the toolchain the project is
// pinned to while still saying which Go release fixes them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// accepted is a list of vulnerability IDs, each with the reason it is accepted.
type accepted map[string]string

func (a accepted) String() string { return fmt.Sprint(map[string]string(a)) }

func (a accepted) Set(v string) error {
	id, why, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(why) == "" {
		return fmt.Errorf("%q: give ID=REASON", v)
	}
	a[strings.TrimSpace(id)] = strings.TrimSpace(why)
	return nil
}

// message is the part of govulncheck's JSON stream read here.
type message struct {
	Config *struct {
		ScannerVersion string `json:"scanner_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
			Receiver string `json:"receiver"`
		} `json:"trace"`
	} `json:"finding"`
}

type called struct {
	id, module, version, fixed, symbol string
}

func main() {
	stdlib := flag.String("stdlib", "warn", "what a called standard library vulnerability does: warn or fail")
	accept := accepted{}
	flag.Var(accept, "accept", "ID=REASON: a vulnerability in a module that is accepted, with why (repeatable)")
	flag.Parse()
	if *stdlib != "warn" && *stdlib != "fail" {
		fmt.Fprintf(os.Stderr, "vulngate: -stdlib=%q: use warn or fail\n", *stdlib)
		os.Exit(2)
	}
	summaries := map[string]string{}
	configured := false
	found := map[string]called{} // by OSV ID and module
	dec := json.NewDecoder(os.Stdin)
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "vulngate: reading govulncheck's JSON output: %v\n", err)
			os.Exit(2)
		}
		if m.Config != nil {
			configured = true
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		// Only findings whose innermost frame names a function are calls from our code.
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			t := f.Trace[0]
			sym := t.Package + "." + t.Function
			if t.Receiver != "" {
				sym = t.Package + "." + strings.TrimPrefix(t.Receiver, "*") + "." + t.Function
			}
			found[f.OSV+" "+t.Module] = called{f.OSV, t.Module, t.Version, f.FixedVersion, sym}
		}
	}
	if !configured {
		fmt.Fprintln(os.Stderr, "vulngate: no govulncheck output on standard input; did govulncheck fail?")
		os.Exit(2)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range found {
			if !yield(k) {
				return
			}
		}
	})
	failed, inStdlib := 0, 0
	for _, k := range keys {
		c := found[k]
		fix := "no fixed version yet"
		if c.fixed != "" {
			fix = "fixed in " + c.fixed
		}
		level := "FAIL"
		what := "upgrade " + c.module
		if c.module == "stdlib" {
			inStdlib++
			what = "build with a Go toolchain that has the fix"
			if *stdlib == "warn" {
				level = "warn"
			}
		}
		if why, ok := accept[c.id]; ok && c.module != "stdlib" {
			level, what = "accepted", why
		}
		if level == "FAIL" {
			failed++
		}
		fmt.Printf("%s %s %s@%s (%s; %s), e.g. %s: %s\n", level, c.id, c.module, c.version, fix, what, c.symbol, summaries[c.id])
	}
	if failed > 0 {
		fmt.Printf("vulngate: %d vulnerabilities in modules signet calls; upgrade them in go.mod\n", failed)
		os.Exit(1)
	}
	fmt.Printf("vulngate: no called vulnerability in a module (%d in the standard library)\n", inStdlib)
}
