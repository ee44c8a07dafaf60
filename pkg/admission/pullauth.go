package admission

import (
	"encoding/json"
	"fmt"
)

// PullAuth says whose registry credentials may be used for an object's images: the credentials the
// kubelet would use to pull them. It is passed to the Resolver and Verifier explicitly, never
// through the context. The zero value means the webhook's own credentials only.
type PullAuth struct {
	// Namespace is the object's namespace.
	Namespace string
	// ServiceAccount is the pod spec's serviceAccountName, "default" when the spec names none (as
	// the API server's ServiceAccount admission fills it in).
	ServiceAccount string
	// PullSecrets are the names of the pod spec's imagePullSecrets, in order.
	PullSecrets []string
}

// podAuthFields are the pod-spec fields that say which credentials pull the images.
type podAuthFields struct {
	ServiceAccountName string `json:"serviceAccountName"`
	// DeprecatedServiceAccount is the old name of the field; the API server still accepts it.
	DeprecatedServiceAccount string `json:"serviceAccount"`
	ImagePullSecrets         []struct {
		Name string `json:"name"`
	} `json:"imagePullSecrets"`
}

// PodPullAuth reads the service account and imagePullSecrets of obj's pod spec, a JSON object of the
// given kind in namespace. A kind signet does not know is an error; an object without a pod spec
// has the namespace's default service account and no pull secrets.
func PodPullAuth(kind string, obj []byte, namespace string) (PullAuth, error) {
	a := PullAuth{Namespace: namespace, ServiceAccount: "default"}
	raw, path, err := findPodSpec(kind, obj)
	if err != nil || raw == nil {
		return a, err
	}
	var f podAuthFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return a, fmt.Errorf("decoding %s %s: %w", kind, fieldPath(path), err)
	}
	switch {
	case f.ServiceAccountName != "":
		a.ServiceAccount = f.ServiceAccountName
	case f.DeprecatedServiceAccount != "":
		a.ServiceAccount = f.DeprecatedServiceAccount
	}
	for _, s := range f.ImagePullSecrets {
		if s.Name != "" {
			a.PullSecrets = append(a.PullSecrets, s.Name)
		}
	}
	return a, nil
}
