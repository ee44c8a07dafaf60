package kind

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// deniedMessage is what the API server says signet answered: the text after "denied the request: ".
func deniedMessage(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("the API server accepted the object; want it denied by signet")
	}
	msg := err.Error()
	_, after, ok := strings.Cut(msg, "denied the request: ")
	if !ok || !strings.Contains(msg, "signet.dev") {
		t.Fatalf("want a denial from a signet webhook, got: %v", err)
	}
	return after
}

// mustContain fails t unless s contains every one of want.
func mustContain(t testing.TB, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// eventually polls try until it returns nil or a minute passes: policy and key changes reach
// signet-webhook through file or watch events, a moment after they are made.
func eventually(t testing.TB, what string, try func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := try()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after a minute: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mustBeAbsent fails t when get finds the object: a denied object must not be stored.
func mustBeAbsent(t testing.TB, what string, get func() error) {
	t.Helper()
	if err := get(); !apierrors.IsNotFound(err) {
		t.Errorf("%s: want it absent (NotFound), got %v", what, err)
	}
}

var dryRunAll = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
