package kind

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signet-dev/signet/internal/testtools"
)

// Environment variables that point the suite at an existing cluster (run.sh sets them for kind).
const (
	// EnvKubeconfig names an admin kubeconfig; without it a local control plane is started.
	EnvKubeconfig = "SIGNET_E2E_KUBECONFIG"
	// EnvWebhookHost is the address of this machine as the cluster's API server reaches it, where
	// signet-webhook listens (default 127.0.0.1, right for the local control plane).
	EnvWebhookHost = "SIGNET_E2E_WEBHOOK_HOST"
)

// cluster is the API server the suite talks to: a local control plane, or the one an existing
// kubeconfig names.
type cluster struct {
	Kubeconfig  string
	Config      *rest.Config
	Kube        kubernetes.Interface
	WebhookHost string
	// Local is the local control plane; nil for an existing cluster.
	Local *controlPlane
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{WebhookHost: "127.0.0.1"}
	if h := os.Getenv(EnvWebhookHost); h != "" {
		c.WebhookHost = h
	}
	if kc := os.Getenv(EnvKubeconfig); kc != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kc)
		if err != nil {
			t.Fatalf("%s=%s: %v", EnvKubeconfig, kc, err)
		}
		c.Kubeconfig, c.Config = kc, cfg
		t.Logf("using the existing cluster at %s (%s)", cfg.Host, EnvKubeconfig)
	} else {
		c.Local = startControlPlane(t)
		c.Kubeconfig, c.Config = c.Local.Kubeconfig, c.Local.Config
	}
	kube, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	c.Kube = kube
	return c
}

// namespace creates a namespace with labels, and its default ServiceAccount, which the
// ServiceAccount admission plugin requires of Pods and which no controller makes on the local
// control plane.
func (c *cluster) namespace(t testing.TB, name string, labels map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	_, err = c.Kube.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the default ServiceAccount in %s: %v", name, err)
	}
}

// client returns a clientset whose server warnings are collected into w.
func (c *cluster) client(t testing.TB, w *warnings) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(c.Config)
	if w != nil {
		cfg.WarningHandler = w
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kube
}

// warnings collects the warnings the API server returns (Warning headers), as kubectl shows them.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(code int, _, text string) {
	if code == 299 && text != "" {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// kubectl runs the real kubectl against the cluster with stdin, returning stdout and stderr.
func (c *cluster) kubectl(t testing.TB, stdin []byte, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtools.Path(t, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), errOut.String(), err
}
