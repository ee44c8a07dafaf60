// Package testregistry runs the real CNCF distribution registry server as a process for integration
// tests: TLS from a CA made for the test, optional htpasswd auth, storage in a temp dir, stopped
// when the test ends.
package testregistry

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/signet-dev/signet/internal/testtools"
	"github.com/signet-dev/signet/internal/tlsutil"
)

// Options configure the registry.
type Options struct {
	// Username and Password, when set, turn on htpasswd (basic) auth.
	Username, Password string
}

// Registry is a running registry process.
type Registry struct {
	// Host is 127.0.0.1:PORT.
	Host string
	// CAFile holds the PEM CA certificate that signed the registry's certificate; CAPEM is its content.
	CAFile string
	CAPEM  []byte
	// Dir is the registry's working directory (config, storage, log).
	Dir string
	// LogFile has the registry's output; it is printed when the test fails.
	LogFile string

	Username, Password string
}

// Start builds nothing: it runs the registry binary that `make tools` built, and fails t when it
// cannot (see testtools.Path).
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	bin := testtools.Path(t, "registry")
	dir := t.TempDir()
	r := &Registry{Dir: dir, LogFile: filepath.Join(dir, "registry.log"), Username: o.Username, Password: o.Password}

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r.Host = fmt.Sprintf("127.0.0.1:%d", port)
	cert, caPEM, err := tlsutil.SelfSigned([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r.CAPEM = caPEM
	r.CAFile = filepath.Join(dir, "ca.pem")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, r.CAFile, caPEM)
	mustWrite(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	mustWrite(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))

	auth := ""
	if o.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		mustWrite(t, htpasswd, []byte(o.Username+":"+string(hash)+"\n"))
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: signet-test\n    path: %s\n", htpasswd)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  tls:
    certificate: %s
    key: %s
%s`, filepath.Join(dir, "storage"), r.Host, certFile, keyFile, auth)
	configFile := filepath.Join(dir, "config.yml")
	mustWrite(t, configFile, []byte(config))

	logf, err := os.Create(r.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", configFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the registry: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
		if t.Failed() {
			data, _ := os.ReadFile(r.LogFile)
			t.Logf("registry log:\n%s", data)
		}
	})
	if err := r.waitReady(exited); err != nil {
		data, _ := os.ReadFile(r.LogFile)
		t.Fatalf("registry at %s did not start: %v\n%s", r.Host, err, data)
	}
	return r
}

// Client returns an HTTP client that trusts the registry's CA.
func (r *Registry) Client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CAPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// DockerConfig writes a docker config.json with the registry's credentials into dir and returns
// its path.
func (r *Registry) DockerConfig(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	mustWrite(t, p, []byte(fmt.Sprintf(`{"auths":{%q:{"username":%q,"password":%q}}}`, r.Host, r.Username, r.Password)))
	return p
}

func (r *Registry) waitReady(exited <-chan error) error {
	c := r.Client()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := c.Get("https://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer on /v2/ within 30s")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mustWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
