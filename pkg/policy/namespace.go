package policy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// namespaceNameLabel is set by the API server on every namespace; AppliesTo always adds it, so
// selectors on it work without looking the namespace up.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// namespaceMatcher is a compiled namespace selector. The zero value matches every namespace.
type namespaceMatcher struct {
	sel labels.Selector // nil: all namespaces
	// needsLabels is set when the selector looks at labels other than the namespace's name, so
	// it cannot be judged from the name alone.
	needsLabels bool
}

func compileNamespaceSelector(ls *metav1.LabelSelector) (namespaceMatcher, error) {
	if ls == nil {
		return namespaceMatcher{}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return namespaceMatcher{}, err
	}
	m := namespaceMatcher{sel: sel}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Key() != namespaceNameLabel {
			m.needsLabels = true
		}
	}
	return m, nil
}

func (m namespaceMatcher) matches(namespace string, nsLabels map[string]string) bool {
	if m.sel == nil {
		return true
	}
	return m.sel.Matches(namespaceLabels{name: namespace, labels: nsLabels})
}

func (m namespaceMatcher) String() string {
	if m.sel == nil {
		return ""
	}
	return m.sel.String()
}

// namespaceLabels adds the name label to a namespace's labels without copying the map.
type namespaceLabels struct {
	name   string
	labels map[string]string
}

func (l namespaceLabels) Has(k string) bool {
	_, ok := l.Lookup(k)
	return ok
}

func (l namespaceLabels) Get(k string) string {
	v, _ := l.Lookup(k)
	return v
}

func (l namespaceLabels) Lookup(k string) (string, bool) {
	if k == namespaceNameLabel {
		return l.name, true
	}
	v, ok := l.labels[k]
	return v, ok
}

// AppliesTo reports whether the policy governs workloads in namespace: an ImagePolicy only its
// own namespace, a ClusterImagePolicy those its selector matches. nsLabels may be nil; the label
// kubernetes.io/metadata.name=namespace is always present.
func (p *Policy) AppliesTo(namespace string, nsLabels map[string]string) bool {
	if p.Namespace != "" {
		return namespace == p.Namespace
	}
	return p.selector.matches(namespace, nsLabels)
}

var _ labels.Labels = namespaceLabels{}
