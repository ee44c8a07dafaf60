package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

type scenario struct {
	title     string
	kind      string
	resource  string
	group     string
	name      string
	object    string
	wantAllow bool
	wantPins  int
	wantText  string // in the deny message
}

type result struct {
	scenario
	patch       []map[string]any
	mutateErr   error
	validateMsg string
	allowed     bool
	ok          bool
	why         string
}

func podJSON(name, image string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":"default"},
"spec":{"containers":[{"name":"app","image":%q}]}}`, name, image)
}

func scenarios(host string, signed, unsigned *pushed) []scenario {
	return []scenario{
		{title: "Pod with the signed image by tag", kind: "Pod", resource: "pods", name: "signed",
			object: podJSON("signed", signed.tag), wantAllow: true, wantPins: 1},
		{title: "Pod with the unsigned image", kind: "Pod", resource: "pods", name: "unsigned",
			object: podJSON("unsigned", unsigned.tag), wantAllow: false, wantPins: 1, wantText: "no signatures"},
		{title: "Deployment with the signed image in an init container and a container", kind: "Deployment", resource: "deployments", group: "apps", name: "web",
			object: fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
"spec":{"initContainers":[{"name":"init","image":%q}],"containers":[{"name":"app","image":%q}]}}}}`, signed.tag, signed.tag),
			wantAllow: true, wantPins: 2},
		{title: "CronJob with the signed image", kind: "CronJob", resource: "cronjobs", group: "batch", name: "nightly",
			object: fmt.Sprintf(`{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"nightly","namespace":"default"},
"spec":{"schedule":"0 3 * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure",
"containers":[{"name":"job","image":%q}]}}}}}}`, signed.tag),
			wantAllow: true, wantPins: 1},
		{title: "Pod already pinned to the signed digest (signet's own output, re-submitted)", kind: "Pod", resource: "pods", name: "pinned",
			object: podJSON("pinned", signed.tag+"@"+signed.digest), wantAllow: true, wantPins: 0},
		{title: "Pod with a tag that does not exist", kind: "Pod", resource: "pods", name: "missing",
			object: podJSON("missing", host+"/demo/app:no-such-tag"), wantAllow: false, wantPins: 0, wantText: "tag not found"},
		{title: "Pod with an image no policy matches (unmatched images are allowed by default)", kind: "Pod", resource: "pods", name: "other",
			object: podJSON("other", "docker.io/library/busybox:1.37"), wantAllow: true, wantPins: 0},
	}
}

func runScenarios(ctx context.Context, wh *webhook, host string, signed, unsigned *pushed) []*result {
	var out []*result
	for i, s := range scenarios(host, signed, unsigned) {
		r := &result{scenario: s}
		r.run(ctx, wh, i)
		out = append(out, r)
	}
	return out
}

func (r *result) run(ctx context.Context, wh *webhook, i int) {
	uid := types.UID(fmt.Sprintf("demo-%d", i))
	resp, err := wh.review(ctx, "mutate", r.request(uid, []byte(r.object)))
	if err != nil {
		r.mutateErr = err
		r.why = "mutate failed: " + err.Error()
		return
	}
	obj := []byte(r.object)
	if len(resp.Patch) > 0 {
		if err := json.Unmarshal(resp.Patch, &r.patch); err != nil {
			r.why = "patch is not JSON: " + err.Error()
			return
		}
		p, err := jsonpatch.DecodePatch(resp.Patch)
		if err == nil {
			obj, err = p.Apply(obj)
		}
		if err != nil {
			r.why = "patch does not apply: " + err.Error()
			return
		}
	}
	resp, err = wh.review(ctx, "validate", r.request(uid, obj))
	if err != nil {
		r.why = "validate failed: " + err.Error()
		return
	}
	r.allowed = resp.Allowed
	if resp.Result != nil {
		r.validateMsg = resp.Result.Message
	}
	switch {
	case r.allowed != r.wantAllow:
		r.why = fmt.Sprintf("allowed=%v, want %v", r.allowed, r.wantAllow)
	case len(r.patch) != r.wantPins:
		r.why = fmt.Sprintf("%d images pinned, want %d", len(r.patch), r.wantPins)
	case r.wantText != "" && !strings.Contains(r.validateMsg, r.wantText):
		r.why = fmt.Sprintf("deny message lacks %q", r.wantText)
	default:
		r.ok = true
	}
}

func (r *result) request(uid types.UID, obj []byte) *admissionv1.AdmissionReview {
	return &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       uid,
			Kind:      metav1.GroupVersionKind{Group: r.group, Version: "v1", Kind: r.kind},
			Resource:  metav1.GroupVersionResource{Group: r.group, Version: "v1", Resource: r.resource},
			Name:      r.name,
			Namespace: "default",
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: obj},
		},
	}
}

func (r *result) print() {
	mark := "PASS"
	if !r.ok {
		mark = "FAIL"
	}
	fmt.Printf("[%s] %s\n", mark, r.title)
	if r.mutateErr == nil {
		if len(r.patch) == 0 {
			fmt.Println("       /mutate   allowed, no patch")
		}
		for _, op := range r.patch {
			fmt.Printf("       /mutate   %s %s\n                   → %s\n", op["op"], op["path"], op["value"])
		}
	}
	if r.allowed {
		fmt.Println("       /validate allowed")
	} else if r.validateMsg != "" {
		fmt.Printf("       /validate DENIED: %s\n", r.validateMsg)
	}
	if !r.ok {
		fmt.Printf("       expected something else: %s\n", r.why)
	}
	fmt.Println()
}

// review posts one AdmissionReview, as the API server does, with its timeout in the query.
func (w *webhook) review(ctx context.Context, endpoint string, review *admissionv1.AdmissionReview) (*admissionv1.AdmissionResponse, error) {
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL("/"+endpoint+"?timeout=10s"), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, data)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	if out.Response == nil || out.Response.UID != review.Request.UID {
		return nil, fmt.Errorf("response does not carry the request's UID")
	}
	return out.Response, nil
}

type latency struct {
	n             int
	p50, p99, max time.Duration
}

// warmLatency measures client-side latency of reviews whose answers are all cached.
func warmLatency(ctx context.Context, wh *webhook, signed *pushed, n int) (*latency, error) {
	r := &result{scenario: scenario{kind: "Pod", resource: "pods", name: "warm", object: podJSON("warm", signed.tag+"@"+signed.digest)}}
	req := r.request("warm", []byte(r.object))
	var took []time.Duration
	for i := 0; i < n; i++ {
		t := time.Now()
		resp, err := wh.review(ctx, "validate", req)
		if err != nil {
			return nil, err
		}
		if !resp.Allowed {
			return nil, fmt.Errorf("warm review denied: %v", resp.Result)
		}
		took = append(took, time.Since(t))
	}
	slices.Sort(took)
	q := func(p float64) time.Duration { return took[int(p*float64(len(took)-1))].Round(time.Microsecond) }
	return &latency{n: n, p50: q(0.5), p99: q(0.99), max: took[len(took)-1].Round(time.Microsecond)}, nil
}
