package workload_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/signet-dev/signet/test/bench/workload"
)

// TestObjectsDecodeAsTheirKinds keeps the generated JSON valid: a typo would make the benchmarks
// measure the error path.
func TestObjectsDecodeAsTheirKinds(t *testing.T) {
	t.Parallel()
	imgs := []string{"registry.example/app:v1", "registry.example/side@sha256:" + strings.Repeat("a", 64)}
	cases := map[string]struct {
		kind   string
		object string
		into   any
		images func(any) []string
	}{
		"A Pod decodes as a Pod carrying each image.": {"Pod", workload.Pod("ns", "p", imgs...), &corev1.Pod{}, func(o any) []string {
			return images(o.(*corev1.Pod).Spec)
		}},
		"A Deployment decodes as a Deployment carrying each image.": {"Deployment", workload.Deployment("ns", "d", 3, imgs...), &appsv1.Deployment{}, func(o any) []string {
			return images(o.(*appsv1.Deployment).Spec.Template.Spec)
		}},
		"A CronJob decodes as a CronJob carrying each image.": {"CronJob", workload.CronJob("ns", "c", imgs...), &batchv1.CronJob{}, func(o any) []string {
			return images(o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec)
		}},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(workload.Review("u", tc.kind, "ns", "n", tc.object), &review); err != nil {
				t.Fatalf("review does not decode: %v", err)
			}
			if review.Request == nil || review.Request.Kind.Kind != tc.kind {
				t.Fatalf("review request kind = %+v, want %s", review.Request, tc.kind)
			}
			dec := json.NewDecoder(bytes.NewReader(review.Request.Object.Raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.into); err != nil {
				t.Fatalf("object does not decode as %s: %v", tc.kind, err)
			}
			got := tc.images(tc.into)
			if len(got) != len(imgs) || got[0] != imgs[0] || got[1] != imgs[1] {
				t.Fatalf("images = %v, want %v", got, imgs)
			}
		})
	}
}

func images(spec corev1.PodSpec) []string {
	var out []string
	for _, c := range spec.Containers {
		out = append(out, c.Image)
	}
	return out
}
