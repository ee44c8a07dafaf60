// Command signet-webhook is signet's admission webhook: it resolves image tags to digests, verifies
// cosign signatures against policy keys, and pins images. All wiring lives in this file; the logic
// lives in pkg/.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/tlsutil"
	"github.com/signet-dev/signet/internal/wiring"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/resolver/pullsecrets"
	"github.com/signet-dev/signet/pkg/verify"
)

func main() {
	var cfg config
	if err := newCommand(&cfg).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "signet-webhook:", err)
		os.Exit(1)
	}
}

// newCommand is the signet-webhook command; flags fill cfg.
func newCommand(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "signet-webhook",
		Short:         "Kubernetes admission webhook that admits only signed images and pins them to digests",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), osLookup); err != nil {
				return err
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return serve(ctx, cfg, os.Stderr)
		},
	}
	cfg.addFlags(cmd.Flags())
	return cmd
}

func serve(ctx context.Context, cfg *config, logOut io.Writer) error {
	logger, err := newLogger(cfg.LogLevel, logOut)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	policies, err := policySources(cfg, logger, reg)
	if err != nil {
		return err
	}
	regOpts := []resolver.Option{
		resolver.WithInsecureHosts(cfg.InsecureRegistries...),
		resolver.WithTagTTL(cfg.TagCacheTTL),
		resolver.WithCacheSize(cfg.CacheSize),
		resolver.WithMaxConcurrencyPerHost(cfg.RegistryMaxConns),
	}
	for _, f := range cfg.RegistryCAFiles {
		regOpts = append(regOpts, resolver.WithCABundleFile(f))
	}
	for _, rc := range cfg.RegistryCAs {
		host, file, _ := strings.Cut(rc, "=") // checked by validate
		regOpts = append(regOpts, resolver.WithRegistryCAFile(host, file))
	}
	registryMetrics, err := resolver.NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("registering registry metrics: %w", err)
	}
	regOpts = append(regOpts, resolver.WithMetrics(registryMetrics))
	if cfg.DockerConfig != "" {
		regOpts = append(regOpts, resolver.WithDockerConfig(cfg.DockerConfig))
	}
	var pullSynced atomic.Bool
	pullSynced.Store(true)
	if cfg.PullSecrets {
		kube, err := pullSecretClient(cfg, policies)
		if err != nil {
			return err
		}
		if kube != nil {
			src := pullsecrets.New(kube, 0)
			pctx, stopInformers := context.WithCancel(ctx)
			src.Start(pctx)
			defer func() { stopInformers(); src.Shutdown() }()
			pullSynced.Store(false)
			go func() {
				if src.WaitForSync(pctx) == nil {
					pullSynced.Store(true)
				}
			}()
			regOpts = append(regOpts, resolver.WithPullSecrets(src))
		} else {
			logger.Info("not in a cluster and no --kubeconfig: pods' imagePullSecrets are not used")
		}
	}
	registry, err := resolver.New(regOpts...)
	if err != nil {
		return err
	}
	verifier := verify.New(
		verify.WithRemoteOptions(registry.RemoteOptions),
		verify.WithMaxSignatures(cfg.MaxSignatures),
		verify.WithVerdictTTL(cfg.VerdictPassTTL, cfg.VerdictFailTTL),
		verify.WithCacheSize(cfg.CacheSize),
		verify.WithMetrics(registryMetrics),
	)
	reviewer := &admission.Reviewer{
		Policies:  policies.source,
		Resolver:  wiring.Resolver(registry),
		Verifier:  wiring.Verifier(verifier, registry),
		Unmatched: admission.UnmatchedAction(cfg.Unmatched),
		Logger:    logger,
		Metrics:   admission.NewMetrics(reg),
	}
	if policies.namespaces != nil {
		reviewer.Namespaces = policies.namespaces
	}
	if _, err := admission.ParseUnmatched(cfg.Unmatched); err != nil {
		return fmt.Errorf("--unmatched: %w", err)
	}

	getCert, err := certificateSource(ctx, cfg, logger)
	if err != nil {
		return err
	}

	var ready atomic.Bool
	mux := http.NewServeMux()
	for _, ep := range []admission.Endpoint{admission.Mutate, admission.Validate} {
		mux.Handle("POST /"+string(ep), &admission.Handler{
			Reviewer: reviewer, Endpoint: ep, Logger: logger,
			MaxBodyBytes: cfg.MaxBodyBytes, DefaultTimeout: cfg.DefaultTimeout, Margin: cfg.DeadlineMargin,
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready: policies not loaded", http.StatusServiceUnavailable)
			return
		}
		if !pullSynced.Load() {
			http.Error(w, "not ready: pull secrets not read yet", http.StatusServiceUnavailable)
			return
		}
		if !policies.synced() {
			http.Error(w, "not ready: cluster policies, their Secrets and namespaces not read yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	srv := &http.Server{
		Addr:              cfg.Listen,
		Handler:           mux,
		TLSConfig:         tlsutil.ServerConfig(getCert),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	policies.run(ctx, cfg.PolicyReload, logger)

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	ready.Store(true)
	logger.Info("serving", "address", ln.Addr().String(), "policies", policies.source.Policies().Len(), "unmatched", cfg.Unmatched)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop being ready first so the Service stops sending us new reviews, then finish what is in flight.
	ready.Store(false)
	logger.Info("shutting down: finishing in-flight reviews", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// certificateSource returns the serving certificate: from files (reloaded) or self-signed.
func certificateSource(ctx context.Context, cfg *config, logger *slog.Logger) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	if cfg.SelfSigned {
		cert, caPEM, err := tlsutil.SelfSigned(cfg.SelfSignedHosts, 365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(cfg.SelfSignedCA, caPEM, 0o644); err != nil {
			return nil, fmt.Errorf("--self-signed-ca-file: %w", err)
		}
		logger.Info("serving with a self-signed certificate", "caFile", cfg.SelfSignedCA, "hosts", cfg.SelfSignedHosts)
		return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }, nil
	}
	w, err := tlsutil.NewWatcher(cfg.TLSCertFile, cfg.TLSKeyFile, logger)
	if err != nil {
		return nil, err
	}
	go w.Run(ctx, cfg.CertReload)
	return w.GetCertificate, nil
}

func newLogger(level string, out io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: l})), nil
}
