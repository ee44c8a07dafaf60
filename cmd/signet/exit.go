package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes. Keep exitCodesHelp and docs/cli.md in step.
const (
	exitOK             = 0
	exitFailed         = 1
	exitUsage          = 2
	exitDenied         = 3
	exitRegistryDenied = 4
)

const exitCodesHelp = `Exit codes:
  0  success (verify: every image is allowed)
  1  the command failed (bad input, registry error while building, publishing or signing, …)
  2  usage error (unknown flag, wrong number of arguments)
  3  verify: at least one image would be denied
  4  verify: images would be denied only because the registry could not be asked
     (unreachable, timed out, auth failed, rate limited, TLS)`

// usageError marks a command line the user must fix.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries an exit code for an error whose message was already printed.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// exactArgs is cobra.ExactArgs with the usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d; see signet %s --help", cmd.Name(), n, len(args), cmd.Name())}
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%s needs at least %d argument(s); see signet %s --help", cmd.Name(), n, cmd.Name())}
		}
		return nil
	}
}
