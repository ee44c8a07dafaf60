package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
)

// registryFlags is how a command reaches registries. Every registry call goes through one
// pkg/resolver Registry built from these, as the webhook's do.
type registryFlags struct {
	CAFiles       []string
	Insecure      bool
	InsecureHosts []string
	DockerConfig  string
	Username      string
	Password      string
}

func (f *registryFlags) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringSliceVar(&f.CAFiles, "tls-ca", nil, "extra CA bundle (PEM) trusted for registries (repeatable)")
	fs.BoolVar(&f.Insecure, "insecure", false, "allow plain HTTP to the registries this command names (never a silent fallback for others)")
	fs.StringSliceVar(&f.InsecureHosts, "insecure-registry", nil, "registry host[:port] that may be reached over plain HTTP (repeatable)")
	fs.StringVar(&f.DockerConfig, "docker-config", "", "docker config.json with registry credentials (default $DOCKER_CONFIG/config.json or ~/.docker/config.json when present; credential helpers are not run)")
	fs.StringVar(&f.Username, "username", "", "registry username (as `stacker publish --username`); applies to the registry the command writes to or reads")
	fs.StringVar(&f.Password, "password", "", "registry password for --username (or set SIGNET_REGISTRY_PASSWORD, which keeps it out of process lists)")
}

// registry builds the Registry for a command. authHost is the registry --username applies to;
// hosts are the registries the command names, made insecure by --insecure.
func (f *registryFlags) registry(authHost string, hosts ...string) (*resolver.Registry, error) {
	opts := []resolver.Option{resolver.WithUserAgent("signet-cli"), resolver.WithInsecureHosts(f.InsecureHosts...)}
	if f.Insecure {
		opts = append(opts, resolver.WithInsecureHosts(hosts...))
	}
	for _, ca := range f.CAFiles {
		opts = append(opts, resolver.WithCABundleFile(ca))
	}
	var chain []authn.Keychain
	password := f.Password
	if password == "" {
		password = os.Getenv("SIGNET_REGISTRY_PASSWORD")
	}
	switch {
	case f.Username != "" && authHost == "":
		return nil, usageError{errors.New("--username: this command names no registry to log in to")}
	case f.Username != "":
		chain = append(chain, publisher.BasicAuthKeychain(authHost, f.Username, password))
	case f.Password != "":
		return nil, usageError{errors.New("--password needs --username")}
	}
	if cfg := f.dockerConfigPath(); cfg != "" {
		k, err := resolver.DockerConfigKeychain(cfg)
		if err != nil {
			return nil, fmt.Errorf("--docker-config: %w", err)
		}
		chain = append(chain, k)
	}
	if len(chain) > 0 {
		opts = append(opts, resolver.WithKeychain(authn.NewMultiKeychain(chain...)))
	}
	reg, err := resolver.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry options: %w", err)
	}
	return reg, nil
}

func (f *registryFlags) dockerConfigPath() string {
	if f.DockerConfig != "" {
		return f.DockerConfig
	}
	var p string
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		p = filepath.Join(d, "config.json")
	} else if home, err := os.UserHomeDir(); err == nil {
		p = filepath.Join(home, ".docker", "config.json")
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// signingFlags load the private key that signs.
type signingFlags struct {
	Key         string
	Format      string
	Annotations []string
	Recursive   bool
}

func (f *signingFlags) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.Key, "key", "", "cosign private key (cosign.key); its password comes from COSIGN_PASSWORD or a prompt")
	fs.StringVar(&f.Format, "format", string(publisher.FormatBoth), "signature format: legacy (the .sig tag), bundle (sigstore bundle as an OCI referrer) or both")
	fs.StringArrayVarP(&f.Annotations, "annotation", "a", nil, "key=value annotation in the signed payload (repeatable)")
	fs.BoolVar(&f.Recursive, "recursive", false, "for a multi-platform index, also sign each platform manifest")
}

func (f *signingFlags) options() (publisher.SignOptions, error) {
	format, err := publisher.ParseFormat(f.Format)
	if err != nil {
		return publisher.SignOptions{}, usageError{fmt.Errorf("--format: %w", err)}
	}
	ann, err := parseKeyValues(f.Annotations, "-a")
	if err != nil {
		return publisher.SignOptions{}, err
	}
	return publisher.SignOptions{Format: format, Annotations: ann, Recursive: f.Recursive}, nil
}

func (f *signingFlags) signer(s *streams) (signature.SignerVerifier, error) {
	if f.Key == "" {
		return nil, usageError{errors.New("--key is required: the cosign private key to sign with (make one with `signet generate-key-pair`)")}
	}
	priv, err := os.ReadFile(f.Key)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	pw, err := password(s, "Enter password for private key: ", false)
	if err != nil {
		return nil, err
	}
	sv, err := publisher.LoadSigner(priv, pw)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", f.Key, err)
	}
	return sv, nil
}

// password returns COSIGN_PASSWORD when set (also when empty), else asks on the terminal.
func password(s *streams, prompt string, confirm bool) ([]byte, error) {
	if pw, ok := os.LookupEnv("COSIGN_PASSWORD"); ok {
		return []byte(pw), nil
	}
	f, ok := s.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("no password: set COSIGN_PASSWORD (it may be empty) or run on a terminal to be asked")
	}
	fmt.Fprint(s.err, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(s.err)
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	if confirm {
		fmt.Fprint(s.err, "Enter password again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.err)
		if err != nil {
			return nil, fmt.Errorf("reading password: %w", err)
		}
		if string(again) != string(pw) {
			return nil, errors.New("the passwords differ")
		}
	}
	return pw, nil
}

// outputFlags choose text or JSON on stdout.
type outputFlags struct {
	Output string
}

func (f *outputFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.Output, "output", "o", "text", "text, or json for machines (one JSON object on stdout)")
}

func (f *outputFlags) validate() error {
	if f.Output != "text" && f.Output != "json" {
		return usageError{fmt.Errorf("--output %q: use text or json", f.Output)}
	}
	return nil
}

// print writes v as JSON, or text as is.
func (f *outputFlags) print(w io.Writer, text string, v any) error {
	if f.Output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprint(w, text)
	return err
}

// buildFlags read a build file.
type buildFlags struct {
	File       string
	Substitute []string
}

func (f *buildFlags) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&f.File, "file", "f", "stacker.yaml", "stacker-style build file")
	fs.StringArrayVar(&f.Substitute, "substitute", nil, "NAME=VALUE for ${{NAME}} in the build file (repeatable)")
}

func (f *buildFlags) read() (*publisher.BuildFile, error) {
	subs, err := parseKeyValues(f.Substitute, "--substitute")
	if err != nil {
		return nil, err
	}
	return publisher.ReadBuildFile(f.File, subs)
}

func parseKeyValues(kvs []string, flag string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("%s %q: write KEY=VALUE", flag, kv)}
		}
		m[k] = v
	}
	return m, nil
}

// isTerminal reports whether w is a terminal (progress is shown only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
