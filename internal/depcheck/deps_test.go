package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/signet-dev/signet"

// deps lists the packages pkg imports, directly or not (tests excluded).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestAdmissionNeitherImportsCosignNorTalksToRegistries(t *testing.T) {
	t.Parallel()
	forbidden := []string{
		"github.com/sigstore/",
		"github.com/google/go-containerregistry/pkg/v1/remote",
		module + "/pkg/resolver",
		module + "/pkg/verify",
		module + "/pkg/publisher",
	}
	for _, d := range deps(t, module+"/pkg/admission") {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("pkg/admission imports %s", d)
			}
		}
	}
}

func TestCosignStaysInVerifyAndPublisher(t *testing.T) {
	t.Parallel()
	// test/bench/peer measures the cosign library side by side with signet: that is its purpose.
	allowed := map[string]bool{module + "/pkg/verify": true, module + "/pkg/publisher": true, module + "/test/bench/peer": true}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "github.com/sigstore/cosign/") && !allowed[pkg] {
				t.Errorf("%s imports %s directly; only pkg/verify and pkg/publisher may", pkg, imp)
			}
		}
	}
}

func TestPolicyAndResolverStayAwayFromCosign(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"/pkg/policy", "/pkg/resolver", "/pkg/reason"} {
		for _, d := range deps(t, module+pkg) {
			if strings.HasPrefix(d, "github.com/sigstore/cosign/") {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}
