package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCompileFailClosedKeepsABrokenPolicyInForce(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	missing := secretStore{}
	cases := map[string]struct {
		kind, namespace string
		spec            ImagePolicySpec
		wantMode        Mode
		wantMatch       map[[2]string]bool // {repo, namespace} → matches
		wantErr         []string
	}{
		"a missing Secret keeps the globs: only what they match is refused": {
			kind: KindClusterImagePolicy,
			spec: ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/org/**"}}, Mode: ModeWarn, FailurePolicy: FailOpen,
				Authorities: []Authority{{Key: KeyRef{SecretRef: &SecretRef{Namespace: "keys", Name: "gone"}}}}},
			wantMode:  ModeWarn,
			wantMatch: map[[2]string]bool{{"ghcr.io/org/app", "a"}: true, {"quay.io/x/y", "a"}: false},
			wantErr:   []string{"spec.authorities[0].key.secretRef", "Secret keys/gone"},
		},
		"an invalid glob makes a cluster policy refuse every image: it cannot know what it was meant to cover": {
			kind: KindClusterImagePolicy,
			spec: ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/org/**"}, {Glob: "ghcr.io//bad"}},
				Authorities: []Authority{{Key: KeyRef{Data: key}}}},
			wantMode:  ModeEnforce,
			wantMatch: map[[2]string]bool{{"ghcr.io/org/app", "a"}: true, {"quay.io/x/y", "b"}: true},
			wantErr:   []string{`spec.images[1].glob "ghcr.io//bad"`},
		},
		"an invalid glob in an ImagePolicy refuses every image of its own namespace only": {
			kind: KindImagePolicy, namespace: "team",
			spec:      ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/org@sha256:abc"}}, Authorities: []Authority{{Key: KeyRef{Data: key}}}},
			wantMode:  ModeEnforce,
			wantMatch: map[[2]string]bool{{"quay.io/x/y", "team"}: true, {"quay.io/x/y", "other"}: false},
			wantErr:   []string{"spec.images[0].glob"},
		},
		"an unknown mode is enforced": {
			kind: KindClusterImagePolicy,
			spec: ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/**"}}, Mode: "observe",
				Authorities: []Authority{{Key: KeyRef{Data: key}}}},
			wantMode:  ModeEnforce,
			wantMatch: map[[2]string]bool{{"ghcr.io/a", "a"}: true},
			wantErr:   []string{"spec.mode", `"observe"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := CompileFailClosed(tc.spec, CompileOptions{Kind: tc.kind, Namespace: tc.namespace, Name: "p", Source: "cluster", Secrets: missing})
			assertContains(t, p.Err, tc.wantErr...)
			if p.Mode != tc.wantMode || p.FailurePolicy != FailClosed {
				t.Errorf("mode %s failurePolicy %s, want %s and closed", p.Mode, p.FailurePolicy, tc.wantMode)
			}
			if len(p.Authorities) != 0 {
				t.Errorf("a broken policy kept %d authorities; it must never be verified", len(p.Authorities))
			}
			for in, want := range tc.wantMatch {
				if got := p.Matches(in[0]) && p.AppliesTo(in[1], nil); got != want {
					t.Errorf("%s in namespace %s: matched %v, want %v", in[0], in[1], got, want)
				}
			}
			if len(p.Fingerprint) != 64 {
				t.Errorf("fingerprint %q", p.Fingerprint)
			}
		})
	}
}

func TestCompileFailClosedReturnsAGoodPolicyUnchanged(t *testing.T) {
	t.Parallel()
	spec := ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/**"}}, Authorities: []Authority{{Key: KeyRef{Data: pkixPEM(t, newECKey(t))}}}}
	want, err := Compile(spec, clusterOpts("p"))
	if err != nil {
		t.Fatal(err)
	}
	got := CompileFailClosed(spec, clusterOpts("p"))
	if got.Err != nil || got.Fingerprint != want.Fingerprint || got.matchAll {
		t.Errorf("CompileFailClosed of a valid spec: err %v, fingerprint %s (want %s), matchAll %v", got.Err, got.Fingerprint, want.Fingerprint, got.matchAll)
	}
}

func TestBrokenPoliciesChangeTheSetFingerprintWhenTheirErrorChanges(t *testing.T) {
	t.Parallel()
	spec := secretSpec("ghcr.io/**", "keys", "k")
	a := CompileFailClosed(spec, CompileOptions{Kind: KindClusterImagePolicy, Name: "p", Secrets: secretStore{}})
	b := CompileFailClosed(spec, CompileOptions{Kind: KindClusterImagePolicy, Name: "p", Secrets: secretStore{"keys/k": {"cosign.key": []byte(fakePrivateKey)}}})
	if NewSet(a).Fingerprint() == NewSet(b).Fingerprint() {
		t.Error("a missing Secret and a Secret without a public key give the same set fingerprint")
	}
	if readyReason(a.Err) == readyReason(b.Err) {
		t.Errorf("both are %s", readyReason(a.Err))
	}
}

func TestReadyReasons(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		nil: ReasonCompiled,
		errors.Join(fieldErr("spec.threshold", "bad"), fieldErr("x", "reading Secret: %w", ErrSecretNotFound)): ReasonSecretNotFound,
		fieldErr("x", "%w", ErrSecretNotReadable):                                                              ReasonSecretNotReadable,
		fieldErr("x", "Secret a/b: %w", ErrNoPublicKey):                                                        ReasonNoPublicKey,
		fieldErr("spec.images[0].glob", "empty"):                                                               ReasonInvalidSpec,
	} {
		if got := readyReason(err); got != want {
			t.Errorf("readyReason(%v) = %s, want %s", err, got, want)
		}
	}
}

func TestStatusPatchWritesOnlyChangesAndKeepsTransitionTimes(t *testing.T) {
	t.Parallel()
	then := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	current := ImagePolicyStatus{ObservedGeneration: 3, Conditions: []metav1.Condition{{
		Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonSecretNotFound, Message: "m", ObservedGeneration: 3, LastTransitionTime: then,
	}}}
	same := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonSecretNotFound, Message: "m", ObservedGeneration: 3}
	if p, err := statusPatch(current, same); err != nil || p != nil {
		t.Fatalf("an unchanged condition gave patch %s, %v", p, err)
	}
	other := same
	other.Reason, other.Message = ReasonNoPublicKey, "n"
	p, err := statusPatch(current, other)
	if err != nil || !strings.Contains(string(p), then.UTC().Format(time.RFC3339)) || !strings.Contains(string(p), ReasonNoPublicKey) {
		t.Errorf("still False with a new reason: patch %s, %v; want the new reason and the old transition time", p, err)
	}
	flipped := same
	flipped.Status, flipped.Reason, flipped.ObservedGeneration = metav1.ConditionTrue, ReasonCompiled, 4
	p, err = statusPatch(current, flipped)
	if err != nil || strings.Contains(string(p), then.UTC().Format(time.RFC3339)) || !strings.Contains(string(p), `"observedGeneration":4`) {
		t.Errorf("flipped to True: patch %s, %v; want a new transition time and generation 4", p, err)
	}
}

func TestCombinedRebuildsOnlyWhenASourceSwaps(t *testing.T) {
	t.Parallel()
	a := &swappable{}
	b := &swappable{}
	a.set.Store(NewSet(mustCompile(t, "a", pkixPEM(t, newECKey(t)))))
	b.set.Store(NewSet())
	c := Combine(a, b)
	first := c.Policies()
	if first.Len() != 1 || c.Policies() != first {
		t.Fatalf("union of 1 and 0 policies: %d policies, stable=%v", first.Len(), c.Policies() == first)
	}
	b.set.Store(NewSet(mustCompile(t, "b", pkixPEM(t, newECKey(t)))))
	second := c.Policies()
	if second == first || second.Len() != 2 {
		t.Errorf("after a swap: %d policies, rebuilt=%v; want 2, rebuilt", second.Len(), second != first)
	}
}
