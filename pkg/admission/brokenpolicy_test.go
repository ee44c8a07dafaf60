package admission_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
)

// missingSecrets stands in for the cluster's informer-backed Secret cache (no API server runs in
// unit tests): every Secret is missing.
type missingSecrets struct{}

func (missingSecrets) GetSecretData(namespace, name string) (map[string][]byte, error) {
	return nil, fmt.Errorf("%w", policy.ErrSecretNotFound)
}

// brokenPolicy is a cluster policy whose key Secret is missing, compiled as the cluster source
// compiles it: kept in force, failing closed.
func brokenPolicy(t *testing.T, glob string, mode policy.Mode, failure policy.FailurePolicy) *policy.Set {
	t.Helper()
	p := policy.CompileFailClosed(policy.ImagePolicySpec{
		Images:        []policy.ImagePattern{{Glob: glob}},
		Mode:          mode,
		FailurePolicy: failure,
		Authorities:   []policy.Authority{{Key: policy.KeyRef{SecretRef: &policy.SecretRef{Namespace: "signet-system", Name: "release-keys"}}}},
	}, policy.CompileOptions{Kind: policy.KindClusterImagePolicy, Name: "release", Source: "cluster", Secrets: missingSecrets{}})
	if p.Err == nil {
		t.Fatal("the policy compiled; want it broken")
	}
	return policy.NewSet(p)
}

func TestABrokenPolicyRefusesEvenSignedImagesWithoutAskingTheRegistry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	glob := w.host + "/apps/**"
	cases := map[string]struct {
		mode        policy.Mode
		failure     policy.FailurePolicy
		wantAllowed bool
		wantWarning bool
		wantAudit   bool
	}{
		"an enforcing broken policy denies":                               {policy.ModeEnforce, policy.FailClosed, false, false, false},
		"a broken policy that fails open on registry errors still denies": {policy.ModeEnforce, policy.FailOpen, false, false, false},
		"a broken policy in warn mode allows with a warning":              {policy.ModeWarn, policy.FailClosed, true, true, false},
		"a broken policy in audit mode allows and records it":             {policy.ModeAudit, policy.FailClosed, true, false, true},
	}
	for desc, c := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			r := w.reviewer(t, brokenPolicy(t, glob, c.mode, c.failure), admission.UnmatchedAllow)
			reg := prometheus.NewRegistry()
			r.Metrics = admission.NewMetrics(reg)
			var logs bytes.Buffer
			r.Logger = slog.New(slog.NewJSONHandler(&logs, nil))

			resp := r.Review(context.Background(), admission.Validate, request("Pod", admissionv1.Create, pod(w.signed), ""))
			if resp.Allowed != c.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %s", resp.Allowed, c.wantAllowed, message(resp))
			}
			text := message(resp) + strings.Join(resp.Warnings, "\n")
			for _, v := range resp.AuditAnnotations {
				text += v
			}
			for _, want := range []string{"policy ClusterImagePolicy/release", "policy error", "Secret signet-system/release-keys", "not found", "spec.containers[0].image"} {
				if !strings.Contains(text, want) {
					t.Errorf("answer lacks %q:\n%s", want, text)
				}
			}
			if got := len(resp.Warnings) > 0; got != c.wantWarning {
				t.Errorf("warnings %q, want some: %v", resp.Warnings, c.wantWarning)
			}
			if got := len(resp.AuditAnnotations) > 0; got != c.wantAudit {
				t.Errorf("audit annotations %v, want some: %v", resp.AuditAnnotations, c.wantAudit)
			}
			want := ""
			if c.wantAudit {
				want = `
# HELP signet_admission_audit_violations_total Images an audit-mode policy would have denied (allowed and recorded in auditAnnotations), by reason.
# TYPE signet_admission_audit_violations_total counter
signet_admission_audit_violations_total{reason="policy error"} 1
`
				if !strings.Contains(logs.String(), `"audit":{`) {
					t.Errorf("the decision log does not record the audit finding:\n%s", logs.String())
				}
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "signet_admission_audit_violations_total"); err != nil {
				t.Error(err)
			}
		})
	}
}

// A broken policy is never handed to the verifier: the review denies before any registry call.
func TestABrokenPolicyIsNeverVerified(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.reviewer(t, brokenPolicy(t, w.host+"/apps/**", policy.ModeEnforce, policy.FailClosed), admission.UnmatchedAllow)
	before := w.requests.Load()
	resp := r.Review(context.Background(), admission.Validate, request("Pod", admissionv1.Create, pod(w.signed), ""))
	if resp.Allowed {
		t.Fatal("a broken policy allowed a signed image")
	}
	if n := w.requests.Load() - before; n != 0 {
		t.Errorf("%d registry requests: a broken policy must decide without the registry", n)
	}
}

// namespaceLabels stands in for the informer cache of namespaces (no API server in unit tests).
type namespaceLabels map[string]map[string]string

func (n namespaceLabels) Labels(ns string) (map[string]string, bool) {
	l, ok := n[ns]
	return l, ok
}

func TestNamespaceSelectorsSeeTheNamespacesLabels(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	set := w.policy(t, fmt.Sprintf("  images: [{glob: %q}]\n  namespaceSelector: {matchLabels: {env: prod}}\n  authorities: [%s]\n", w.host+"/apps/**", keyYAML(w.pubA)))
	cases := map[string]struct {
		labels      namespaceLabels
		wantAllowed bool
	}{
		"an unsigned image in a prod namespace is denied":                          {namespaceLabels{"ns": {"env": "prod"}}, false},
		"an unsigned image in a dev namespace is not this policy's business":       {namespaceLabels{"ns": {"env": "dev"}}, true},
		"a namespace not in the cache yet gets the policy rather than escaping it": {namespaceLabels{}, false},
	}
	for desc, c := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			r := w.reviewer(t, set, admission.UnmatchedAllow)
			r.Namespaces = c.labels
			resp := r.Review(context.Background(), admission.Validate, request("Pod", admissionv1.Create, pod(w.unsigned), ""))
			if resp.Allowed != c.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %s", resp.Allowed, c.wantAllowed, message(resp))
			}
		})
	}
}
