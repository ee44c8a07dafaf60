package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/pkg/publisher"
)

func newBuildCmd(s *streams) *cobra.Command {
	var (
		out    outputFlags
		reg    registryFlags
		bflags buildFlags
		dir    string
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build OCI images from a stacker-style file into an OCI layout",
		Long: `Build the images of a stacker-style YAML file (image name → from, import, entrypoint, cmd,
environment, labels, working_dir, volumes, annotations, os/arch or platforms) into the OCI layout
--layout, each tagged with its name (oci:DIR:NAME). run: steps need a container runtime: use stacker
for those images.

Builds are reproducible: the same inputs give the same digests. Every timestamp is
SOURCE_DATE_EPOCH (default 1970-01-01), layer entries are sorted and owned by uid/gid 0 unless an
import says otherwise. docker:// bases are read through the registry flags.

` + exitCodesHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
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
			hosts := baseRegistries(bf)
			authHost := ""
			if len(hosts) == 1 {
				authHost = hosts[0]
			}
			r, err := reg.registry(authHost, hosts...)
			if err != nil {
				return err
			}
			built, err := publisher.BuildToLayout(cmd.Context(), bf, dir, publisher.BuildOptions{Created: created, Registry: r})
			if err != nil {
				return err
			}
			return out.print(s.out, buildText(built, dir), buildJSON(built, dir, created))
		},
	}
	out.AddFlags(cmd)
	reg.AddFlags(cmd)
	bflags.AddFlags(cmd)
	cmd.Flags().StringVar(&dir, "layout", "oci", "OCI layout directory to write (made when missing)")
	return cmd
}

// baseRegistries lists the registries of the file's docker:// bases.
func baseRegistries(bf *publisher.BuildFile) []string {
	var hosts []string
	seen := map[string]bool{}
	for _, im := range bf.Images {
		if im.From.Type != "docker" {
			continue
		}
		loc, err := publisher.ParseLocation(im.From.URL)
		if err != nil || loc.Ref == nil {
			continue
		}
		h := loc.Ref.Context().RegistryStr()
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func buildText(built []publisher.Built, dir string) string {
	var b strings.Builder
	for _, x := range built {
		if x.BuildOnly {
			fmt.Fprintf(&b, "built %s %s (build_only, not written)\n", x.Name, x.Digest)
			continue
		}
		fmt.Fprintf(&b, "built %s %s → oci:%s:%s\n", x.Name, x.Digest, dir, x.Name)
	}
	return b.String()
}

type builtJSON struct {
	Name      string `json:"name"`
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Location  string `json:"location,omitempty"`
}

func buildJSON(built []publisher.Built, dir string, created time.Time) any {
	var images []builtJSON
	for _, x := range built {
		mt, _ := x.Artifact.MediaType()
		j := builtJSON{Name: x.Name, Digest: x.Digest.String(), MediaType: string(mt)}
		if !x.BuildOnly {
			j.Location = "oci:" + dir + ":" + x.Name
		}
		images = append(images, j)
	}
	return map[string]any{"layout": dir, "created": created.Format(time.RFC3339), "images": images}
}
