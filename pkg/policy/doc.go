// Package policy owns signet's image policies: the API types (ClusterImagePolicy, ImagePolicy),
// loading them from YAML files, compiling them into immutable Policy values (image globs, namespace
// selectors, public keys parsed from PEM, a fingerprint for verdict caches) and the Set that the
// request path asks which policies apply to an image.
//
// All I/O (files, Secrets) happens when policies are compiled. Nothing on the request path
// (Set.Match, Policy.Matches, Policy.AppliesTo, Glob.Match, NormalizeImage) reads files, talks to
// the API server or allocates much.
package policy
