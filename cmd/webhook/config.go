package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// config is everything signet-webhook can be told. Every flag has an environment variable:
// SIGNET_ and the flag name in upper case with dashes as underscores (--tag-cache-ttl is
// SIGNET_TAG_CACHE_TTL). A flag given on the command line wins over its variable.
type config struct {
	Listen          string
	TLSCertFile     string
	TLSKeyFile      string
	CertReload      time.Duration
	SelfSigned      bool
	SelfSignedCA    string
	SelfSignedHosts []string

	PolicyPaths    []string
	PolicyReload   time.Duration
	Unmatched      string
	DefaultTimeout time.Duration
	DeadlineMargin time.Duration
	MaxBodyBytes   int64

	// Cluster policies (ClusterImagePolicy, ImagePolicy) and the Secrets holding their keys.
	ClusterPolicies  bool
	Kubeconfig       string
	SecretNamespaces []string

	RegistryCAFiles    []string
	RegistryCAs        []string // HOST=FILE
	PullSecrets        bool
	InsecureRegistries []string
	DockerConfig       string
	TagCacheTTL        time.Duration
	CacheSize          int
	VerdictPassTTL     time.Duration
	VerdictFailTTL     time.Duration
	MaxSignatures      int
	RegistryMaxConns   int

	LogLevel        string
	ShutdownTimeout time.Duration
}

func (c *config) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", ":8443", "HTTPS address to serve admission reviews, health and metrics on")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "serving certificate (PEM); reloaded when it changes")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", "", "serving key (PEM); reloaded when it changes")
	fs.DurationVar(&c.CertReload, "tls-reload-interval", 10*time.Second, "how often to check the certificate files for changes")
	fs.BoolVar(&c.SelfSigned, "self-signed", false, "serve with a new in-memory CA and certificate (local use only)")
	fs.StringVar(&c.SelfSignedCA, "self-signed-ca-file", "signet-ca.pem", "with --self-signed: where to write the CA certificate clients should trust")
	fs.StringSliceVar(&c.SelfSignedHosts, "self-signed-hosts", []string{"localhost", "127.0.0.1", "::1"}, "with --self-signed: names and addresses the certificate is valid for")

	fs.StringSliceVar(&c.PolicyPaths, "policy", nil, "policy YAML file or directory (repeatable); reloaded when it changes")
	fs.BoolVar(&c.ClusterPolicies, "cluster-policies", false, "also enforce the cluster's ClusterImagePolicy and ImagePolicy objects, watched live (needs the CRDs and the RBAC in docs/rbac.md)")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig for reaching the API server; empty: the pod's service account (in-cluster)")
	fs.StringSliceVar(&c.SecretNamespaces, "secret-namespaces", nil, "with --cluster-policies: namespaces whose Secrets policies may name in key.secretRef (repeatable); * allows any namespace (needs cluster-wide Secret read, docs/rbac.md)")
	fs.DurationVar(&c.PolicyReload, "policy-reload-interval", 2*time.Second, "how often to check policy files and key files for changes")
	fs.StringVar(&c.Unmatched, "unmatched", "allow", "what to do with images no policy matches: allow, warn or deny")
	fs.DurationVar(&c.DefaultTimeout, "default-timeout", 10*time.Second, "review deadline when the API server sends no ?timeout=")
	fs.DurationVar(&c.DeadlineMargin, "deadline-margin", time.Second, "answer this long before the API server's timeout")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 7<<20, "largest AdmissionReview body accepted")

	fs.StringSliceVar(&c.RegistryCAFiles, "registry-ca-file", nil, "extra CA bundle (PEM) trusted for registries (repeatable)")
	fs.StringArrayVar(&c.RegistryCAs, "registry-ca", nil, "HOST=FILE: CA bundle (PEM) trusted for that registry host only (repeatable)")
	fs.BoolVar(&c.PullSecrets, "pull-secrets", true, "in a cluster, also use the pod's and its service account's imagePullSecrets (kubernetes.io/dockerconfigjson) to reach registries")
	fs.StringSliceVar(&c.InsecureRegistries, "insecure-registry", nil, "registry host[:port] reached over plain HTTP (repeatable); no other host ever is")
	fs.StringVar(&c.DockerConfig, "docker-config", "", "docker config.json with registry credentials; re-read when it changes")
	fs.DurationVar(&c.TagCacheTTL, "tag-cache-ttl", 30*time.Second, "how long a tag → digest answer is reused (0 disables)")
	fs.IntVar(&c.CacheSize, "cache-size", 10000, "entries per cache (tags, digests, verdicts)")
	fs.DurationVar(&c.VerdictPassTTL, "verdict-pass-ttl", 10*time.Minute, "how long a passing verdict for (digest, policy) is reused")
	fs.DurationVar(&c.VerdictFailTTL, "verdict-fail-ttl", 10*time.Second, "how long a failing verdict for (digest, policy) is reused")
	fs.IntVar(&c.MaxSignatures, "max-signatures", 32, "signatures examined per image at most")
	fs.IntVar(&c.RegistryMaxConns, "registry-max-concurrency", 16, "registry requests in flight at once per registry host")

	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long to let in-flight reviews finish")
}

// applyEnv sets every flag not given on the command line from its SIGNET_ variable.
func applyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		env := envName(f.Name)
		if v, ok := lookup(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", env, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

func envName(flag string) string {
	return "SIGNET_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// validate rejects settings that cannot work together, saying which flag to change.
func (c *config) validate() error {
	var errs []string
	switch {
	case c.SelfSigned && (c.TLSCertFile != "" || c.TLSKeyFile != ""):
		errs = append(errs, "--self-signed and --tls-cert-file/--tls-key-file exclude each other: choose one")
	case !c.SelfSigned && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		errs = append(errs, "no serving certificate: give --tls-cert-file and --tls-key-file, or --self-signed for local use")
	}
	if len(c.PolicyPaths) == 0 && !c.ClusterPolicies {
		errs = append(errs, "no policies: give --policy FILE_OR_DIR (or SIGNET_POLICY), --cluster-policies, or both")
	}
	if len(c.SecretNamespaces) > 0 && !c.ClusterPolicies {
		errs = append(errs, "--secret-namespaces is for cluster policies: add --cluster-policies or drop it")
	}
	if c.DefaultTimeout <= 0 || c.DeadlineMargin < 0 {
		errs = append(errs, "--default-timeout must be positive and --deadline-margin not negative")
	}
	if c.CacheSize < 1 || c.MaxSignatures < 1 || c.MaxBodyBytes < 1 || c.RegistryMaxConns < 1 {
		errs = append(errs, "--cache-size, --max-signatures, --max-body-bytes and --registry-max-concurrency must be at least 1")
	}
	for _, rc := range c.RegistryCAs {
		if host, file, ok := strings.Cut(rc, "="); !ok || host == "" || file == "" {
			errs = append(errs, fmt.Sprintf("--registry-ca %q: give HOST=FILE, e.g. registry.example:5000=/etc/signet/registry-ca.pem", rc))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func osLookup(k string) (string, bool) { return os.LookupEnv(k) }
