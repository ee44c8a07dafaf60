package resolver

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/reason"
)

func TestPlainHTTPOnlyForListedRegistries(t *testing.T) {
	t.Parallel()
	plain := newTestRegistry(t, true)
	img := plain.pushImage(t, "app:v1")
	tlsReg := newTestRegistry(t, false)
	tlsReg.pushImage(t, "app:v1")

	t.Run("A plain-HTTP registry on 127.0.0.1 that is not listed is refused with a clear error.", func(t *testing.T) {
		r, err := New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		plain.arm(nil)
		_, err = r.Resolve(timeoutContext(t, 0), plain.ref(t, "app:v1"))
		checkReason(t, err, reason.TLSFailure,
			"plain HTTP to "+plain.host+" refused: add it to the insecure registries to allow it")
		if n := plain.count("GET", "ping") + plain.count("HEAD", "manifest"); n != 0 {
			t.Errorf("the registry saw %d plain-HTTP requests, want 0", n)
		}
		if s := r.Stats(); s.Requests["HEAD"] != 0 {
			t.Errorf("Stats counted %d HEADs, want 0", s.Requests["HEAD"])
		}
	})
	t.Run("A plain-HTTP registry listed as insecure is used over HTTP.", func(t *testing.T) {
		r, err := New(WithInsecureHosts(plain.host))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		plain.arm(nil)
		ref := plain.ref(t, "app:v1")
		got, err := r.Resolve(timeoutContext(t, 0), ref)
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if got.DigestStr() != mustDigest(t, img.Digest).String() || got.Context().Scheme() != "http" {
			t.Errorf("Resolve = %s (scheme %s), want digest %s over http", got, got.Context().Scheme(), mustDigest(t, img.Digest))
		}
		if h := plain.count("HEAD", "manifest"); h != 1 {
			t.Errorf("%d manifest HEADs, want 1", h)
		}
	})
	t.Run("A TLS registry whose CA is not trusted is a TLS failure that suggests a CA bundle.", func(t *testing.T) {
		r, err := New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		_, err = r.Resolve(timeoutContext(t, 0), tlsReg.ref(t, "app:v1"))
		checkReason(t, err, reason.TLSFailure, "TLS with registry "+tlsReg.host+" failed", "add that CA")
	})
	t.Run("RemoteOptions carry the guard, the CA and the counters to other registry calls.", func(t *testing.T) {
		r := newResolver(t, tlsReg)
		tlsReg.arm(nil)
		if _, err := remote.Get(r.Reference(tlsReg.ref(t, "app:v1")), r.RemoteOptions(t.Context())...); err != nil {
			t.Fatalf("remote.Get over TLS: %v", err)
		}
		if s := r.Stats(); s.Requests["GET"] < 2 {
			t.Errorf("Stats counted %d GETs, want the ping and the manifest", s.Requests["GET"])
		}
		_, err := remote.Get(r.Reference(plain.ref(t, "app:v1")), r.RemoteOptions(t.Context())...)
		checkReason(t, Classify(err, plain.ref(t, "app:v1").String(), false), reason.TLSFailure, "plain HTTP to "+plain.host+" refused")
	})
}

func TestRegistryThatIsDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close() // nothing listens there any more
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(timeoutContext(t, 0), ref)
	checkReason(t, err, reason.RegistryUnreachable, "cannot reach registry "+host, "connection refused")
}

func TestReference(t *testing.T) {
	t.Parallel()
	r, err := New(WithInsecureHosts("registry.internal:5000", "docker.io"))
	if err != nil {
		t.Fatal(err)
	}
	dig := "sha256:" + "ab12000000000000000000000000000000000000000000000000000000000000"
	tests := map[string]struct {
		in, want string
		scheme   string
	}{
		"A tag on a listed registry becomes insecure.":                {in: "registry.internal:5000/app:v1", want: "registry.internal:5000/app:v1", scheme: "http"},
		"A digest with a tag keeps both and the text as written.":     {in: "registry.internal:5000/app:v1@" + dig, want: "registry.internal:5000/app:v1@" + dig, scheme: "http"},
		"docker.io in the list covers images written without a host.": {in: "nginx", want: "nginx", scheme: "http"},
		"A registry that is not listed stays on HTTPS.":               {in: "registry.example:5000/app:v1", want: "registry.example:5000/app:v1", scheme: "https"},
		"An insecure reference to a registry that is not listed loses its flag.": {
			in: "insecure:registry.example:5000/app@" + dig, want: "registry.example:5000/app@" + dig, scheme: "https",
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			var in name.Reference
			var err error
			if rest, ok := strings.CutPrefix(tc.in, "insecure:"); ok {
				in, err = name.ParseReference(rest, name.Insecure)
			} else {
				in, err = name.ParseReference(tc.in)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := r.Reference(in)
			if got.String() != tc.want || got.Context().Scheme() != tc.scheme || got.Name() != in.Name() {
				t.Errorf("Reference(%s) = %s (%s, name %s), want %s (%s, name %s)",
					tc.in, got, got.Context().Scheme(), got.Name(), tc.want, tc.scheme, in.Name())
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]struct {
		header string
		want   time.Duration
		ok     bool
	}{
		"Seconds are a delay.":                {header: "7", want: 7 * time.Second, ok: true},
		"Zero means now.":                     {header: "0", want: 0, ok: true},
		"An HTTP date is a delay until then.": {header: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second, ok: true},
		"A date in the past means now.":       {header: now.Add(-time.Hour).Format(http.TimeFormat), want: 0, ok: true},
		"No header is no Retry-After.":        {header: "", ok: false},
		"Garbage is ignored.":                 {header: "soon", ok: false},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			got, ok := retryAfter(tc.header, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("retryAfter(%q) = %s, %t; want %s, %t", tc.header, got, ok, tc.want, tc.ok)
			}
		})
	}
}
