package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
)

// Resolver turns a reference into the digest the kubelet would pull. Digest references must be
// confirmed to exist and returned unchanged. auth says whose pull credentials may be used.
type Resolver interface {
	Resolve(ctx context.Context, ref name.Reference, auth PullAuth) (name.Digest, error)
}

// Verifier says whether an image digest satisfies a policy; nil means it does. Errors carry a
// reason.Code. auth says whose pull credentials may be used to read signatures.
type Verifier interface {
	Verify(ctx context.Context, img name.Digest, p *policy.Policy, auth PullAuth) error
}

// NamespaceLabeler returns a namespace's labels from a cache; ok is false when the namespace is
// not known yet, and then policies with a namespace selector are applied rather than skipped.
type NamespaceLabeler interface {
	Labels(namespace string) (labels map[string]string, ok bool)
}

// PolicySource hands out the current, immutable policy snapshot.
type PolicySource interface {
	Policies() *policy.Set
}

// Endpoint is which webhook a review came through.
type Endpoint string

const (
	// Mutate resolves tags and pins them to digests; it does not deny on signatures.
	Mutate Endpoint = "mutate"
	// Validate verifies the final object, after every mutation.
	Validate Endpoint = "validate"
)

// UnmatchedAction is what happens to an image that no policy matches.
type UnmatchedAction string

const (
	UnmatchedAllow UnmatchedAction = "allow"
	UnmatchedWarn  UnmatchedAction = "warn"
	UnmatchedDeny  UnmatchedAction = "deny"
)

// ParseUnmatched checks a configured unmatched-image action.
func ParseUnmatched(s string) (UnmatchedAction, error) {
	switch a := UnmatchedAction(s); a {
	case UnmatchedAllow, UnmatchedWarn, UnmatchedDeny:
		return a, nil
	}
	return "", fmt.Errorf("unmatched-image action %q: use allow, warn or deny", s)
}

// Reviewer decides AdmissionRequests. Its fields are set by cmd/webhook; the zero value of each
// optional field is a working default.
type Reviewer struct {
	Policies PolicySource
	Resolver Resolver
	Verifier Verifier
	// Unmatched is what happens to images no policy matches. Default allow.
	Unmatched UnmatchedAction
	// MaxImages bounds the distinct images judged in one object. Default 256.
	MaxImages int
	// Logger receives one line per decision. Default: discard.
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
	// Namespaces gives namespace labels for cluster policies' namespace selectors. Nil: only the
	// kubernetes.io/metadata.name label is known.
	Namespaces NamespaceLabeler
}

const defaultMaxImages = 256

// Review decides one request. It always returns a response carrying the request's UID, and returns
// by ctx's deadline: images still being judged then are reported as timed out.
func (r *Reviewer) Review(ctx context.Context, ep Endpoint, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	start := time.Now()
	d := r.decide(ctx, ep, req)
	resp := d.response(req)
	r.record(ep, req, d, time.Since(start))
	return resp
}

// decision is everything a review concluded, before it becomes a response.
type decision struct {
	kind     string // "allow", "deny", "warn"
	code     int32
	denials  []string
	warnings []string
	audit    map[string]string
	audited  []reason.Code // reasons of the would-be denials in audit
	patch    []patchOp
	images   []string
	reasons  []reason.Code
	note     string // why nothing was checked, for the log
}

func (r *Reviewer) decide(ctx context.Context, ep Endpoint, req *admissionv1.AdmissionRequest) *decision {
	d := &decision{kind: "allow"}
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
	default:
		d.note = "operation " + string(req.Operation) + " is not reviewed"
		return d
	}
	kind := req.Kind.Kind
	if req.SubResource != "" && !(kind == "Pod" && req.SubResource == "ephemeralcontainers") {
		d.note = "subresource " + req.SubResource + " is not reviewed"
		return d
	}
	if !Supported(kind) {
		d.note = "kind " + kind + " is not reviewed"
		return d
	}
	imgs, err := Images(kind, req.Object.Raw)
	if err != nil {
		return d.reject(400, "cannot read the object: "+err.Error())
	}
	if req.Operation == admissionv1.Update {
		old, err := Images(kind, req.OldObject.Raw)
		if err != nil {
			return d.reject(400, "cannot read the old object: "+err.Error())
		}
		imgs = changedImages(imgs, old)
	}
	auth, err := PodPullAuth(kind, req.Object.Raw, req.Namespace)
	if err != nil {
		return d.reject(400, "cannot read the object: "+err.Error())
	}
	groups := groupByImage(imgs)
	maxImages := r.MaxImages
	if maxImages <= 0 {
		maxImages = defaultMaxImages
	}
	if len(groups) > maxImages {
		return d.reject(400, fmt.Sprintf("the object has %d distinct images; signet judges at most %d in one object", len(groups), maxImages))
	}
	if len(groups) == 0 {
		d.note = "no new or changed images"
		return d
	}
	set := r.Policies.Policies()
	checks := r.checkAll(ctx, ep, auth, groups, set)
	for _, c := range checks {
		d.images = append(d.images, c.image)
		d.apply(ep, c, r.unmatched())
	}
	if ep == Mutate && req.Operation == admissionv1.Update && kind == "Job" {
		// A Job's pod template is immutable: a patch that changes it would be rejected.
		d.patch = keepUnchanged(d.patch, req.OldObject.Raw)
	}
	switch {
	case len(d.denials) > 0:
		d.kind, d.code = "deny", 403
	case len(d.warnings) > 0:
		d.kind = "warn"
	}
	return d
}

func (r *Reviewer) unmatched() UnmatchedAction {
	if r.Unmatched == "" {
		return UnmatchedAllow
	}
	return r.Unmatched
}

func (d *decision) reject(code int32, msg string) *decision {
	d.kind, d.code = "deny", code
	d.denials = append(d.denials, msg)
	d.reasons = append(d.reasons, reason.InvalidReference)
	return d
}

// changedImages drops images that the old object already had: an UPDATE that keeps them (a scale,
// a label change) needs no registry traffic.
func changedImages(imgs, old []Image) []Image {
	had := make(map[string]bool, len(old))
	for _, o := range old {
		had[o.Image] = true
	}
	var out []Image
	for _, i := range imgs {
		if !had[i.Image] {
			out = append(out, i)
		}
	}
	return out
}

// imageGroup is one distinct image string and every field it appears at.
type imageGroup struct {
	image  string
	fields []Image
}

func groupByImage(imgs []Image) []imageGroup {
	var out []imageGroup
	index := map[string]int{}
	for _, i := range imgs {
		n, ok := index[i.Image]
		if !ok {
			n = len(out)
			index[i.Image] = n
			out = append(out, imageGroup{image: i.Image})
		}
		out[n].fields = append(out[n].fields, i)
	}
	return out
}

func (g imageGroup) fieldList() string {
	fs := make([]string, len(g.fields))
	for i, f := range g.fields {
		fs[i] = f.Field
	}
	return strings.Join(fs, ", ")
}

// apply folds one image's check into the decision.
func (d *decision) apply(ep Endpoint, c *check, unmatched UnmatchedAction) {
	where := fmt.Sprintf("%s %q", c.group.fieldList(), c.image)
	if c.digest != "" && !c.isDigestRef {
		where += " (resolved to " + c.digest + ")"
	}
	if c.invalid != nil {
		// The mutating endpoint leaves judging to the validating one.
		if ep == Validate {
			d.denials = append(d.denials, fmt.Sprintf("%s: %v; fix the image reference", where, c.invalid))
			d.reasons = append(d.reasons, reason.InvalidReference)
		}
		return
	}
	if len(c.policies) == 0 {
		if ep == Mutate {
			return
		}
		msg := fmt.Sprintf("%s: no image policy matches it", where)
		switch unmatched {
		case UnmatchedDeny:
			d.denials = append(d.denials, msg+"; add a ClusterImagePolicy whose images match it")
			d.reasons = append(d.reasons, reason.Unmatched)
		case UnmatchedWarn:
			d.warnings = append(d.warnings, msg)
			d.reasons = append(d.reasons, reason.Unmatched)
		}
		return
	}
	if ep == Mutate {
		if c.pin && c.digest != "" && !c.isDigestRef {
			for _, f := range c.group.fields {
				d.patch = append(d.patch, patchOp{Op: "replace", Path: f.Pointer, Value: c.image + "@" + c.digest})
			}
		}
		return
	}
	for _, f := range c.failures {
		code := reason.Of(f.err)
		d.reasons = append(d.reasons, code)
		msg := fmt.Sprintf("%s: policy %s: %s", where, f.policy.Name, describe(f.err))
		if code.IsRegistry() && f.policy.FailurePolicy == policy.FailOpen {
			d.warnings = append(d.warnings, msg+" (allowed: the policy fails open on registry errors)")
			continue
		}
		switch f.policy.Mode {
		case policy.ModeWarn:
			d.warnings = append(d.warnings, msg)
		case policy.ModeAudit:
			if d.audit == nil {
				d.audit = map[string]string{}
			}
			key := fmt.Sprintf("image-%d", len(d.audit))
			d.audit[key] = msg
			d.audited = append(d.audited, code)
		default:
			d.denials = append(d.denials, msg)
		}
	}
}

// record writes the decision's log line and metrics.
func (r *Reviewer) record(ep Endpoint, req *admissionv1.AdmissionRequest, d *decision, took time.Duration) {
	if r.Metrics != nil {
		r.Metrics.observe(ep, req, d, took)
	}
	if r.Logger == nil {
		return
	}
	reasons := make([]string, 0, len(d.reasons))
	for _, c := range d.reasons {
		if !slices.Contains(reasons, string(c)) {
			reasons = append(reasons, string(c))
		}
	}
	attrs := []slog.Attr{
		slog.String("uid", string(req.UID)),
		slog.String("endpoint", string(ep)),
		slog.String("operation", string(req.Operation)),
		slog.String("namespace", req.Namespace),
		slog.String("kind", req.Kind.Kind),
		slog.String("name", req.Name),
		slog.Bool("dryRun", req.DryRun != nil && *req.DryRun),
		slog.Any("images", d.images),
		slog.String("decision", d.kind),
		slog.Any("reasons", reasons),
		slog.Int("patched", len(d.patch)),
		slog.Float64("durationMs", float64(took.Microseconds())/1000),
	}
	if d.note != "" {
		attrs = append(attrs, slog.String("note", d.note))
	}
	if len(d.denials) > 0 {
		attrs = append(attrs, slog.String("message", strings.Join(d.denials, "; ")))
	}
	if len(d.audit) > 0 {
		attrs = append(attrs, slog.Any("audit", d.audit))
	}
	r.Logger.LogAttrs(context.Background(), slog.LevelInfo, "admission decision", attrs...)
}

// describe renders a failure without repeating its subject: the message already names the image.
func describe(err error) string {
	var re *reason.Error
	if errors.As(err, &re) && re.Err != nil {
		return string(re.Code) + ": " + re.Err.Error()
	}
	return err.Error()
}
