package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/publisher"
)

// phase is what the flapping registry does at a moment.
type phase string

const (
	healthy     phase = "healthy"
	unavailable phase = "503"
	stalled     phase = "stalled"
)

// schedule is one flap cycle: healthy, then 503 to everything, healthy again, then every request
// held until the client gives up. It repeats for the whole run.
var schedule = []struct {
	phase phase
	for_  time.Duration
}{
	{healthy, 12 * time.Second},
	{unavailable, 4 * time.Second},
	{healthy, 10 * time.Second},
	{stalled, 4 * time.Second},
}

func cycleLength() time.Duration {
	var d time.Duration
	for _, s := range schedule {
		d += s.for_
	}
	return d
}

// phaseAt is the registry's phase at t.
func phaseAt(start, t time.Time) phase {
	off := t.Sub(start) % cycleLength()
	for _, s := range schedule {
		if off < s.for_ {
			return s.phase
		}
		off -= s.for_
	}
	return healthy
}

// flapping is go-containerregistry's in-process registry over TLS behind the schedule. Until
// started (images are pushed first) it is healthy.
type flapping struct {
	srv     *httptest.Server
	host    string
	caFile  string
	start   atomic.Pointer[time.Time]
	counts  [3]atomic.Int64 // requests seen per phase
	pushOpt remote.Option
}

func newFlapping(dir string) (*flapping, error) {
	f := &flapping{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := healthy
		if s := f.start.Load(); s != nil {
			p = phaseAt(*s, time.Now())
		}
		switch p {
		case unavailable:
			f.counts[1].Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case stalled:
			f.counts[2].Add(1)
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		}
		f.counts[0].Add(1)
		reg.ServeHTTP(w, r)
	}))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	f.host = f.srv.Listener.Addr().String()
	f.caFile = filepath.Join(dir, "registry-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.caFile, ca, 0o644); err != nil {
		return nil, err
	}
	f.pushOpt = remote.WithTransport(f.srv.Client().Transport)
	return f, nil
}

func (f *flapping) begin(t time.Time) { f.start.Store(&t) }

// newKey returns a signing key and its public half in PEM.
func newKey() (*ecdsa.PrivateKey, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, "", err
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// push pushes a random image to repoTag and signs it with priv when priv is not nil.
func (f *flapping) push(ctx context.Context, repoTag string, priv *ecdsa.PrivateKey) (string, error) {
	img, err := random.Image(1024, 1)
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(f.host + "/" + repoTag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img, f.pushOpt); err != nil {
		return "", fmt.Errorf("pushing %s: %w", tag, err)
	}
	if priv != nil {
		h, err := img.Digest()
		if err != nil {
			return "", err
		}
		if err := publisher.SignWithKey(ctx, tag.Context().Digest(h.String()), priv, nil, f.pushOpt); err != nil {
			return "", fmt.Errorf("signing %s: %w", tag, err)
		}
	}
	return tag.String(), nil
}
