package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signet-dev/signet/pkg/policy"
)

// policyWiring is where policies come from: files, the cluster, or both, served as one source.
type policyWiring struct {
	source     *policy.Combined
	files      *policy.FileSource      // nil without --policy
	cluster    *policy.ClusterSource   // nil without --cluster-policies
	namespaces *policy.NamespaceLabels // nil without --cluster-policies
	kube       kubernetes.Interface    // nil without --cluster-policies
}

func policySources(cfg *config, logger *slog.Logger, reg prometheus.Registerer) (*policyWiring, error) {
	w := &policyWiring{}
	var sources []policy.Source
	if len(cfg.PolicyPaths) > 0 {
		files, err := policy.NewFileSource(cfg.PolicyPaths, logger)
		if err != nil {
			return nil, err
		}
		w.files = files
		sources = append(sources, files)
	}
	if cfg.ClusterPolicies {
		rc, err := restConfig(cfg.Kubeconfig)
		if err != nil {
			return nil, err
		}
		dyn, err := dynamic.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("--cluster-policies: %w", err)
		}
		kube, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("--cluster-policies: %w", err)
		}
		w.cluster, err = policy.NewClusterSource(policy.ClusterOptions{
			Dynamic: dyn, Kube: kube, SecretNamespaces: cfg.SecretNamespaces,
			Logger: logger, Metrics: policy.NewMetrics(reg),
		})
		if err != nil {
			return nil, err
		}
		w.namespaces = policy.NewNamespaceLabels(kube)
		w.kube = kube
		if len(cfg.SecretNamespaces) == 0 {
			logger.Warn("--secret-namespaces is empty: policies naming a key.secretRef will not be ready")
		}
		sources = append(sources, w.cluster)
	}
	w.source = policy.Combine(sources...)
	return w, nil
}

// run starts reloading files and watching the cluster until ctx ends.
func (w *policyWiring) run(ctx context.Context, fileReload time.Duration, logger *slog.Logger) {
	if w.files != nil {
		go w.files.Run(ctx, fileReload)
	}
	if w.cluster != nil {
		go w.namespaces.Run(ctx)
		go func() {
			if err := w.cluster.Run(ctx); err != nil {
				logger.Error("cluster policies stopped", "error", err)
			}
		}()
	}
}

// synced reports whether the cluster's policies, their Secrets and the namespaces were read once.
func (w *policyWiring) synced() bool {
	return w.cluster == nil || w.cluster.Synced() && w.namespaces.Synced()
}

// restConfig reads --kubeconfig, or the pod's service account when it is empty.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--cluster-policies outside a cluster needs --kubeconfig: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	rc.UserAgent = "signet-webhook"
	return rc, nil
}

// pullSecretClient is the client for reading pull secrets: the policies' client, else one from
// --kubeconfig or the pod's service account. Outside a cluster with neither it is nil: there are
// no pods' pull secrets to read.
func pullSecretClient(cfg *config, w *policyWiring) (kubernetes.Interface, error) {
	if w.kube != nil {
		return w.kube, nil
	}
	if cfg.Kubeconfig == "" {
		if _, err := rest.InClusterConfig(); err != nil {
			return nil, nil
		}
	}
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("--pull-secrets: %w", err)
	}
	return kube, nil
}
