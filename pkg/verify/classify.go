package verify

import (
	"errors"
	"fmt"

	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/resolver"
)

// registryError classifies a failure to read signatures the way the resolver classifies a failure
// to resolve: unclassified errors are Internal, and a failure to read signatures is never
// "unsigned".
func registryError(err error, subject, doing string) *reason.Error {
	var re *reason.Error
	if errors.As(resolver.Classify(fmt.Errorf("%s: %w", doing, err), subject, true), &re) {
		return re
	}
	return reason.New(reason.Internal, subject, fmt.Errorf("%s: %w", doing, err))
}

// fromRegistry reports whether err came from talking to the registry (as opposed to content that
// is not a usable signature).
func fromRegistry(err error) bool {
	return reason.Of(resolver.Classify(err, "", true)) != reason.Internal
}
