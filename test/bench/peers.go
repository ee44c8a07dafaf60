package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/verify"
	"github.com/signet-dev/signet/test/bench/peer"
)

// peerResult is one way of verifying an image, measured on new images one after the other.
type peerResult struct {
	target, how string
	runs        int
	latency     []time.Duration // sorted
	registry    map[string]float64
}

// runPeers verifies new images, one at a time, with signet's own packages and the way signet's
// peers do: with the cosign library after a GET-based tag resolution (policy-controller), and with
// the `cosign verify` CLI process. The webhook's figures for the same kind of image are its cold
// and warm one-container rows.
func (b *bench) runPeers(ctx context.Context, t target, m *imageMaker) error {
	label := targetLabel(t)
	n := 2*b.s.peerLibRuns + b.s.peerCLIRuns
	b.logf("%s: pushing and signing %d images for the peers", label, n)
	imgs, err := m.push(ctx, "bench/peer/app", n, b.keys[:1])
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(t.CAFile())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	lib, err := peer.NewCosignLibrary(b.keys[0].pubPEM, tr)
	if err != nil {
		return err
	}

	measure := func(how string, imgs []image, verify func(image) error) error {
		before, err := t.Requests()
		if err != nil {
			return err
		}
		pr := &peerResult{target: label, how: how, runs: len(imgs)}
		for _, img := range imgs {
			start := time.Now()
			if err := verify(img); err != nil {
				return fmt.Errorf("%s, %s: %w", label, how, err)
			}
			pr.latency = append(pr.latency, time.Since(start))
		}
		after, err := t.Requests()
		if err != nil {
			return err
		}
		slices.Sort(pr.latency)
		pr.registry = minus(after, before)
		b.rep.peers = append(b.rep.peers, pr)
		b.logf("  %-10s %-40s p50 %-9s registry/image: %s", label, how, ms(percentile(pr.latency, .5)), perAdmission(pr.registry, pr.runs))
		return nil
	}

	// signet's own packages called directly, as cmd/webhook wires them: the same work as the cosign
	// library below, without the webhook's HTTP, JSON and TLS.
	reg, err := resolver.New(resolver.WithCABundle(caPEM))
	if err != nil {
		return err
	}
	defer reg.Close()
	v := verify.New(verify.WithRemoteOptions(reg.RemoteOptions))
	doc := fmt.Sprintf("apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: peer}\nspec:\n  images: [{glob: %q}]\n  authorities: [{key: {data: %q}}]\n",
		t.Host()+"/bench/**", b.keys[0].pubPEM)
	ps, err := policy.LoadBytes([]byte(doc), "peer.yaml", b.dir)
	if err != nil {
		return err
	}
	if err := measure("signet library (Resolve + Verify)", imgs[:b.s.peerLibRuns], func(img image) error {
		ref, err := name.NewTag(img.tag)
		if err != nil {
			return err
		}
		d, err := reg.Resolve(ctx, ref)
		if err != nil {
			return err
		}
		res, err := v.Verify(ctx, d, ps[0])
		if err == nil && res.Signatures != 1 {
			err = fmt.Errorf("%d signatures verified, want 1", res.Signatures)
		}
		return err
	}); err != nil {
		return err
	}

	if err := measure("cosign library (GET + VerifyImageSignatures)", imgs[b.s.peerLibRuns:2*b.s.peerLibRuns], func(img image) error {
		_, n, err := lib.Verify(ctx, img.tag)
		if err == nil && n != 1 {
			err = fmt.Errorf("%d signatures verified, want 1", n)
		}
		return err
	}); err != nil {
		return err
	}

	cosign := filepath.Join(b.o.toolsDir, "cosign")
	home := filepath.Join(b.dir, "cosign-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	return measure("cosign verify CLI process", imgs[2*b.s.peerLibRuns:], func(img image) error {
		// Offline key-based verification of a legacy signature, trusting the registry's CA.
		cmd := exec.CommandContext(ctx, cosign, "verify", "--key", b.keys[0].pubFile, "--insecure-ignore-tlog",
			"--new-bundle-format=false", "--registry-cacert", t.CAFile(), img.tag)
		cmd.Env = []string{"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, ".sigstore"), "DOCKER_CONFIG=" + filepath.Join(home, ".docker"), "PATH=" + os.Getenv("PATH")}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s (run `make tools`): %w\n%s", cmd, err, out.String())
		}
		return nil
	})
}
