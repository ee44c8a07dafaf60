package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// writePolicies writes one ClusterImagePolicy file per key into a new directory under dir: policy
// i requires images under host/bench/ to be signed by key i. Every policy matches every benchmark
// image, so all of them must pass: the worst case for policies and keys.
func writePolicies(dir, host string, keys []key) (string, error) {
	pdir := filepath.Join(dir, fmt.Sprintf("policies-%d", len(keys)))
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return "", err
	}
	for i, k := range keys {
		doc := fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: bench-%d
spec:
  images:
    - glob: "%s/bench/**"
  mode: enforce
  authorities:
    - name: key-%d
      key:
        path: %s
`, i, host, i, k.pubFile)
		if err := os.WriteFile(filepath.Join(pdir, fmt.Sprintf("policy-%03d.yaml", i)), []byte(doc), 0o644); err != nil {
			return "", err
		}
	}
	return pdir, nil
}
