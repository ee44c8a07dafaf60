// Package verify decides whether an image digest carries the cosign signatures a policy requires.
//
// It is the only importer of cosign on the verification side. It discovers signatures (today the
// legacy `sha256-<hex>.sig` tag in the image's repository), verifies them against the public keys
// of a compiled [policy.Policy] with cosign's own verification code, and counts distinct satisfied
// authorities against the policy's threshold. It knows nothing of admission: callers hand it a
// digest and a policy and get back a [Result] and a [reason.Error] that says why an image failed,
// keeping "unsigned" apart from "signed, but not by these keys" and from "registry down".
//
// Signatures are fetched once per digest however many policies and keys ask (a shared flight and a
// short cache), and verdicts are cached by (digest, policy fingerprint).
package verify
