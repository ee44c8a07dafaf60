package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestClusterPolicyFlags(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args []string
		want string // "" for valid
	}{
		"cluster policies alone are enough":                        {[]string{"--self-signed", "--cluster-policies", "--secret-namespaces", "signet-system"}, ""},
		"files and cluster policies together are fine":             {[]string{"--self-signed", "--policy", "p.yaml", "--cluster-policies"}, ""},
		"secret namespaces without cluster policies are a mistake": {[]string{"--self-signed", "--policy", "p.yaml", "--secret-namespaces", "x"}, "--cluster-policies"},
		"neither files nor cluster policies is refused":            {[]string{"--self-signed"}, "--cluster-policies"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var cfg config
			if err := newCommandForTest(&cfg).ParseFlags(c.args); err != nil {
				t.Fatal(err)
			}
			err := cfg.validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("validate() = %v, want valid", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("validate() = %v, want mention of %q", err, c.want)
			}
		})
	}
}

func TestAnUnreadableKubeconfigStopsTheServerNamingTheFlag(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	cfg := config{ClusterPolicies: true, Kubeconfig: missing, LogLevel: "info"}
	err := serve(context.Background(), &cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--kubeconfig") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("serve() = %v, want an error naming --kubeconfig and %s", err, missing)
	}
}
