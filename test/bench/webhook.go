package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/signet-dev/signet/internal/webhookproc"
)

// webhook is a running signet-webhook process, served with its own self-signed certificate.
type webhook struct {
	*webhookproc.Process
	admin *http.Client // health and metrics, on its own connection
}

// startWebhook runs bin with a fresh listen address and self-signed certificate and waits until
// it is ready. args add flags (policies, registry CA, cache settings).
func startWebhook(bin, dir string, args ...string) (*webhook, error) {
	p, err := webhookproc.Start(bin, dir, args...)
	if err != nil {
		return nil, err
	}
	return &webhook{Process: p, admin: p.Client(1, 30*time.Second)}, nil
}

// client keeps up to conns connections alive, as the API server does: HTTP/1.1, one request per
// connection at a time.
func (w *webhook) client(conns int) *http.Client { return w.Client(conns, 30*time.Second) }

func (w *webhook) url(path string) string { return w.URL(path) }

// metrics scrapes /metrics.
func (w *webhook) metrics() (map[string]*dto.MetricFamily, error) {
	return scrape(w.admin, w.url("/metrics"))
}

// memory is the process's resident set (from /proc) and Go heap in use (from /metrics), in bytes.
type memory struct {
	rss, rssAnon, rssFile, peakRSS, heapInuse float64
}

func (w *webhook) memory() (memory, error) {
	var m memory
	st, err := w.procStatus()
	if err != nil {
		return m, err
	}
	m.rss, m.rssAnon, m.rssFile, m.peakRSS = st["VmRSS:"], st["RssAnon:"], st["RssFile:"], st["VmHWM:"]
	fams, err := w.metrics()
	if err != nil {
		return m, err
	}
	m.heapInuse = gauge(fams, "go_memstats_heap_inuse_bytes")
	return m, nil
}

// rss is the process's resident set now, in bytes.
func (w *webhook) rss() (float64, error) {
	st, err := w.procStatus()
	return st["VmRSS:"], err
}

// procStatus reads the kB figures of /proc/PID/status, in bytes.
func (w *webhook) procStatus() (map[string]float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.PID()))
	if err != nil {
		return nil, fmt.Errorf("reading the webhook's /proc status: %w", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb * 1024
		}
	}
	return out, nil
}

// stop sends SIGTERM and waits for a clean exit.
func (w *webhook) stop() error { return w.Stop(15 * time.Second) }
