package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// webhookKinds are the resources DESIGN.md says signet reviews, as group/resource.
var webhookKinds = []string{
	"/pods", "/pods/ephemeralcontainers", "/replicationcontrollers", "/podtemplates",
	"apps/deployments", "apps/replicasets", "apps/statefulsets", "apps/daemonsets",
	"batch/jobs", "batch/cronjobs",
}

// webhooks returns both configurations' webhooks, named by configuration kind.
func webhooks(t *testing.T, r *rendered) map[string]admissionregistrationv1.ValidatingWebhook {
	t.Helper()
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.one(t, "MutatingWebhookConfiguration", &m)
	r.one(t, "ValidatingWebhookConfiguration", &v)
	if len(m.Webhooks) != 1 || len(v.Webhooks) != 1 {
		t.Fatalf("want one webhook per configuration, got %d mutating and %d validating", len(m.Webhooks), len(v.Webhooks))
	}
	mw := m.Webhooks[0]
	if mw.ReinvocationPolicy == nil || *mw.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
		t.Errorf("mutating webhook reinvocationPolicy = %v, want IfNeeded so sidecars added later are pinned too", mw.ReinvocationPolicy)
	}
	// The fields the two kinds share are what the tests check; convert the mutating one.
	return map[string]admissionregistrationv1.ValidatingWebhook{
		"mutating": {
			Name: mw.Name, ClientConfig: mw.ClientConfig, Rules: mw.Rules, FailurePolicy: mw.FailurePolicy,
			MatchPolicy: mw.MatchPolicy, NamespaceSelector: mw.NamespaceSelector, ObjectSelector: mw.ObjectSelector,
			SideEffects: mw.SideEffects, TimeoutSeconds: mw.TimeoutSeconds,
			AdmissionReviewVersions: mw.AdmissionReviewVersions, MatchConditions: mw.MatchConditions,
		},
		"validating": v.Webhooks[0],
	}
}

func TestWebhooksCoverEveryWorkloadKindOnCreateAndUpdate(t *testing.T) {
	t.Parallel()
	for which, wh := range webhooks(t, render(t)) {
		covered := map[string][]admissionregistrationv1.OperationType{}
		for _, rule := range wh.Rules {
			if !slices.Equal(rule.APIVersions, []string{"v1"}) {
				t.Errorf("%s webhook rule %v: apiVersions %v, want [v1]", which, rule.Resources, rule.APIVersions)
			}
			if rule.Scope == nil || *rule.Scope != admissionregistrationv1.NamespacedScope {
				t.Errorf("%s webhook rule %v: scope %v, want Namespaced", which, rule.Resources, rule.Scope)
			}
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					if g == "*" || res == "*" || strings.HasSuffix(res, "/*") {
						t.Errorf("%s webhook has wildcard rule %s/%s: list the kinds", which, g, res)
					}
					covered[g+"/"+res] = rule.Operations
				}
			}
		}
		for _, kind := range webhookKinds {
			ops, ok := covered[kind]
			if !ok {
				t.Errorf("%s webhook does not cover %s", which, kind)
				continue
			}
			if !slices.Equal(ops, []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}) {
				t.Errorf("%s webhook: %s operations %v, want [CREATE UPDATE] (DELETE and CONNECT always pass)", which, kind, ops)
			}
		}
		if len(covered) != len(webhookKinds) {
			t.Errorf("%s webhook covers %d resources, want exactly the %d in DESIGN.md: %v", which, len(covered), len(webhookKinds), covered)
		}
	}
}

func TestWebhooksAreSafeByDefault(t *testing.T) {
	t.Parallel()
	for which, wh := range webhooks(t, render(t)) {
		if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("%s webhook sideEffects = %v, want None (dry-run requests must reach it)", which, wh.SideEffects)
		}
		if !slices.Equal(wh.AdmissionReviewVersions, []string{"v1"}) {
			t.Errorf("%s webhook admissionReviewVersions = %v, want [v1]", which, wh.AdmissionReviewVersions)
		}
		if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Fail {
			t.Errorf("%s webhook failurePolicy = %v, want Fail by default", which, wh.FailurePolicy)
		}
		if wh.TimeoutSeconds == nil || *wh.TimeoutSeconds != 10 {
			t.Errorf("%s webhook timeoutSeconds = %v, want 10 by default", which, wh.TimeoutSeconds)
		}
		if wh.ObjectSelector != nil {
			t.Errorf("%s webhook has an objectSelector %v: labels are submitter-controlled and must exempt nothing", which, wh.ObjectSelector)
		}
		svc := wh.ClientConfig.Service
		if svc == nil || svc.Name != fullname || svc.Namespace != namespace || svc.Port == nil || *svc.Port != 443 {
			t.Errorf("%s webhook clientConfig.service = %+v, want %s/%s port 443", which, svc, namespace, fullname)
		} else if want := "/" + strings.TrimSuffix(which, "ing") + "e"; svc.Path == nil || *svc.Path != want {
			t.Errorf("%s webhook path = %v, want %s", which, svc.Path, want)
		}
	}
}

func TestWebhookSettingsFollowValues(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "webhook.failurePolicy=Ignore", "--set", "webhook.timeoutSeconds=20", "--set", "webhook.deadlineMargin=1500ms")
	for which, wh := range webhooks(t, r) {
		if *wh.FailurePolicy != admissionregistrationv1.Ignore || *wh.TimeoutSeconds != 20 {
			t.Errorf("%s webhook failurePolicy %v timeoutSeconds %v, want Ignore and 20", which, *wh.FailurePolicy, *wh.TimeoutSeconds)
		}
	}
	env := webhookEnv(t, r)
	if env["SIGNET_DEFAULT_TIMEOUT"] != "20s" || env["SIGNET_DEADLINE_MARGIN"] != "1500ms" {
		t.Errorf("webhook deadline settings = %q, %q; want 20s and 1500ms", env["SIGNET_DEFAULT_TIMEOUT"], env["SIGNET_DEADLINE_MARGIN"])
	}
}

func TestOnlyOneWebhookCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "webhook.mutating.enabled=false")
	if r.has("MutatingWebhookConfiguration") || !r.has("ValidatingWebhookConfiguration") {
		t.Errorf("with mutating disabled: mutating %v, validating %v; want only validating", r.has("MutatingWebhookConfiguration"), r.has("ValidatingWebhookConfiguration"))
	}
	msg := renderError(t, "--set", "webhook.mutating.enabled=false", "--set", "webhook.validating.enabled=false")
	if !strings.Contains(msg, "enable at least the validating webhook") {
		t.Errorf("disabling both webhooks: error %q does not say what to enable", msg)
	}
}

// namespaceLabels are the labels the API server puts on a namespace, plus extra.
func namespaceLabels(name string, extra ...string) labels.Set {
	l := labels.Set{"kubernetes.io/metadata.name": name}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func TestNamespaceSelectorExcludesSystemReleaseAndOptedOutNamespaces(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		set  []string
		ns   labels.Set
		sent bool
	}{
		"A team namespace is sent to the webhook.": {
			ns: namespaceLabels("team-a"), sent: true,
		},
		"The default namespace is sent to the webhook.": {
			ns: namespaceLabels("default"), sent: true,
		},
		"kube-system is never sent, so the control plane can start without the webhook.": {
			ns: namespaceLabels("kube-system"),
		},
		"The release namespace is never sent, so the webhook can start itself.": {
			ns: namespaceLabels(namespace),
		},
		"A namespace labelled to opt out is not sent.": {
			ns: namespaceLabels("legacy", "policy.signet.dev/exclude", "true"),
		},
		"The opt-out label works whatever its value.": {
			ns: namespaceLabels("legacy", "policy.signet.dev/exclude", ""),
		},
		"A namespace listed in excludedNamespaces is not sent.": {
			set: []string{"--set", "webhook.excludedNamespaces={ci,sandbox}"},
			ns:  namespaceLabels("sandbox"),
		},
		"Listing other namespaces still excludes kube-system.": {
			set: []string{"--set", "webhook.excludedNamespaces={ci}"},
			ns:  namespaceLabels("kube-system"),
		},
		"A custom opt-out label replaces the default one.": {
			set: []string{"--set", "webhook.optOutLabel=example.com/no-signet"},
			ns:  namespaceLabels("legacy", "policy.signet.dev/exclude", "true"), sent: true,
		},
		"With the opt-out label turned off, a labelled namespace is sent.": {
			set: []string{"--set", "webhook.optOutLabel="},
			ns:  namespaceLabels("legacy", "policy.signet.dev/exclude", "true"), sent: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for which, wh := range webhooks(t, render(t, tc.set...)) {
				sel, err := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
				if err != nil {
					t.Fatalf("%s webhook namespaceSelector: %v", which, err)
				}
				if got := sel.Matches(tc.ns); got != tc.sent {
					t.Errorf("%s webhook: namespace %v sent = %v, want %v (selector %s)", which, tc.ns, got, tc.sent, sel)
				}
			}
		})
	}
}

func TestNamespacesAreExcludedByTheirNameLabel(t *testing.T) {
	t.Parallel()
	for which, wh := range webhooks(t, render(t)) {
		var byName *metav1.LabelSelectorRequirement
		for i, req := range wh.NamespaceSelector.MatchExpressions {
			if req.Key == "kubernetes.io/metadata.name" {
				byName = &wh.NamespaceSelector.MatchExpressions[i]
			}
		}
		if byName == nil || byName.Operator != metav1.LabelSelectorOpNotIn {
			t.Fatalf("%s webhook: no kubernetes.io/metadata.name NotIn expression in %+v", which, wh.NamespaceSelector)
		}
		if want := []string{"kube-system", namespace}; !slices.Equal(byName.Values, want) {
			t.Errorf("%s webhook excludes %v by name, want exactly %v by default", which, byName.Values, want)
		}
	}
}

func TestMatchConditionsSkipOnlyUpdates(t *testing.T) {
	t.Parallel()
	for which, wh := range webhooks(t, render(t)) {
		if len(wh.MatchConditions) != 1 {
			t.Fatalf("%s webhook has %d matchConditions, want 1", which, len(wh.MatchConditions))
		}
		expr := wh.MatchConditions[0].Expression
		// The expression must short-circuit to true for anything but an UPDATE.
		if !strings.HasPrefix(expr, "request.operation != 'UPDATE' ||") {
			t.Errorf("%s webhook matchCondition %q does not start by admitting every non-UPDATE request", which, expr)
		}
		for _, field := range []string{"spec", "template"} {
			if !strings.Contains(expr, fmt.Sprintf("object.%s != oldObject.%s", field, field)) {
				t.Errorf("%s webhook matchCondition %q does not compare %s", which, expr, field)
			}
		}
	}
	r := render(t, "--set", "webhook.skipMetadataOnlyUpdates=false")
	for which, wh := range webhooks(t, r) {
		if len(wh.MatchConditions) != 0 {
			t.Errorf("%s webhook with skipMetadataOnlyUpdates=false has matchConditions %v", which, wh.MatchConditions)
		}
	}
}
