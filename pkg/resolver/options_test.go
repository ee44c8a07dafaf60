package resolver

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificate here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		opts []Option
		text string
	}{
		"A CA bundle without a certificate is refused.":      {opts: []Option{WithCABundle([]byte("nothing"))}, text: "holds no PEM certificate"},
		"A CA bundle file without a certificate is named.":   {opts: []Option{WithCABundleFile(empty)}, text: empty},
		"A missing CA bundle file is named.":                 {opts: []Option{WithCABundleFile(filepath.Join(dir, "nope.pem"))}, text: "nope.pem"},
		"An insecure registry given as a URL is refused.":    {opts: []Option{WithInsecureHosts("http://registry.example")}, text: "without scheme or path"},
		"A transport and a CA bundle cannot be combined.":    {opts: []Option{WithTransport(http.DefaultTransport), WithCABundle(testCA(t))}, text: "cannot be combined"},
		"A docker config and a keychain cannot be combined.": {opts: []Option{WithDockerConfig("config.json"), WithKeychain(authn.DefaultKeychain)}, text: "cannot be combined"},
		"A cache of no entries is refused.":                  {opts: []Option{WithCacheSize(0)}, text: "not a positive size"},
		"Zero concurrency is refused.":                       {opts: []Option{WithMaxConcurrencyPerHost(0)}, text: "not a positive limit"},
		"Zero attempts are refused.":                         {opts: []Option{WithRetries(0)}, text: "at least 1"},
		"A negative TTL is refused.":                         {opts: []Option{WithTagTTL(-1)}, text: "negative TTL"},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("New error = %v, want one containing %q", err, tc.text)
			}
		})
	}
}

// testCA returns a PEM certificate from a throwaway TLS registry.
func testCA(t *testing.T) []byte {
	t.Helper()
	return newTestRegistry(t, false).caPEM()
}
