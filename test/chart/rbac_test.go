package chart

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// grants reports whether rules allow verb on group/resource.
func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// rule is one (group, resource) and its verbs, as docs/rbac.md lists them.
type rule struct {
	group, resource string
	verbs           []string
}

var (
	policyRules = []rule{
		{"policy.signet.dev", "clusterimagepolicies", []string{"list", "watch"}},
		{"policy.signet.dev", "imagepolicies", []string{"list", "watch"}},
		{"policy.signet.dev", "clusterimagepolicies/status", []string{"patch"}},
		{"policy.signet.dev", "imagepolicies/status", []string{"patch"}},
		{"", "namespaces", []string{"list", "watch"}},
	}
	pullSecretRules = []rule{
		{"", "serviceaccounts", []string{"list", "watch"}},
	}
	allSecretsRule = rule{"", "secrets", []string{"list", "watch"}}
)

// checkExactly fails t unless rules grant exactly want: every verb listed and nothing more.
func checkExactly(t *testing.T, what string, rules []rbacv1.PolicyRule, want []rule) {
	t.Helper()
	allowed := 0
	for _, w := range want {
		for _, verb := range w.verbs {
			if !grants(rules, w.group, w.resource, verb) {
				t.Errorf("%s does not grant %s on %s/%s", what, verb, w.group, w.resource)
			}
			allowed++
		}
	}
	granted := 0
	for _, r := range rules {
		for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs} {
			if slices.Contains(list, "*") {
				t.Errorf("%s rule %+v uses a wildcard", what, r)
			}
		}
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("%s has an unexpected rule %+v", what, r)
		}
		granted += len(r.APIGroups) * len(r.Resources) * len(r.Verbs)
	}
	if granted != allowed {
		t.Errorf("%s grants %d (group, resource, verb) triples, want exactly the %d docs/rbac.md documents: %+v", what, granted, allowed, rules)
	}
}

// keyRoles returns the namespaces holding a Role that reads Secrets, bound to the webhook.
func keyRoles(t *testing.T, r *rendered) []string {
	t.Helper()
	roles := map[string]bool{}
	for _, o := range r.all("Role") {
		var ro rbacv1.Role
		o.decode(t, &ro)
		checkExactly(t, "Role "+ro.Namespace+"/"+ro.Name, ro.Rules, []rule{allSecretsRule})
		roles[ro.Namespace+"/"+ro.Name] = true
	}
	var bound []string
	for _, o := range r.all("RoleBinding") {
		var rb rbacv1.RoleBinding
		o.decode(t, &rb)
		if !roles[rb.Namespace+"/"+rb.RoleRef.Name] {
			t.Errorf("RoleBinding %s/%s binds a Role the chart does not make", rb.Namespace, rb.Name)
		}
		if len(rb.Subjects) == 1 && rb.Subjects[0].Name == fullname && rb.Subjects[0].Namespace == namespace {
			bound = append(bound, rb.Namespace)
		}
	}
	if len(bound) != len(roles) {
		t.Errorf("%d key Roles but %d bound to the webhook", len(roles), len(bound))
	}
	return bound
}

func TestRBACGrantsWhatDocsRBACListsAndNoMore(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		set           []string
		clusterRole   []rule
		keyNamespaces []string
		env           string
	}{
		"By default: policies, pull secrets, so Secrets cluster-wide.": {
			clusterRole: append(append(slices.Clone(policyRules), pullSecretRules...), allSecretsRule),
			env:         namespace,
		},
		"Without pull-secret lookup, keys are read in the release namespace only.": {
			set:           []string{"--set", "registries.pullSecretLookup=false"},
			clusterRole:   policyRules,
			keyNamespaces: []string{namespace},
			env:           namespace,
		},
		"Listed key namespaces each get a Role.": {
			set:           []string{"--set", "registries.pullSecretLookup=false", "--set", "secretNamespaces={signet-keys,team-a}"},
			clusterRole:   policyRules,
			keyNamespaces: []string{"signet-keys", "team-a"},
			env:           "signet-keys,team-a",
		},
		"Keys in any namespace need the cluster-wide Secret read.": {
			set:         []string{"--set", "registries.pullSecretLookup=false", "--set", "secretNamespaces={*}"},
			clusterRole: append(slices.Clone(policyRules), allSecretsRule),
			env:         "*",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := render(t, tc.set...)
			var role rbacv1.ClusterRole
			r.one(t, "ClusterRole", &role)
			checkExactly(t, "ClusterRole", role.Rules, tc.clusterRole)
			var binding rbacv1.ClusterRoleBinding
			r.one(t, "ClusterRoleBinding", &binding)
			if binding.RoleRef.Name != role.Name || len(binding.Subjects) != 1 ||
				binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != fullname || binding.Subjects[0].Namespace != namespace {
				t.Errorf("ClusterRoleBinding %+v does not bind %s to the webhook's ServiceAccount", binding, role.Name)
			}
			if got := keyRoles(t, r); !slices.Equal(got, tc.keyNamespaces) {
				t.Errorf("key Secret Roles in %v, want %v", got, tc.keyNamespaces)
			}
			if env := webhookEnv(t, r); env["SIGNET_SECRET_NAMESPACES"] != tc.env {
				t.Errorf("SIGNET_SECRET_NAMESPACES = %q, want %q: the webhook must watch where it may read", env["SIGNET_SECRET_NAMESPACES"], tc.env)
			}
		})
	}
}

func TestNoAPIAccessWithoutClusterPoliciesOrPullSecrets(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "policies.cluster=false", "--set", "registries.pullSecretLookup=false",
		"--set-string", "policies.files.team\\.yaml=kind: ClusterImagePolicy")
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		if r.has(kind) {
			t.Errorf("a webhook that never calls the API server gets a %s", kind)
		}
	}
	d := deployment(t, r)
	if tok := d.Spec.Template.Spec.AutomountServiceAccountToken; tok == nil || *tok {
		t.Errorf("automountServiceAccountToken = %v, want false", tok)
	}
	env := webhookEnv(t, r)
	if _, ok := env["SIGNET_SECRET_NAMESPACES"]; ok || env["SIGNET_CLUSTER_POLICIES"] != "false" {
		t.Errorf("file-only policies: cluster policies %q, secret namespaces set %v", env["SIGNET_CLUSTER_POLICIES"], ok)
	}
}

// TestRBACNamesTheCRDsResources keeps the ClusterRole's resource names in step with the CRDs that
// controller-gen writes into crds/.
func TestRBACNamesTheCRDsResources(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(chartDir(), "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s/crds (run `make generate`): %v", chartDir(), err)
	}
	var role rbacv1.ClusterRole
	render(t).one(t, "ClusterRole", &role)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := decodeAll(string(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// The two fields needed; apiextensions-apiserver is not a dependency of the main module.
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Plural string `json:"plural"`
				} `json:"names"`
			} `json:"spec"`
		}
		objs := r.all("CustomResourceDefinition")
		if len(objs) != 1 {
			t.Fatalf("%s holds %d CRDs, want 1", f, len(objs))
		}
		if err := yaml.Unmarshal(objs[0].json, &crd); err != nil {
			t.Fatal(err)
		}
		for _, verb := range []string{"list", "watch"} {
			if !grants(role.Rules, crd.Spec.Group, crd.Spec.Names.Plural, verb) {
				t.Errorf("%s: the ClusterRole does not grant %s on %s.%s", filepath.Base(f), verb, crd.Spec.Names.Plural, crd.Spec.Group)
			}
		}
		if !grants(role.Rules, crd.Spec.Group, crd.Spec.Names.Plural+"/status", "patch") {
			t.Errorf("%s: the ClusterRole cannot patch %s/status", filepath.Base(f), crd.Spec.Names.Plural)
		}
	}
	out, err := helm(t, templateArgs("--include-crds")...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.all("CustomResourceDefinition")); n != len(files) {
		t.Errorf("helm template --include-crds renders %d CRDs, crds/ holds %d", n, len(files))
	}
}
