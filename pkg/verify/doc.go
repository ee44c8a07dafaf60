// Package verify decides whether an image digest carries the cosign signatures a policy requires.
//
// It is the only importer of cosign on the verification side. For each digest it looks up, in
// parallel, both formats cosign writes: the legacy `sha256-<hex>.sig` tag in the image's repository,
// and sigstore bundles (v0.3) attached as OCI 1.1 referrers, listed through the referrers API or,
// on registries without it, the `sha256-<hex>` referrers tag. Each referrer is classified by its own
// manifest. Legacy signatures are verified with cosign's signature code, bundles with cosign's bundle
// verification (sigstore-go with the policy's key as trusted material, no transparency log). A
// bundle counts when its in-toto statement has cosign's signature predicate and names the image's
// digest; its `-a` annotations are that subject's annotations. Distinct satisfied authorities are
// counted against the policy's threshold, and for an index the multi-arch rule says whether the
// index, its platform manifests, or either must verify.
//
// It knows nothing of admission: callers hand it a digest and a policy and get back a [Result] and
// a [reason.Error] that says why an image failed, keeping "unsigned" apart from "signed, but not by
// these keys" and from "registry down" (a failure to list referrers is never "unsigned").
//
// Signatures are fetched once per digest however many policies and keys ask (a shared flight and a
// short cache), and verdicts are cached by (digest, policy fingerprint).
package verify
