package main

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/pkg/publisher"
)

func newSignCmd(s *streams) *cobra.Command {
	var (
		out  outputFlags
		reg  registryFlags
		sign signingFlags
	)
	cmd := &cobra.Command{
		Use:   "sign --key cosign.key IMAGE...",
		Short: "Sign images in a registry with a cosign key",
		Long: `Sign each IMAGE (HOST/REPO:TAG, HOST/REPO@sha256:…, or with a docker:// prefix). A tag is
resolved to its digest and the digest is signed; signet says which. --format legacy writes the
sha256-<hex>.sig tag that cosign v1/v2 and cosigned read; bundle writes a sigstore bundle as an OCI
1.1 referrer (or the referrers tag on registries without the referrers API), as cosign v3 does;
both (the default) writes both, so that every verifier finds a signature. Signatures verify with
'cosign verify --key cosign.pub' and with 'signet verify'.

` + exitCodesHelp,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			opts, err := sign.options()
			if err != nil {
				return err
			}
			refs, hosts, err := parseImages(args)
			if err != nil {
				return err
			}
			authHost := ""
			if len(hosts) > 0 {
				authHost = hosts[0]
			}
			r, err := reg.registry(authHost, hosts...)
			if err != nil {
				return err
			}
			signer, err := sign.signer(s)
			if err != nil {
				return err
			}
			var text strings.Builder
			var results []map[string]any
			for _, ref := range refs {
				signed, err := publisher.SignReference(cmd.Context(), r, ref, signer, opts)
				if err != nil {
					return err
				}
				fmt.Fprintln(s.err, signedMessage(ref, signed))
				fmt.Fprintln(&text, signed.Digest.String())
				results = append(results, signedJSON(ref, signed))
			}
			return out.print(s.out, text.String(), map[string]any{"signed": results})
		},
	}
	out.AddFlags(cmd)
	reg.AddFlags(cmd)
	sign.AddFlags(cmd)
	return cmd
}

// parseImages reads image references, with or without docker://.
func parseImages(args []string) ([]name.Reference, []string, error) {
	var refs []name.Reference
	var hosts []string
	seen := map[string]bool{}
	for _, a := range args {
		ref, err := name.ParseReference(strings.TrimPrefix(a, "docker://"))
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("image %q: %w", a, err)}
		}
		refs = append(refs, ref)
		if h := ref.Context().RegistryStr(); !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return refs, hosts, nil
}

func signedMessage(ref name.Reference, s publisher.Signed) string {
	var b strings.Builder
	fmt.Fprintf(&b, "signed %s", s.Digest)
	if s.Tag != "" {
		fmt.Fprintf(&b, " (the digest tag %s points at now; the tag itself is not signed)", s.Tag)
	}
	if len(s.Platforms) > 0 {
		fmt.Fprintf(&b, " and its %d platform manifests", len(s.Platforms))
	}
	formats := make([]string, len(s.Formats))
	for i, f := range s.Formats {
		formats[i] = string(f)
	}
	fmt.Fprintf(&b, "; formats: %s", strings.Join(formats, ", "))
	return b.String()
}

func signedJSON(ref name.Reference, s publisher.Signed) map[string]any {
	var platforms []string
	for _, p := range s.Platforms {
		platforms = append(platforms, p.String())
	}
	return map[string]any{"image": ref.String(), "digest": s.Digest.String(), "tag": s.Tag, "formats": s.Formats, "platforms": platforms}
}
