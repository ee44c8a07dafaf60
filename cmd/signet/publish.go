package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/pkg/publisher"
)

func newPublishCmd(s *streams) *cobra.Command {
	var (
		out        outputFlags
		reg        registryFlags
		url, tag   string
		digestFile string
		jobs       int
		keepTypes  bool
	)
	cmd := &cobra.Command{
		Use:   "publish SRC [DST]",
		Short: "Copy an image from an OCI layout or a registry to a registry (skopeo copy syntax)",
		Long: `Copy an image or multi-platform index, as 'skopeo copy --format oci SRC DST' does:

  signet publish oci:DIR:TAG docker://HOST/REPO:TAG
  signet publish docker://HOST/REPO:TAG docker://OTHER/REPO:TAG
  signet publish oci:DIR:NAME --url docker://HOST/PREFIX --tag 1.0    (→ HOST/PREFIX/NAME:1.0, as stacker publish)

Docker media types are converted to OCI ones (zot requires them) unless --keep-media-types.
Blobs the registry has are skipped; layers upload in parallel; progress is shown on a terminal
only. The pushed digest is printed (and written to --digestfile).

` + exitCodesHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{errors.New("publish takes SRC and DST (or SRC with --url); see signet publish --help")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			src, err := publisher.ParseLocation(args[0])
			if err != nil {
				return usageError{err}
			}
			dst, err := publishDestination(src, args[1:], url, tag)
			if err != nil {
				return err
			}
			var hosts []string
			authHost := ""
			for _, l := range []publisher.Location{src, dst} {
				if l.Transport == publisher.Registry {
					hosts = append(hosts, l.Ref.Context().RegistryStr())
				}
			}
			if dst.Transport == publisher.Registry {
				authHost = dst.Ref.Context().RegistryStr()
			} else if len(hosts) > 0 {
				authHost = hosts[0]
			}
			r, err := reg.registry(authHost, hosts...)
			if err != nil {
				return err
			}
			opts := publisher.PublishOptions{Registry: r, Jobs: jobs, KeepMediaTypes: keepTypes}
			if out.Output == "text" && isTerminal(s.err) {
				opts.Progress = progressPrinter(s)
			}
			pub, err := publisher.Publish(cmd.Context(), src, dst, opts)
			if opts.Progress != nil {
				fmt.Fprintln(s.err)
			}
			if err != nil {
				return err
			}
			if digestFile != "" {
				if err := os.WriteFile(digestFile, []byte(pub.Digest.String()), 0o644); err != nil {
					return fmt.Errorf("--digestfile: %w", err)
				}
			}
			result := map[string]any{"source": src.String(), "destination": dst.String(), "digest": pub.Digest.String()}
			text := pub.Digest.String() + "\n"
			if pub.Ref != nil {
				result["reference"] = pub.Ref.String()
				fmt.Fprintf(s.err, "published %s as %s\n", src, pub.Ref)
			}
			return out.print(s.out, text, result)
		},
	}
	out.AddFlags(cmd)
	reg.AddFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&url, "url", "", "registry prefix docker://HOST/PREFIX; the destination is PREFIX/NAME:TAG, NAME being the source's tag (as stacker publish)")
	fs.StringVar(&tag, "tag", "latest", "with --url: the tag to publish as")
	fs.StringVar(&digestFile, "digestfile", "", "also write the pushed digest to this file")
	fs.IntVar(&jobs, "jobs", 4, "blobs uploaded at once")
	fs.BoolVar(&keepTypes, "keep-media-types", false, "publish Docker media types as they are instead of converting them to OCI")
	return cmd
}

func publishDestination(src publisher.Location, rest []string, url, tag string) (publisher.Location, error) {
	switch {
	case len(rest) == 1 && url != "":
		return publisher.Location{}, usageError{errors.New("give DST or --url, not both")}
	case len(rest) == 1:
		dst, err := publisher.ParseLocation(rest[0])
		if err != nil {
			return publisher.Location{}, usageError{err}
		}
		return dst, nil
	case url == "":
		return publisher.Location{}, usageError{errors.New("no destination: give DST or --url docker://HOST/PREFIX")}
	}
	if !strings.HasPrefix(url, "docker://") {
		return publisher.Location{}, usageError{fmt.Errorf("--url %q: write docker://HOST/PREFIX", url)}
	}
	n := src.Tag
	if src.Transport == publisher.Registry {
		repo := src.Ref.Context().RepositoryStr()
		n = repo[strings.LastIndex(repo, "/")+1:]
	}
	if n == "" {
		return publisher.Location{}, usageError{errors.New("--url: the source has no name to publish under; give SRC as oci:DIR:NAME")}
	}
	dst, err := publisher.ParseLocation(strings.TrimSuffix(url, "/") + "/" + n + ":" + tag)
	if err != nil {
		return publisher.Location{}, usageError{fmt.Errorf("--url/--tag: %w", err)}
	}
	return dst, nil
}

// progressPrinter redraws one status line on stderr.
func progressPrinter(s *streams) func(v1.Update) {
	return func(u v1.Update) {
		fmt.Fprintf(s.err, "\rpushed %s of %s", mib(u.Complete), mib(u.Total))
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
