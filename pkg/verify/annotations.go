package verify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// maxShownValue bounds how much of a signed annotation value a message repeats.
const maxShownValue = 64

// checkAnnotations returns "" when the signed annotations (the simple-signing payload's optional
// section, or the in-toto subject's annotations of a bundle) hold every required annotation with
// exactly the required string value (an empty required value means present and empty), and
// otherwise a phrase naming the first offending annotation, in key order, and the value required.
func checkAnnotations(required map[string]string, signed map[string]any) string {
	if len(required) == 0 {
		return ""
	}
	keys := make([]string, 0, len(required))
	for k := range required {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		want := required[k]
		got, ok := signed[k]
		if !ok {
			return fmt.Sprintf("lacks required annotation %q (policy requires %q)", k, want)
		}
		if s, isString := got.(string); !isString || s != want {
			return fmt.Sprintf("has annotation %q = %s, policy requires %q", k, shown(got), want)
		}
	}
	return ""
}

// shown renders a signed annotation value for a message, truncated.
func shown(v any) string {
	var s string
	if str, ok := v.(string); ok {
		s = str
	} else {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	if len(s) > maxShownValue {
		return strconv.Quote(s[:maxShownValue]) + "…"
	}
	return strconv.Quote(s)
}

// claimedDigest returns the image digest a signature's payload names, for messages.
func claimedDigest(sig oci.Signature) string {
	pl, err := sig.Payload()
	if err != nil {
		return "an unreadable payload"
	}
	var claim payload.SimpleContainerImage
	if json.Unmarshal(pl, &claim) != nil || claim.Critical.Image.DockerManifestDigest == "" {
		return "a payload without an image digest"
	}
	d := claim.Critical.Image.DockerManifestDigest
	if _, err := v1.NewHash(d); err == nil {
		return d
	}
	return shown(d)
}
