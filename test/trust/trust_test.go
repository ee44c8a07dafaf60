package trust

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

func TestContainersPerObjectAreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	signed, d := w.push(t, "apps/signed:v1")
	w.sign(t, d, w.key)
	many := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s/apps/img-%d:v1", w.host, i))
		}
		return out
	}
	tests := map[string]struct {
		max      int
		images   []string
		allowed  bool
		text     string
		requests bool // whether the registry may be asked at all
	}{
		"An object with more distinct images than the bound is refused before any registry request.": {
			max: 3, images: many(4), text: "the object has 4 distinct images; signet judges at most 3",
		},
		"The default bound is 256 distinct images.": {
			images: many(257), text: "the object has 257 distinct images; signet judges at most 256",
		},
		"Repeated images count once, so an object at the bound is judged.": {
			max: 1, images: []string{signed, signed, signed, signed}, allowed: true, requests: true,
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			r, reg := w.reviewer(t, w.policies(t, policy.FailClosed))
			r.MaxImages = tc.max
			resp := r.Review(context.Background(), admission.Validate, podRequest(podWith(tc.images...)))
			if resp.Allowed != tc.allowed || !strings.Contains(text(resp), tc.text) {
				t.Fatalf("allowed = %t (want %t), answer %q (want it to hold %q)", resp.Allowed, tc.allowed, text(resp), tc.text)
			}
			if n := reg.Stats().Requests["HEAD"] + reg.Stats().Requests["GET"]; !tc.requests && n > 0 {
				t.Errorf("%d registry requests for an object refused by its size", n)
			}
		})
	}
}

func TestSignaturesPerImageAreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	image, d := w.push(t, "apps/flooded:v1")
	// The trusted signature comes first; four signatures by other keys are appended after it
	// (one key each: cosign does not append a second signature by the same key).
	w.sign(t, d, w.key)
	for range 4 {
		other, _ := newKey(t)
		w.sign(t, d, other)
	}
	tests := map[string]struct {
		max     int
		allowed bool
		text    string
	}{
		"Only the newest signatures up to the bound are examined.": {
			max: 3, text: "signatures present but none verify with the policy's keys: examined 3 signatures",
		},
		"A bound above the signatures present finds the trusted one.": {max: 5, allowed: true},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			r, _ := w.reviewer(t, w.policies(t, policy.FailClosed), verify.WithMaxSignatures(tc.max))
			resp := r.Review(context.Background(), admission.Validate, podRequest(podWith(image)))
			if resp.Allowed != tc.allowed || !strings.Contains(text(resp), tc.text) {
				t.Fatalf("allowed = %t (want %t), answer %q (want it to hold %q)", resp.Allowed, tc.allowed, text(resp), tc.text)
			}
		})
	}
}

// brokenResolver wraps the real one and fails in ways nothing real fails on demand: an error
// signet classified as its own bug, an error nobody classified, or a panic.
type brokenResolver struct {
	next admission.Resolver
	how  string
}

func (b brokenResolver) Resolve(ctx context.Context, ref name.Reference, a admission.PullAuth) (name.Digest, error) {
	switch b.how {
	case "internal":
		return name.Digest{}, reason.New(reason.Internal, ref.String(), errors.New("injected bug"))
	case "unclassified":
		return name.Digest{}, errors.New("an error nobody classified")
	case "panic":
		panic("injected bug")
	}
	return b.next.Resolve(ctx, ref, a)
}

func TestAFailOpenPolicyAllowsOnlyRegistryErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	image, d := w.push(t, "apps/app:v1")
	w.sign(t, d, w.key)
	// A port nothing listens on: a real registry that cannot be reached.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := l.Addr().String()
	l.Close()
	tests := map[string]struct {
		how     string
		image   string
		allowed bool
		text    string
	}{
		"An unreachable registry is allowed with a warning.": {
			image: gone + "/apps/app:v1", allowed: true, text: "registry unreachable",
		},
		"An internal error denies.":                          {how: "internal", image: image, text: "internal error"},
		"An error nobody classified is internal and denies.": {how: "unclassified", image: image, text: "an error nobody classified"},
		"A panic while judging is internal and denies.":      {how: "panic", image: image, text: "internal error"},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			r, _ := w.reviewer(t, w.policies(t, policy.FailOpen))
			r.Resolver = brokenResolver{next: r.Resolver, how: tc.how}
			resp := r.Review(context.Background(), admission.Validate, podRequest(podWith(tc.image)))
			if resp.Allowed != tc.allowed || !strings.Contains(text(resp), tc.text) {
				t.Fatalf("allowed = %t (want %t), answer %q (want it to hold %q)", resp.Allowed, tc.allowed, text(resp), tc.text)
			}
			if tc.allowed && !strings.Contains(text(resp), "allowed: the policy fails open on registry errors") {
				t.Errorf("the allow does not say it failed open: %q", text(resp))
			}
		})
	}
}

func TestOnlyRegistryReasonsMayFailOpen(t *testing.T) {
	t.Parallel()
	registry := map[reason.Code]bool{
		reason.RegistryUnreachable: true, reason.TimedOut: true, reason.AuthFailed: true,
		reason.RateLimited: true, reason.TLSFailure: true,
	}
	for _, c := range []reason.Code{
		reason.InvalidReference, reason.TagNotFound, reason.ManifestUnknown, reason.NoSignatures,
		reason.NoMatchingSignatures, reason.ThresholdNotMet, reason.AnnotationMismatch,
		reason.RegistryUnreachable, reason.TimedOut, reason.AuthFailed, reason.RateLimited,
		reason.TLSFailure, reason.PolicyError, reason.Unmatched, reason.Internal,
	} {
		if c.IsRegistry() != registry[c] {
			t.Errorf("%q.IsRegistry() = %t, want %t", c, c.IsRegistry(), registry[c])
		}
	}
	if reason.Of(errors.New("unclassified")) != reason.Internal {
		t.Error("an unclassified error is not Internal")
	}
}

func TestSubmitterMetadataIsNoProof(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	unsigned, d := w.push(t, "apps/unsigned:v1")
	signedTag, sd := w.push(t, "apps/signed:v1")
	w.sign(t, sd, w.key)
	claims := fmt.Sprintf(`"labels":{"signet.dev/verified":"true","verified":"true"},`+
		`"annotations":{"signet.dev/verified":"true","signet.dev/digest":%q,"cosign.sigstore.dev/signature":"MEUCIQ==","policy.signet.dev/exempt":"true"},`+
		`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"trusted","uid":"1","controller":true}]`, sd.DigestStr())
	pod := func(image string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps",%s},"spec":{"containers":[{"name":"c","image":%q}]}}`, claims, image)
	}
	tests := map[string]struct {
		image string
		text  string
	}{
		"An unsigned tag claiming to be verified is denied.":                  {unsigned, "no signatures"},
		"An unsigned digest claiming a signed image's digest is denied.":      {d.String(), "no signatures"},
		"A signed image's tag pinned to a digest it does not hold is denied.": {signedTag + "@" + d.DigestStr(), "manifest unknown"},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			r, _ := w.reviewer(t, w.policies(t, policy.FailClosed))
			resp := r.Review(context.Background(), admission.Validate, podRequest(pod(tc.image)))
			if resp.Allowed || !strings.Contains(text(resp), tc.text) {
				t.Fatalf("allowed = %t, answer %q; want a denial saying %q", resp.Allowed, text(resp), tc.text)
			}
		})
	}
	// The same claims on a signed image change nothing either.
	r, _ := w.reviewer(t, w.policies(t, policy.FailClosed))
	if resp := r.Review(context.Background(), admission.Validate, podRequest(pod(signedTag))); !resp.Allowed {
		t.Fatalf("the signed image with the same metadata is denied: %s", text(resp))
	}
}
