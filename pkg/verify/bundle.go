package verify

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// bundleCheck is what verifying one bundle with one key found.
type bundleCheck struct {
	// ok: the key signed a cosign signature statement whose subject is the image.
	ok bool
	// annotations are the signed annotations of the image's subject (set when ok).
	annotations map[string]any
	// claimed names the digests the key signed when they are not the image's.
	claimed string
	// predicate is set when the key signed a statement about the image that is not a signature
	// (an attestation of another predicate type).
	predicate string
}

// verifyBundleWithKey verifies b with each of k's verifiers.
func verifyBundleWithKey(ctx context.Context, b *sgbundle.Bundle, h v1.Hash, k key) bundleCheck {
	var found bundleCheck
	for _, sv := range k.verifiers {
		c := verifyBundleWith(ctx, b, h, sv)
		if c.ok {
			return c
		}
		if found.claimed == "" && found.predicate == "" {
			found = c
		}
	}
	return found
}

// verifyBundleWith verifies b the way `cosign verify --key --insecure-ignore-tlog` does for
// bundles (cosign.VerifyNewBundle: sigstore-go with the key as trusted material, no transparency
// log, no timestamps), requiring the in-toto statement to name the image's digest.
func verifyBundleWith(ctx context.Context, b *sgbundle.Bundle, h v1.Hash, sv signature.Verifier) bundleCheck {
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return bundleCheck{}
	}
	co := &cosign.CheckOpts{SigVerifier: sv, IgnoreTlog: true, IgnoreSCT: true, Offline: true}
	res, err := cosign.VerifyNewBundle(ctx, co, sgverify.WithArtifactDigest(h.Algorithm, digest), b)
	if err != nil {
		// Did the key sign it, for another image? Only then is it worth saying so.
		other, oerr := cosign.VerifyNewBundle(ctx, co, sgverify.WithoutArtifactUnsafe(), b)
		if oerr == nil && other.Statement != nil {
			return bundleCheck{claimed: subjectDigests(other.Statement)}
		}
		return bundleCheck{}
	}
	st := res.Statement
	if st == nil {
		return bundleCheck{} // a message signature over the digest, not what `cosign sign` writes
	}
	if st.GetPredicateType() != types.CosignSignPredicateType {
		return bundleCheck{predicate: st.GetPredicateType()}
	}
	subj := imageSubject(st, h)
	if subj == nil {
		return bundleCheck{claimed: subjectDigests(st)}
	}
	var ann map[string]any
	if subj.GetAnnotations() != nil {
		ann = subj.GetAnnotations().AsMap()
	}
	return bundleCheck{ok: true, annotations: ann}
}

// imageSubject returns the statement's subject naming h, where `cosign sign` puts the `-a`
// annotations.
func imageSubject(st *intoto.Statement, h v1.Hash) *intoto.ResourceDescriptor {
	for _, s := range st.GetSubject() {
		if s.GetDigest()[h.Algorithm] == h.Hex {
			return s
		}
	}
	return nil
}

func subjectDigests(st *intoto.Statement) string {
	var ds []string
	for _, s := range st.GetSubject() {
		for alg, hex := range s.GetDigest() {
			d := alg + ":" + hex
			if _, err := v1.NewHash(d); err != nil {
				d = shown(d)
			}
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return "a statement without subject digests"
	}
	slices.Sort(ds)
	return strings.Join(ds, ", ")
}
