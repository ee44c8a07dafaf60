package admission

import (
	"context"
	"slices"

	"github.com/signet-dev/signet/pkg/reason"
)

// ImageDecision is the validating endpoint's verdict on one image, outside an AdmissionReview (the
// producer CLI's `signet verify` runs it so that it answers exactly as the cluster would).
type ImageDecision struct {
	// Image is the reference as given; Digest the digest it resolved to ("" when it did not).
	Image, Digest string
	// Allowed is false when the image would be denied.
	Allowed bool
	// Denials, Warnings and Audit are the webhook's message lines for the image.
	Denials, Warnings, Audit []string
	// Reasons are the reason codes behind the lines.
	Reasons []reason.Code
}

// ReviewImage judges image as the validating endpoint judges it in a Pod of auth's namespace (with
// auth's pull credentials), with the same policy matching, resolution, verification, modes and
// message text; field names the image in the messages (a Pod would say spec.containers[0].image).
func (r *Reviewer) ReviewImage(ctx context.Context, auth PullAuth, field, image string) ImageDecision {
	g := imageGroup{image: image, fields: []Image{{Field: field, Image: image}}}
	c := r.checkAll(ctx, Validate, auth, []imageGroup{g}, r.Policies.Policies())[0]
	d := &decision{kind: "allow"}
	d.apply(Validate, c, r.unmatched())
	out := ImageDecision{Image: image, Digest: c.digest, Allowed: len(d.denials) == 0, Denials: d.denials, Warnings: d.warnings, Reasons: d.reasons}
	for _, v := range d.audit {
		out.Audit = append(out.Audit, v)
	}
	slices.Sort(out.Audit) // map order is random; the text must not be
	return out
}
