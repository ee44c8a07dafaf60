package policy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and Version of the policy API. The same schema is used for YAML files and (later) CRDs.
const (
	Group   = "policy.signet.dev"
	Version = "v1alpha1"

	KindClusterImagePolicy = "ClusterImagePolicy"
	KindImagePolicy        = "ImagePolicy"
)

// ClusterImagePolicy is a cluster-scoped policy: which images must carry which signatures.
type ClusterImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec"`
}

// ImagePolicy is the namespaced form of ClusterImagePolicy; it applies to its own namespace only.
type ImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec"`
}

// ImagePolicySpec is what a policy requires of the images it matches.
type ImagePolicySpec struct {
	// Images are globs matched against the normalised image name (registry/repository, no tag or
	// digest). `*` stays within a path segment, `**` crosses segments; globs are anchored.
	Images []ImagePattern `json:"images"`

	// NamespaceSelector limits a cluster policy to matching namespaces (nil: all namespaces).
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Mode is enforce (deny, the default), warn (allow with warnings) or audit (allow, record).
	Mode Mode `json:"mode,omitempty"`

	// PinDigest makes the mutating endpoint rewrite tags to digests. Default true.
	PinDigest *bool `json:"pinDigest,omitempty"`

	// Authorities are the trusted signers. At least one is required.
	Authorities []Authority `json:"authorities"`

	// Threshold is how many distinct authorities must have a verifying signature. Default 1.
	Threshold int `json:"threshold,omitempty"`

	// Annotations must appear in the signed payload with exactly these values.
	Annotations map[string]string `json:"annotations,omitempty"`

	// MultiArch says what must be signed when the image is an index: index (default), platforms, any.
	MultiArch MultiArch `json:"multiArch,omitempty"`

	// FailurePolicy says what happens when the registry cannot be asked: closed (deny, default) or open.
	FailurePolicy FailurePolicy `json:"failurePolicy,omitempty"`
}

// ImagePattern is one image glob.
type ImagePattern struct {
	Glob string `json:"glob"`
}

// Authority is one trusted signer, identified by one or more public keys.
type Authority struct {
	// Name identifies the authority in messages. Default: authority-<index>.
	Name string `json:"name,omitempty"`
	Key  KeyRef `json:"key"`
}

// KeyRef says where an authority's public keys are. Exactly one field must be set.
type KeyRef struct {
	// Data holds PEM; every PUBLIC KEY block is a key.
	Data string `json:"data,omitempty"`
	// Path is a file holding PEM (policy files only; relative paths are relative to the policy file).
	Path string `json:"path,omitempty"`
	// SecretRef names a Secret whose data holds PEM public keys.
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// SecretRef names a Secret. Namespaced policies may only name Secrets in their own namespace.
type SecretRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Mode is what a policy does with an image that fails it.
type Mode string

const (
	ModeEnforce Mode = "enforce"
	ModeWarn    Mode = "warn"
	ModeAudit   Mode = "audit"
)

// MultiArch says which of an index and its platform manifests must be signed.
type MultiArch string

const (
	MultiArchIndex     MultiArch = "index"
	MultiArchPlatforms MultiArch = "platforms"
	MultiArchAny       MultiArch = "any"
)

// FailurePolicy is what a policy does when the registry cannot be asked.
type FailurePolicy string

const (
	FailClosed FailurePolicy = "closed"
	FailOpen   FailurePolicy = "open"
)
