package kind

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/signet-dev/signet/internal/testtools"
)

// controlPlane is etcd and kube-apiserver on loopback ports. There is no kubelet, scheduler or
// controller-manager: objects are admitted and stored, Pods never run, and nothing creates
// ServiceAccounts or Pods for workloads. Admission happens on create and update, which is all
// signet needs.
type controlPlane struct {
	Kubeconfig string
	Config     *rest.Config
	APIServer  *process
	Etcd       *process
}

// startControlPlane starts etcd and kube-apiserver (serving TLS, RBAC authorization, the admin a
// client certificate in system:masters), waits until the API server is ready and writes an admin
// kubeconfig. Everything stops and is removed when t ends.
func startControlPlane(t testing.TB) *controlPlane {
	t.Helper()
	etcdBin, apiBin := testtools.Path(t, "etcd"), testtools.Path(t, "kube-apiserver")
	dir := t.TempDir()
	ca, err := newPKI("signet-e2e-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.serving("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ca.client("signet-e2e-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	saKeyPEM, err := ecKeyPEM(saKey)
	if err != nil {
		t.Fatal(err)
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := writeFile(t, filepath.Join(dir, "ca.crt"), ca.CAPEM)
	certFile := writeFile(t, filepath.Join(dir, "apiserver.crt"), serving.Cert)
	keyFile := writeFile(t, filepath.Join(dir, "apiserver.key"), serving.Key)
	saKeyFile := writeFile(t, filepath.Join(dir, "sa.key"), saKeyPEM)
	saPubFile := writeFile(t, filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER}))

	cp := &controlPlane{}
	clientPort, peerPort := freePort(t), freePort(t)
	etcdURL := "http://127.0.0.1:" + clientPort
	// Plain HTTP on loopback: only the API server talks to etcd, and nothing else can reach it.
	cp.Etcd = startProcess(t, "etcd", etcdBin, dir, nil,
		"--name", "e2e", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:"+peerPort, "--initial-advertise-peer-urls", "http://127.0.0.1:"+peerPort,
		"--initial-cluster", "e2e=http://127.0.0.1:"+peerPort,
		"--log-level", "warn", "--unsafe-no-fsync")
	if err := cp.Etcd.waitFor(time.Minute, func() error { return httpOK(http.DefaultClient, etcdURL+"/health") }); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	server := "https://127.0.0.1:" + port
	cp.APIServer = startProcess(t, "kube-apiserver", apiBin, dir, nil,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", port,
		"--tls-cert-file", certFile, "--tls-private-key-file", keyFile, "--cert-dir", filepath.Join(dir, "certs"),
		"--client-ca-file", caFile,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", server, "--service-account-key-file", saPubFile,
		"--service-account-signing-key-file", saKeyFile,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--endpoint-reconciler-type", "none",
		"--enable-priority-and-fairness=false", "--profiling=false")

	cfg := &rest.Config{
		Host:            server,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.CAPEM, CertData: admin.Cert, KeyData: admin.Key},
		QPS:             100, Burst: 200,
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.APIServer.waitFor(2*time.Minute, func() error { return httpOK(hc, server+"/readyz") }); err != nil {
		t.Fatal(err)
	}
	cp.Config = cfg
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cp.Kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	return cp
}

// writeKubeconfig writes cfg (server, CA, and a client certificate or a bearer token) as a
// kubeconfig file for kubectl and for signet-webhook.
func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

func httpOK(c *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
