package testregistry

import (
	"net/http"
	"testing"
)

func TestTheRealRegistryStartsWithTLSAndAuth(t *testing.T) {
	t.Parallel()
	r := Start(t, Options{Username: "alice", Password: "s3cret"})
	c := r.Client()
	resp, err := c.Get("https://" + r.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous /v2/ = %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+r.Host+"/v2/", nil)
	req.SetBasicAuth("alice", "s3cret")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated /v2/ = %d, want 200", resp.StatusCode)
	}
}
