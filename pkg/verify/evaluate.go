package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
)

// maxListed bounds how many keys or notes a failure message lists.
const maxListed = 8

// evaluate checks the fetched signatures of img, in both formats, against the compiled
// authorities of p.
func evaluate(ctx context.Context, img name.Digest, p *policy.Policy, auths []authority, threshold int, fs *fetchedSignatures) (Result, error) {
	res := Result{Digest: img, Signatures: fs.examined()}
	subject := img.Name()
	if fs.examined() == 0 {
		msg := fmt.Sprintf("no cosign signatures found for %s (neither at %s nor among its referrers); sign it with `signet sign --key cosign.key %s`",
			subject, fs.legacy.tag, subject)
		if fs.bundles.others > 0 {
			msg += fmt.Sprintf("; %d %s not sigstore bundles", fs.bundles.others, plural(fs.bundles.others, "referrer is", "referrers are"))
		}
		return res, reason.New(reason.NoSignatures, subject, errors.New(msg))
	}
	h, err := v1.NewHash(img.DigestStr())
	if err != nil {
		return res, reason.New(reason.Internal, subject, err)
	}

	var (
		missing       []string
		mismatch      string   // the first annotation problem of a signature that verifies
		otherDigests  []string // signatures a policy key made for another image
		attestations  []string // bundles a policy key signed that are not signatures
		anyAnnotation bool
	)
	// check reports whether a signature that key k made over img passes the annotation rule.
	check := func(a authority, k key, signed map[string]any, hasPayload bool, annotationOnly *bool) bool {
		problem := ""
		if !hasPayload && len(p.Annotations) > 0 {
			problem = "has no simple-signing payload"
		} else {
			problem = checkAnnotations(p.Annotations, signed)
		}
		if problem == "" {
			return true
		}
		*annotationOnly = true
		if mismatch == "" {
			mismatch = fmt.Sprintf("signature by key %s (authority %s) %s", k.id, a.name, problem)
		}
		return false
	}
	for _, a := range auths {
		satisfied, annotationOnly := false, false
	keys:
		for _, k := range a.keys {
			for _, sp := range fs.legacy.sigs {
				ok, claimed := verifyWithKey(ctx, sp.sig, h, k)
				if claimed != "" {
					otherDigests = appendUnique(otherDigests, fmt.Sprintf("key %s signed %s", k.id, claimed))
				}
				var signed map[string]any
				if sp.claim != nil {
					signed = sp.claim.Optional
				}
				if ok && check(a, k, signed, sp.claim != nil, &annotationOnly) {
					satisfied = true
					res.KeyIDs = appendUnique(res.KeyIDs, k.id)
					break keys
				}
			}
			for _, b := range fs.bundles.bundles {
				c := verifyBundleWithKey(ctx, b, h, k)
				if c.claimed != "" {
					otherDigests = appendUnique(otherDigests, fmt.Sprintf("key %s signed %s", k.id, c.claimed))
				}
				if c.predicate != "" {
					attestations = appendUnique(attestations, fmt.Sprintf("key %s attested %s", k.id, shown(c.predicate)))
				}
				if c.ok && check(a, k, c.annotations, true, &annotationOnly) {
					satisfied = true
					res.KeyIDs = appendUnique(res.KeyIDs, k.id)
					break keys
				}
			}
		}
		switch {
		case satisfied:
			res.Authorities = append(res.Authorities, a.name)
		default:
			missing = append(missing, a.name)
			anyAnnotation = anyAnnotation || annotationOnly
		}
	}

	n := len(res.Authorities)
	switch {
	case n >= threshold:
		return res, nil
	case anyAnnotation:
		msg := mismatch
		if threshold > 1 {
			msg += fmt.Sprintf("; %s", thresholdText(n, threshold, res.Authorities, missing))
		}
		return res, reason.New(reason.AnnotationMismatch, subject, errors.New(msg))
	case n > 0:
		return res, reason.New(reason.ThresholdNotMet, subject, errors.New(thresholdText(n, threshold, res.Authorities, missing)))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "examined %s; none verifies with the policy's keys %s", examinedText(fs), listKeys(auths))
	if bad := fs.legacy.malformed + fs.bundles.malformed; bad > 0 {
		fmt.Fprintf(&b, "; %d %s not a readable cosign signature or sigstore v0.3 bundle", bad, plural(bad, "is", "are"))
	}
	if len(otherDigests) > 0 {
		fmt.Fprintf(&b, "; signatures for other images: %s", listCapped(otherDigests))
	}
	if len(attestations) > 0 {
		fmt.Fprintf(&b, "; attestations, which are not signatures: %s", listCapped(attestations))
	}
	return res, reason.New(reason.NoMatchingSignatures, subject, errors.New(b.String()))
}

// examinedText says what was looked at: "1 signature at TAG and 2 bundles among the referrers of IMG".
func examinedText(fs *fetchedSignatures) string {
	var parts []string
	if n := fs.legacy.examined; n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s at %s", n, plural(n, "signature", "signatures"), fs.legacy.tag))
	}
	if n := fs.bundles.examined; n > 0 {
		parts = append(parts, fmt.Sprintf("%d sigstore %s among %s", n, plural(n, "bundle", "bundles"), fs.bundles.where))
	}
	return strings.Join(parts, " and ")
}

// verifyWithKey reports whether sig is a valid signature by k over a payload naming digest h.
// claimed is set when the key did sign the payload but the payload names another digest (a
// signature copied from another image).
func verifyWithKey(ctx context.Context, sig oci.Signature, h v1.Hash, k key) (ok bool, claimed string) {
	for _, sv := range k.verifiers {
		if ok, claimed = verifyWith(ctx, sig, h, sv); ok || claimed != "" {
			return ok, claimed
		}
	}
	return false, ""
}

func verifyWith(ctx context.Context, sig oci.Signature, h v1.Hash, sv signature.Verifier) (ok bool, claimed string) {
	signedByKey := false
	co := &cosign.CheckOpts{
		SigVerifier: sv,
		// The claim verifier runs only once the signature is valid; it compares the signed digest
		// with the image's, so a signature copied from another image never counts. Annotations are
		// checked by checkAnnotations, which can say which one is wrong.
		ClaimVerifier: func(sig oci.Signature, imageDigest v1.Hash, annotations map[string]any) error {
			signedByKey = true
			return cosign.SimpleClaimVerifier(sig, imageDigest, annotations)
		},
		IgnoreTlog: true,
		IgnoreSCT:  true,
		Offline:    true,
	}
	if _, err := cosign.VerifyImageSignature(ctx, sig, h, co); err != nil {
		if signedByKey {
			return false, claimedDigest(sig)
		}
		return false, ""
	}
	return true, ""
}

func thresholdText(n, threshold int, verified, missing []string) string {
	if n == 0 {
		return fmt.Sprintf("0 of %d required authorities verified; missing: %s", threshold, strings.Join(missing, ", "))
	}
	return fmt.Sprintf("%d of %d required authorities verified: %s; missing: %s",
		n, threshold, strings.Join(verified, ", "), strings.Join(missing, ", "))
}

func listKeys(auths []authority) string {
	var ids []string
	for _, a := range auths {
		for _, k := range a.keys {
			ids = append(ids, fmt.Sprintf("%s (authority %s)", k.id, a.name))
		}
	}
	return listCapped(ids)
}

func listCapped(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
