package registryfaults

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
)

// TestScaleUpOfOneDeploymentTo50Pods counts registry requests the way the API server would cause
// them: the Deployment is created (mutating then validating webhook), then the ReplicaSet
// controller creates 50 Pods from the pinned template, each reviewed by both webhooks. The numbers
// go to docs/registry.md.
func TestScaleUpOfOneDeploymentTo50Pods(t *testing.T) {
	t.Parallel()
	const pods = 50
	fr := newFaultyRegistry(t)
	k := newKeys(t)
	pushSigned(t, fr.host, "apps/web:v1", k, remote.WithTransport(fr.srv.Client().Transport))
	s := newStack(t, policies(t, fr.host, k.pub, policy.FailClosed), resolver.WithCABundle(fr.caPEM))
	fr.arm(nil)

	// Cold: the Deployment, as written, with a tag.
	deploy := request("Deployment", "apps", deploymentJSON("apps", pods, fr.host+"/apps/web:v1"))
	resp, text := review(t, s, admission.Mutate, deploy, defaultDeadline)
	if !resp.Allowed || len(resp.Patch) == 0 {
		t.Fatalf("mutating review of the Deployment: allowed=%t patch=%s: %s", resp.Allowed, resp.Patch, text)
	}
	var patch []struct{ Value string }
	if err := json.Unmarshal(resp.Patch, &patch); err != nil || len(patch) != 1 {
		t.Fatalf("patch %s: %v", resp.Patch, err)
	}
	pinned := patch[0].Value
	deploy.Object.Raw = []byte(deploymentJSON("apps", pods, pinned))
	if resp, text := review(t, s, admission.Validate, deploy, defaultDeadline); !resp.Allowed {
		t.Fatalf("validating review of the Deployment: %s", text)
	}
	cold := fr.total()
	coldByKind := fr.requests()

	// Warm: 50 Pods with the pinned reference.
	fr.arm(nil)
	for range pods {
		req := request("Pod", "apps", podJSON("apps", nil, pinned))
		for _, ep := range []admission.Endpoint{admission.Mutate, admission.Validate} {
			if resp, text := review(t, s, ep, req, defaultDeadline); !resp.Allowed || len(resp.Patch) != 0 {
				t.Fatalf("%s review of a Pod: allowed=%t patch=%s: %s", ep, resp.Allowed, resp.Patch, text)
			}
		}
	}
	warm := fr.total()

	rs, vs := s.registry.Stats(), s.verifier.Stats()
	hits := rs.TagCacheHits + rs.DigestCacheHits + uint64(vs.VerdictHits)
	lookups := hits + rs.TagCacheMisses + rs.DigestCacheMisses + uint64(vs.VerdictMisses)
	t.Logf("Deployment (mutate + validate, cold): %d registry requests %v", cold, coldByKind)
	t.Logf("%d Pods (mutate + validate each, warm): %d registry requests in all, %.2f per admission", pods, warm, float64(warm)/pods)
	t.Logf("cache lookups: %d, hits: %d (%.1f%%); resolver %+v; verifier %+v", lookups, hits, 100*float64(hits)/float64(lookups), rs, vs)

	if warm != 0 {
		t.Errorf("the Pods caused %d registry requests, want 0: the digest and verdict are cached (%v)", warm, fr.requests())
	}
	want := `
# HELP signet_cache_lookups_total Cache lookups by cache (tag, digest, verdict) and result (hit, miss).
# TYPE signet_cache_lookups_total counter
signet_cache_lookups_total{cache="digest",result="hit"} 51
signet_cache_lookups_total{cache="tag",result="miss"} 1
signet_cache_lookups_total{cache="verdict",result="hit"} 50
signet_cache_lookups_total{cache="verdict",result="miss"} 1
`
	// The Deployment's validating review confirms the pinned digest from the cache the mutating
	// review filled, and so does each Pod's; every Pod's verdict comes from the verdict cache.
	if err := testutil.GatherAndCompare(s.metrics, strings.NewReader(want), "signet_cache_lookups_total"); err != nil {
		t.Error(err)
	}
	if coldByKind["HEAD manifest apps/web:v1"] != 1 {
		t.Errorf("the Deployment caused %d tag HEADs, want 1", coldByKind["HEAD manifest apps/web:v1"])
	}
}
