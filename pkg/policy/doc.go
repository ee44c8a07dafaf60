// Package policy owns signet's image policies: the API types (ClusterImagePolicy, ImagePolicy,
// from which make generate writes the CRDs), loading them from YAML files (FileSource) and from the
// cluster (ClusterSource: informers on the policies, on each Secret they name and on namespace
// labels; status conditions written back), compiling them into immutable Policy values (image
// globs, namespace selectors, public keys parsed from PEM, a fingerprint for verdict caches) and
// the Set that the request path asks which policies apply to an image. Combine serves several
// sources as one.
//
// A cluster policy that does not compile stays in force as a broken Policy (Err set) that every
// image it matches fails, so a missing Secret or a typo never admits what the policy guards.
//
// All I/O (files, Secrets) happens when policies are compiled. Nothing on the request path
// (Set.Match, Policy.Matches, Policy.AppliesTo, Glob.Match, NormalizeImage) reads files, talks to
// the API server or allocates much.
package policy

// The policy API's group and version, for controller-gen (make generate).
// +groupName=policy.signet.dev
// +versionName=v1alpha1
