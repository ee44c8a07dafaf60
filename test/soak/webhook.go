package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/signet-dev/signet/internal/webhookproc"
)

// webhook is a running signet-webhook process with its own self-signed certificate.
type webhook struct {
	*webhookproc.Process
	client *http.Client
}

func startWebhook(bin, dir string, args ...string) (*webhook, error) {
	p, err := webhookproc.Start(bin, dir, args...)
	if err != nil {
		return nil, err
	}
	// Like the API server: HTTP/1.1 with a few kept-alive connections.
	return &webhook{Process: p, client: p.Client(16, 30*time.Second)}, nil
}

func (w *webhook) stop() error { return w.Stop(40 * time.Second) }

// sample is one look at the process.
type sample struct {
	at                       time.Duration
	phase                    phase
	rss, heapInuse           float64 // bytes
	fds, goroutines, reviews int
}

func (w *webhook) sample() (sample, error) {
	var s sample
	pid := w.PID()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("reading /proc/%d/status: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			s.rss = kb * 1024
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("listing /proc/%d/fd: %w", pid, err)
	}
	s.fds = len(fds)
	resp, err := w.client.Get(w.URL("/metrics"))
	if err != nil {
		return s, fmt.Errorf("scraping /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return s, err
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_memstats_heap_inuse_bytes":
			s.heapInuse = v
		case "go_goroutines":
			s.goroutines = int(v)
		}
	}
	return s, nil
}
