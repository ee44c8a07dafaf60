//go:build tools

// Package tools pins the real helm CLI, used by the chart tests (helm lint, helm template).
package tools

import _ "helm.sh/helm/v4/cmd/helm"
