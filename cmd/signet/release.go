package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/pkg/publisher"
)

func newReleaseCmd(s *streams) *cobra.Command {
	var (
		out    outputFlags
		reg    registryFlags
		sign   signingFlags
		bflags buildFlags
		to     string
		image  string
		layout string
		jobs   int
	)
	cmd := &cobra.Command{
		Use:   "release -f FILE --to docker://HOST/REPO:TAG --key cosign.key",
		Short: "Build, publish and sign in one step",
		Long: `signet build, signet publish and signet sign in one step: build the image of the build file
(choose one with --image when the file makes several), push it to --to in OCI media types, sign
its digest, and print the signed digest reference HOST/REPO@sha256:….

` + exitCodesHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			if to == "" {
				return usageError{fmt.Errorf("--to is required: docker://HOST/REPO:TAG")}
			}
			dst, err := publisher.ParseLocation(to)
			if err != nil {
				return usageError{fmt.Errorf("--to: %w", err)}
			}
			if dst.Transport != publisher.Registry {
				return usageError{fmt.Errorf("--to %s: must be docker://HOST/REPO:TAG", to)}
			}
			signOpts, err := sign.options()
			if err != nil {
				return err
			}
			bf, err := bflags.read()
			if err != nil {
				return err
			}
			created, err := publisher.SourceDateEpoch()
			if err != nil {
				return err
			}
			host := dst.Ref.Context().RegistryStr()
			r, err := reg.registry(host, append([]string{host}, baseRegistries(bf)...)...)
			if err != nil {
				return err
			}
			signer, err := sign.signer(s)
			if err != nil {
				return err
			}
			pubOpts := publisher.PublishOptions{Registry: r, Jobs: jobs}
			if out.Output == "text" && isTerminal(s.err) {
				pubOpts.Progress = progressPrinter(s)
			}
			rel, err := publisher.Release(cmd.Context(), bf, dst, signer, publisher.ReleaseOptions{
				Image: image, Layout: layout,
				Build:   publisher.BuildOptions{Created: created, Registry: r},
				Publish: pubOpts,
				Sign:    signOpts,
			})
			if pubOpts.Progress != nil {
				fmt.Fprintln(s.err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(s.err, "built %s %s\n%s\n", rel.Built.Name, rel.Built.Digest, signedMessage(dst.Ref, rel.Signed))
			return out.print(s.out, rel.String()+"\n", map[string]any{
				"image":     rel.Built.Name,
				"digest":    rel.Published.Digest.String(),
				"reference": rel.String(),
				"tag":       dst.Ref.String(),
				"formats":   rel.Signed.Formats,
			})
		},
	}
	out.AddFlags(cmd)
	reg.AddFlags(cmd)
	sign.AddFlags(cmd)
	bflags.AddFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&to, "to", "", "where to publish: docker://HOST/REPO:TAG")
	fs.StringVar(&image, "image", "", "which image of the build file to release (needed when it makes several)")
	fs.StringVar(&layout, "layout", "", "also write the built images to this OCI layout")
	fs.IntVar(&jobs, "jobs", 4, "blobs uploaded at once")
	return cmd
}
