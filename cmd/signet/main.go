// Command signet is the producer's CLI: make a cosign key pair, build an OCI image layout from a
// stacker-style file, publish it to a registry, sign it, and verify it with the code the admission
// webhook runs. Each command is a thin layer over pkg/publisher, pkg/resolver and pkg/admission;
// flag groups (flags.go) are shared between commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// streams are where a command reads and writes; tests pass buffers.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// run executes the CLI and returns its exit code (see exitCodesHelp).
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	s := &streams{in: in, out: out, err: errOut}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code != exitDenied && code != exitRegistryDenied {
		fmt.Fprintln(errOut, "signet:", err)
	}
	return code
}

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "signet",
		Short: "Build, publish, sign and verify container images that the signet webhook admits",
		Long: `signet is the producer side of signet: the seed pipeline
  stacker build → skopeo copy → cosign sign
in one binary whose output the cluster's webhook accepts, while staying interchangeable with
those tools at every step.

  signet generate-key-pair
  signet build -f stacker.yaml --layout oci
  signet publish oci:oci:app docker://registry.example/team/app:1.0
  signet sign --key cosign.key registry.example/team/app:1.0

or build, publish and sign in one step:

  signet release -f stacker.yaml --to docker://registry.example/team/app:1.0 --key cosign.key

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newGenerateKeyPairCmd(s),
		newBuildCmd(s),
		newPublishCmd(s),
		newSignCmd(s),
		newVerifyCmd(s),
		newReleaseCmd(s),
	)
	return root
}
