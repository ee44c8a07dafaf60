package verify

import (
	"context"
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

// evaluate checks the fetched signatures of img against the compiled authorities of p.
func evaluate(ctx context.Context, img name.Digest, p *policy.Policy, auths []authority, threshold int, fs *fetchedSignatures) (Result, error) {
	res := Result{Digest: img, Signatures: fs.examined}
	subject := img.Name()
	if fs.examined == 0 {
		return res, reason.Errorf(reason.NoSignatures, subject,
			"no cosign signatures found for %s; sign it with `signet sign --key cosign.key %s`", subject, subject)
	}
	h, err := v1.NewHash(img.DigestStr())
	if err != nil {
		return res, reason.New(reason.Internal, subject, err)
	}

	var (
		missing       []string
		mismatch      string   // the first annotation problem of a signature that verifies
		otherDigests  []string // signatures a policy key made for another image
		anyAnnotation bool
	)
	for _, a := range auths {
		satisfied, annotationOnly := false, false
	keys:
		for _, k := range a.keys {
			for _, sp := range fs.sigs {
				ok, claimed := verifyWithKey(ctx, sp.sig, h, k)
				if claimed != "" {
					otherDigests = appendUnique(otherDigests, fmt.Sprintf("key %s signed %s", k.id, claimed))
				}
				if !ok {
					continue
				}
				if problem := checkAnnotations(p.Annotations, sp.claim); problem != "" {
					annotationOnly = true
					if mismatch == "" {
						mismatch = fmt.Sprintf("signature by key %s (authority %s) %s", k.id, a.name, problem)
					}
					continue
				}
				satisfied = true
				res.KeyIDs = appendUnique(res.KeyIDs, k.id)
				break keys
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
		return res, reason.New(reason.AnnotationMismatch, subject, fmt.Errorf("%s", msg))
	case n > 0:
		return res, reason.New(reason.ThresholdNotMet, subject, fmt.Errorf("%s", thresholdText(n, threshold, res.Authorities, missing)))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "examined %d %s at %s; none verifies with the policy's keys %s",
		fs.examined, plural(fs.examined, "signature", "signatures"), fs.tag, listKeys(auths))
	if fs.malformed > 0 {
		fmt.Fprintf(&b, "; %d %s not a readable cosign signature", fs.malformed, plural(fs.malformed, "is", "are"))
	}
	if len(otherDigests) > 0 {
		fmt.Fprintf(&b, "; signatures for other images: %s", listCapped(otherDigests))
	}
	return res, reason.New(reason.NoMatchingSignatures, subject, fmt.Errorf("%s", b.String()))
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
