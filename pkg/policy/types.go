package policy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and Version of the policy API. The same schema is used for YAML files and the CRDs.
const (
	Group   = "policy.signet.dev"
	Version = "v1alpha1"

	KindClusterImagePolicy = "ClusterImagePolicy"
	KindImagePolicy        = "ImagePolicy"
)

// The kubebuilder markers below generate the CRDs (deploy/helm/signet/crds) and
// zz_generated.deepcopy.go: run make generate after changing these types. CEL rules repeat the
// checks of Compile that the API server can make, so most mistakes are refused at kubectl apply.

// ClusterImagePolicy is a cluster-scoped policy: which images must carry which signatures.
//
// +kubebuilder:object:generate=true
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cip,categories=signet
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Images",type=string,JSONPath=`.spec.images[*].glob`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.spec.authorities.all(a, !has(a.key.secretRef) || has(a.key.secretRef.__namespace__))",message="a ClusterImagePolicy's key.secretRef needs a namespace"
type ClusterImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec"`
	// Status is written by signet-webhook.
	Status ImagePolicyStatus `json:"status,omitempty"`
}

// ClusterImagePolicyList is a list of ClusterImagePolicy.
//
// +kubebuilder:object:generate=true
// +kubebuilder:object:root=true
type ClusterImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterImagePolicy `json:"items"`
}

// ImagePolicy is the namespaced form of ClusterImagePolicy; it applies to its own namespace only
// and may read Secrets only there.
//
// +kubebuilder:object:generate=true
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=ip,categories=signet
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Images",type=string,JSONPath=`.spec.images[*].glob`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.namespaceSelector)",message="an ImagePolicy applies to its own namespace; remove spec.namespaceSelector or make it a ClusterImagePolicy"
type ImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec"`
	// Status is written by signet-webhook.
	Status ImagePolicyStatus `json:"status,omitempty"`
}

// ImagePolicyList is a list of ImagePolicy.
//
// +kubebuilder:object:generate=true
// +kubebuilder:object:root=true
type ImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImagePolicy `json:"items"`
}

// ImagePolicySpec is what a policy requires of the images it matches.
//
// +kubebuilder:object:generate=true
// +kubebuilder:validation:XValidation:rule="!has(self.threshold) || self.threshold <= size(self.authorities)",message="threshold cannot exceed the number of authorities; lower it or add authorities"
type ImagePolicySpec struct {
	// Images are globs matched against the normalised image name (registry/repository, no tag or
	// digest). `*` stays within a path segment, `**` crosses segments; globs are anchored.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Images []ImagePattern `json:"images"`

	// NamespaceSelector limits a cluster policy to matching namespaces (nil: all namespaces).
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Mode is enforce (deny, the default), warn (allow with warnings) or audit (allow, record).
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// PinDigest makes the mutating endpoint rewrite tags to digests. Default true.
	// +optional
	PinDigest *bool `json:"pinDigest,omitempty"`

	// Authorities are the trusted signers. At least one is required.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Authorities []Authority `json:"authorities"`

	// Threshold is how many distinct authorities must have a verifying signature. Default 1.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Threshold int `json:"threshold,omitempty"`

	// Annotations must appear in the signed payload with exactly these values.
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// MultiArch says what must be signed when the image is an index: index (default), platforms, any.
	// +optional
	MultiArch MultiArch `json:"multiArch,omitempty"`

	// FailurePolicy says what happens when the registry cannot be asked: closed (deny, default) or open.
	// +optional
	FailurePolicy FailurePolicy `json:"failurePolicy,omitempty"`
}

// ImagePattern is one image glob.
//
// +kubebuilder:object:generate=true
type ImagePattern struct {
	// Glob is e.g. ghcr.io/org/** or nginx (which means docker.io/library/nginx).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Glob string `json:"glob"`
}

// Authority is one trusted signer, identified by one or more public keys.
//
// +kubebuilder:object:generate=true
type Authority struct {
	// Name identifies the authority in messages. Default: authority-<index>.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Name string `json:"name,omitempty"`
	Key  KeyRef `json:"key"`
}

// KeyRef says where an authority's public keys are. Exactly one field must be set.
//
// +kubebuilder:object:generate=true
// +kubebuilder:validation:XValidation:rule="(has(self.data) ? 1 : 0) + (has(self.path) ? 1 : 0) + (has(self.secretRef) ? 1 : 0) == 1",message="set exactly one of key.data and key.secretRef"
// +kubebuilder:validation:XValidation:rule="!has(self.path)",message="key.path is for policy files only; in the cluster use key.secretRef (or key.data)"
type KeyRef struct {
	// Data holds PEM; every PUBLIC KEY block is a key.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Data string `json:"data,omitempty"`
	// Path is a file holding PEM (policy files only; relative paths are relative to the policy file).
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Path string `json:"path,omitempty"`
	// SecretRef names a Secret whose data holds PEM public keys.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// SecretRef names a Secret. Namespaced policies may only name Secrets in their own namespace.
//
// +kubebuilder:object:generate=true
type SecretRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace is required in a ClusterImagePolicy; an ImagePolicy may leave it out or name its own.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// ImagePolicyStatus is what signet-webhook reports about a policy.
//
// +kubebuilder:object:generate=true
type ImagePolicyStatus struct {
	// ObservedGeneration is the metadata.generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready is True when the policy compiled with all its keys, False with a reason
	// (SecretNotFound, SecretNotReadable, NoPublicKey, InvalidSpec) when it is broken: then every
	// image it matches fails it (denied in enforce mode, warned about in warn, recorded in audit).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Mode is what a policy does with an image that fails it.
//
// +kubebuilder:validation:Enum=enforce;warn;audit
type Mode string

const (
	ModeEnforce Mode = "enforce"
	ModeWarn    Mode = "warn"
	ModeAudit   Mode = "audit"
)

// MultiArch says which of an index and its platform manifests must be signed.
//
// +kubebuilder:validation:Enum=index;platforms;any
type MultiArch string

const (
	MultiArchIndex     MultiArch = "index"
	MultiArchPlatforms MultiArch = "platforms"
	MultiArchAny       MultiArch = "any"
)

// FailurePolicy is what a policy does when the registry cannot be asked.
//
// +kubebuilder:validation:Enum=closed;open
type FailurePolicy string

const (
	FailClosed FailurePolicy = "closed"
	FailOpen   FailurePolicy = "open"
)
