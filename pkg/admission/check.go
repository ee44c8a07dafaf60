package admission

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
)

// check is what signet found out about one distinct image.
type check struct {
	group       imageGroup
	image       string
	ref         name.Reference // parsed once, in prepare
	invalid     error
	policies    []*policy.Policy
	pin         bool
	isDigestRef bool
	digest      string // "sha256:…" once resolved
	failures    []failure
}

// failure is one policy an image did not satisfy, or could not be judged against.
type failure struct {
	policy *policy.Policy
	err    error
}

// checkAll judges distinct images in parallel and returns by ctx's deadline. Images still being
// judged then get a timed-out failure for each of their policies, so the review is always
// answered, by the policies' own rules.
func (r *Reviewer) checkAll(ctx context.Context, ep Endpoint, auth PullAuth, groups []imageGroup, set *policy.Set) []*check {
	checks := make([]*check, len(groups))
	for i, g := range groups {
		checks[i] = r.prepare(g, auth.Namespace, set)
	}
	type done struct {
		i        int
		digest   string
		failures []failure
	}
	results := make(chan done, len(checks))
	pending := 0
	start := time.Now()
	for i, c := range checks {
		if c.invalid != nil || len(c.policies) == 0 {
			continue
		}
		pending++
		go func() {
			// A bug here must deny this image, not kill the server.
			defer func() {
				if p := recover(); p != nil {
					if r.Logger != nil {
						r.Logger.Error("panic while judging an image", "image", c.image, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					}
					results <- done{i, c.digest, failAll(c.policies, reason.New(reason.Internal, "", errors.New("signet hit a bug judging this image; see the webhook's log")))}
				}
			}()
			digest, failures := r.judge(ctx, ep, c, auth)
			results <- done{i, digest, failures}
		}()
	}
	finished := make([]bool, len(checks))
	for pending > 0 {
		select {
		case res := <-results:
			checks[res.i].digest, checks[res.i].failures = res.digest, res.failures
			finished[res.i] = true
			pending--
		case <-ctx.Done():
			err := reason.New(reason.TimedOut, "", fmt.Errorf("no answer from the registry within %s; the review had to be answered before the API server's timeout", time.Since(start).Round(time.Millisecond)))
			for i, c := range checks {
				if finished[i] || c.invalid != nil || len(c.policies) == 0 {
					continue
				}
				for _, p := range c.policies {
					c.failures = append(c.failures, failure{p, err})
				}
			}
			return checks
		}
	}
	return checks
}

// prepare parses the image and finds its policies; no I/O.
func (r *Reviewer) prepare(g imageGroup, namespace string, set *policy.Set) *check {
	c := &check{group: g, image: g.image}
	ref, repo, err := policy.NormalizeImage(g.image)
	if err != nil {
		c.invalid = reason.New(reason.InvalidReference, "", err)
		return c
	}
	c.ref = ref
	_, c.isDigestRef = ref.(name.Digest)
	if c.isDigestRef {
		c.digest = ref.(name.Digest).DigestStr()
	}
	c.policies = r.match(set, repo, namespace)
	for _, p := range c.policies {
		c.pin = c.pin || p.PinDigest
	}
	return c
}

// judge resolves the image and, on the validating endpoint, verifies it against each policy. The
// mutating endpoint only resolves: what it pins, the validating endpoint verifies by digest.
func (r *Reviewer) judge(ctx context.Context, ep Endpoint, c *check, auth PullAuth) (string, []failure) {
	ref := c.ref
	if ep == Mutate && (!c.pin || c.isDigestRef) {
		return c.digest, nil
	}
	// A broken policy fails every image it matches, whatever the registry says; it is never verified.
	var fs []failure
	usable := make([]*policy.Policy, 0, len(c.policies))
	for _, p := range c.policies {
		if p.Err != nil {
			fs = append(fs, failure{p, reason.New(reason.PolicyError, "", fmt.Errorf("the policy is broken and refuses every image it matches until it is fixed (see its status): %w", p.Err))})
			continue
		}
		usable = append(usable, p)
	}
	if ep == Validate && len(usable) == 0 {
		return c.digest, fs
	}
	dig, err := r.Resolver.Resolve(ctx, ref, auth)
	if err != nil {
		return c.digest, append(fs, failAll(usable, err)...)
	}
	if ep == Mutate {
		return dig.DigestStr(), nil
	}
	for _, p := range usable {
		if err := r.Verifier.Verify(ctx, dig, p, auth); err != nil {
			fs = append(fs, failure{p, err})
		}
	}
	return dig.DigestStr(), fs
}

// match finds the policies for repo in namespace, with the namespace's labels when known. Without
// them (no namespace lookup, or one that has not seen the namespace yet) a selector on labels is
// assumed to match: not knowing must never admit what a policy guards.
func (r *Reviewer) match(set *policy.Set, repo, namespace string) []*policy.Policy {
	if r.Namespaces == nil {
		return set.MatchUnknownNamespace(repo, namespace)
	}
	labels, ok := r.Namespaces.Labels(namespace)
	if !ok {
		return set.MatchUnknownNamespace(repo, namespace)
	}
	return set.Match(repo, namespace, labels)
}

func failAll(ps []*policy.Policy, err error) []failure {
	if errors.Is(err, context.DeadlineExceeded) && reason.Of(err) == reason.Internal {
		err = reason.New(reason.TimedOut, "", err)
	}
	fs := make([]failure, len(ps))
	for i, p := range ps {
		fs[i] = failure{p, err}
	}
	return fs
}
