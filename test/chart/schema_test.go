package chart

import (
	"strings"
	"testing"
)

func TestSchemaRejectsTyposAndWrongTypes(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		set  []string
		want string // the part of helm's message that points at the bad value
	}{
		"A misspelt top-level key is rejected.": {
			set: []string{"--set", "replicaCont=3"}, want: "'replicaCont' not allowed",
		},
		"A misspelt nested key is rejected.": {
			set: []string{"--set", "webhook.failurPolicy=Ignore"}, want: "'failurPolicy' not allowed",
		},
		"A key under tls.helm that does not exist is rejected.": {
			set: []string{"--set", "tls.helm.validity=30"}, want: "'validity' not allowed",
		},
		"A string where a number belongs is rejected.": {
			set: []string{"--set", "replicaCount=two"}, want: "/replicaCount",
		},
		"A number where a boolean belongs is rejected.": {
			set: []string{"--set-json", "policies.cluster=1"}, want: "/policies/cluster",
		},
		"Zero replicas are rejected.": {
			set: []string{"--set", "replicaCount=0"}, want: "/replicaCount",
		},
		"A failurePolicy in the wrong case is rejected.": {
			set: []string{"--set", "webhook.failurePolicy=fail"}, want: "/webhook/failurePolicy",
		},
		"A timeout beyond the API server's 30 s maximum is rejected.": {
			set: []string{"--set", "webhook.timeoutSeconds=31"}, want: "/webhook/timeoutSeconds",
		},
		"An unknown unmatched action is rejected.": {
			set: []string{"--set", "policies.unmatched=block"}, want: "/policies/unmatched",
		},
		"A duration without a unit is rejected.": {
			set: []string{"--set", "cache.tagTTL=30"}, want: "/cache/tagTTL",
		},
		"A deadline margin in minutes is rejected.": {
			set: []string{"--set", "webhook.deadlineMargin=1m"}, want: "/webhook/deadlineMargin",
		},
		"An image digest that is not sha256 is rejected.": {
			set: []string{"--set", "image.digest=md5:abc"}, want: "/image/digest",
		},
		"A TLS mode that does not exist is rejected.": {
			set: []string{"--set", "tls.mode=selfsigned"}, want: "/tls/mode",
		},
		"An insecure registry given as a URL is rejected.": {
			set: []string{"--set", "registries.insecure={http://zot.local:5000}"}, want: "/registries/insecure/0",
		},
		"Running as root is not a choice.": {
			set: []string{"--set", "securityContext.runAsUser=0"}, want: "/securityContext/runAsUser",
		},
		"Privileged settings cannot be smuggled into the securityContext.": {
			set: []string{"--set", "securityContext.privileged=true"}, want: "'privileged' not allowed",
		},
		"A policy file name that is not YAML is rejected.": {
			set: []string{"--set", "policies.files.policy\\.json=x"}, want: "'policy.json' does not match",
		},
		"A registry CA bundle that is not PEM is rejected.": {
			set: []string{"--set", "registries.caBundles.corp=not-a-certificate"}, want: "/registries/caBundles/corp",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg := renderError(t, tc.set...)
			if !strings.Contains(msg, "schema") || !strings.Contains(msg, tc.want) {
				t.Errorf("helm's message does not point at the bad value (want %q):\n%s", tc.want, msg)
			}
		})
	}
}

func TestTemplatesRefuseSettingsThatCannotWork(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		set  []string
		want string
	}{
		"A deadline margin of half the timeout leaves no time to answer.": {
			set: []string{"--set", "webhook.timeoutSeconds=4", "--set", "webhook.deadlineMargin=2s"}, want: "webhook.deadlineMargin",
		},
		"No policy source at all is refused.": {
			set: []string{"--set", "policies.cluster=false"}, want: "no policies",
		},
		"The example policy needs a public key.": {
			set: []string{"--set", "policies.example.enabled=true", "--set", "policies.example.images={registry.example.com/**}"}, want: "policies.example.publicKey",
		},
		"The example policy needs image globs.": {
			set: []string{"--set", "policies.example.enabled=true"}, want: "policies.example.images",
		},
		"An existing ServiceAccount must be named.": {
			set: []string{"--set", "serviceAccount.create=false"}, want: "serviceAccount.name",
		},
		"A ServiceMonitor needs the Prometheus operator's API.": {
			set: []string{"--set", "metrics.serviceMonitor.enabled=true"}, want: "monitoring.coreos.com/v1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if msg := renderError(t, tc.set...); !strings.Contains(msg, tc.want) {
				t.Errorf("error does not name %q:\n%s", tc.want, msg)
			}
		})
	}
}
