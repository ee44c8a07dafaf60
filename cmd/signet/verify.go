package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/wiring"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/verify"
)

func newVerifyCmd(s *streams) *cobra.Command {
	var (
		out         outputFlags
		reg         registryFlags
		keys        []string
		policies    []string
		annotations []string
		namespace   string
		unmatched   string
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "verify (--key cosign.pub | --policy FILE) IMAGE...",
		Short: "Judge images exactly as the signet webhook would",
		Long: `Resolve and verify each IMAGE with the code the admission webhook runs (pkg/resolver,
pkg/verify, pkg/admission's decision) and print the webhook's decision text.

With --key, one policy matches every image and requires a signature by the key (and the -a
annotations). With --policy, the policy files the webhook reads are used as they are (modes,
thresholds, annotations, namespaces); an image no policy matches follows --unmatched, deny by
default here (the webhook's default is allow).

` + exitCodesHelp,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			set, err := verifyPolicies(keys, policies, annotations)
			if err != nil {
				return err
			}
			action, err := admission.ParseUnmatched(unmatched)
			if err != nil {
				return usageError{fmt.Errorf("--unmatched: %w", err)}
			}
			refs, hosts, err := parseImages(args)
			if err != nil {
				return err
			}
			authHost := ""
			if len(hosts) == 1 {
				authHost = hosts[0]
			}
			r, err := reg.registry(authHost, hosts...)
			if err != nil {
				return err
			}
			v := verify.New(verify.WithRemoteOptions(r.RemoteOptions))
			reviewer := &admission.Reviewer{
				Policies:  policy.Static{Set: set},
				Resolver:  wiring.Resolver(r),
				Verifier:  wiring.Verifier(v, r),
				Unmatched: action,
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			auth := admission.PullAuth{Namespace: namespace, ServiceAccount: "default"}
			var decisions []admission.ImageDecision
			for i := range refs {
				// The image as the user wrote it (without docker://), so messages name what they typed.
				img := strings.TrimPrefix(args[i], "docker://")
				decisions = append(decisions, reviewer.ReviewImage(ctx, auth, "image", img))
			}
			if err := out.print(s.out, decisionText(decisions), map[string]any{"decisions": decisions}); err != nil {
				return err
			}
			return verdictError(decisions)
		},
	}
	out.AddFlags(cmd)
	reg.AddFlags(cmd)
	fs := cmd.Flags()
	fs.StringArrayVar(&keys, "key", nil, "cosign public key file (cosign.pub); every PUBLIC KEY block in it is a key (repeatable)")
	fs.StringArrayVar(&policies, "policy", nil, "policy YAML file or directory, as the webhook reads them (repeatable)")
	fs.StringArrayVarP(&annotations, "annotation", "a", nil, "with --key: key=value the signed payload must carry (repeatable)")
	fs.StringVar(&namespace, "namespace", "default", "namespace the images would run in (selects namespaced policies and namespace selectors)")
	fs.StringVar(&unmatched, "unmatched", "deny", "images no policy matches: allow, warn or deny")
	fs.DurationVar(&timeout, "timeout", 60*time.Second, "give up on the registry after this long")
	return cmd
}

func verifyPolicies(keys, files, annotations []string) (*policy.Set, error) {
	switch {
	case len(keys) > 0 && len(files) > 0:
		return nil, usageError{errors.New("give --key or --policy, not both")}
	case len(files) > 0:
		if len(annotations) > 0 {
			return nil, usageError{errors.New("-a goes with --key; with --policy the policy's annotations apply")}
		}
		set, err := policy.LoadFiles(files...)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		return set, nil
	case len(keys) == 0:
		return nil, usageError{errors.New("give --key cosign.pub or --policy FILE")}
	}
	ann, err := parseKeyValues(annotations, "-a")
	if err != nil {
		return nil, err
	}
	spec := policy.ImagePolicySpec{Images: []policy.ImagePattern{{Glob: "**"}}, Annotations: ann}
	for _, k := range keys {
		abs, err := filepath.Abs(k)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w", k, err)
		}
		// One authority per key file: any of them suffices (threshold 1).
		spec.Authorities = append(spec.Authorities, policy.Authority{Name: filepath.Base(k), Key: policy.KeyRef{Path: abs}})
	}
	p, err := policy.Compile(spec, policy.CompileOptions{Kind: policy.KindClusterImagePolicy, Name: "signet-verify-key", Source: "--key"})
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	return policy.NewSet(p), nil
}

func decisionText(ds []admission.ImageDecision) string {
	var b strings.Builder
	for _, d := range ds {
		for _, m := range d.Denials {
			fmt.Fprintf(&b, "DENIED %s\n", m)
		}
		for _, m := range d.Warnings {
			fmt.Fprintf(&b, "WARNING %s\n", m)
		}
		for _, m := range d.Audit {
			fmt.Fprintf(&b, "AUDIT %s\n", m)
		}
		if d.Allowed {
			ref := d.Image
			if d.Digest != "" && !strings.Contains(ref, "@") {
				ref += "@" + d.Digest
			}
			fmt.Fprintf(&b, "ALLOWED %s\n", ref)
		}
	}
	return b.String()
}

// verdictError turns denials into the exit code: 4 when only the registry is to blame.
func verdictError(ds []admission.ImageDecision) error {
	denied, registryOnly := 0, true
	for _, d := range ds {
		if d.Allowed {
			continue
		}
		denied++
		for _, c := range d.Reasons {
			if !c.IsRegistry() {
				registryOnly = false
			}
		}
		if len(d.Reasons) == 0 {
			registryOnly = false
		}
	}
	switch {
	case denied == 0:
		return nil
	case registryOnly:
		return exitError{code: exitRegistryDenied, msg: fmt.Sprintf("%d of %d images denied because the registry could not be asked", denied, len(ds))}
	}
	return exitError{code: exitDenied, msg: fmt.Sprintf("%d of %d images denied", denied, len(ds))}
}
