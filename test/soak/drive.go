package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// class is what kind of image a review carries.
type class string

const (
	hot      class = "signed, hot (cached)"
	cold     class = "signed, cold (uncached)"
	unsigned class = "unsigned"
)

// outcome is one review and its answer.
type outcome struct {
	class          class
	endpoint       string
	image          string
	sent, answered time.Time
	allowed        bool
	message        string
	err            string // transport or protocol failure
}

// verdict is how an outcome is judged.
type verdict string

const (
	ok             verdict = "as expected"
	flapDenial     verdict = "expected denial during a flap"
	unexpectedDeny verdict = "UNEXPECTED denial"
	unexpectedPass verdict = "UNEXPECTED allow"
	failed         verdict = "ERROR"
)

// registryReasons are the deny reasons that say the registry could not be asked.
var registryReasons = []string{"registry unreachable", "timed out", "rate limited", "registry TLS failure", "registry auth failed"}

// judge applies the soak's rules:
//   - the mutating endpoint never denies (it only pins; judging is the validating endpoint's job);
//   - an unsigned image is always denied, healthy registry or not (never allowed);
//   - a signed image is allowed, except that it may be denied for a registry reason (fail-closed)
//     when the registry was not healthy at some moment between sending the review and its answer;
//   - any transport error, non-200 answer or malformed review is an error.
func judge(o outcome, start time.Time) verdict {
	switch {
	case o.err != "":
		return failed
	case o.endpoint == "mutate" && !o.allowed:
		return unexpectedDeny
	case o.endpoint == "mutate":
		return ok
	case o.class == unsigned && o.allowed:
		return unexpectedPass
	case o.class == unsigned:
		return ok
	case o.allowed:
		return ok
	case registryReason(o.message) && flapped(start, o.sent, o.answered):
		return flapDenial
	}
	return unexpectedDeny
}

func registryReason(msg string) bool {
	for _, r := range registryReasons {
		if strings.Contains(msg, r) {
			return true
		}
	}
	return false
}

// flapped reports whether the registry was anything but healthy at some moment in [a, b].
func flapped(start, a, b time.Time) bool {
	cyc := cycleLength()
	first := max(0, int(a.Sub(start)/cyc)-1)
	last := int(b.Sub(start)/cyc) + 1
	for c := first; c <= last; c++ {
		at := start.Add(time.Duration(c) * cyc)
		for _, s := range schedule {
			end := at.Add(s.for_)
			if s.phase != healthy && at.Before(b) && end.After(a) {
				return true
			}
			at = end
		}
	}
	return false
}

// images are the references the drivers choose from.
type images struct {
	hot, cold, unsigned []string
}

// driver sends reviews from workers goroutines until stop is closed, each pausing pause between
// reviews, and returns every outcome.
func drive(w *webhook, imgs images, workers int, pause, timeout time.Duration, stop <-chan struct{}) []outcome {
	var (
		mu  sync.Mutex
		all []outcome
		wg  sync.WaitGroup
	)
	coldNext := 0
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
				var o outcome
				switch r := rng.IntN(100); {
				case r < 60:
					o.class, o.image = hot, imgs.hot[rng.IntN(len(imgs.hot))]
				case r < 90:
					mu.Lock()
					o.class, o.image = cold, imgs.cold[coldNext%len(imgs.cold)]
					coldNext++
					mu.Unlock()
				default:
					o.class, o.image = unsigned, imgs.unsigned[rng.IntN(len(imgs.unsigned))]
				}
				o.endpoint = "validate"
				if rng.IntN(5) == 0 {
					o.endpoint = "mutate"
				}
				review(w, &o, fmt.Sprintf("soak-%d-%d", i, n), timeout)
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

// review sends one Pod CREATE as the API server does and fills in the answer.
func review(w *webhook, o *outcome, uid string, timeout time.Duration) {
	body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":%q,"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"apps","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"soak-","namespace":"apps"},"spec":{"containers":[{"name":"c","image":%q}]}}}}`, uid, o.image)
	o.sent = time.Now()
	resp, err := w.client.Post(w.URL(fmt.Sprintf("/%s?timeout=%s", o.endpoint, timeout)), "application/json", bytes.NewReader([]byte(body)))
	defer func() { o.answered = time.Now() }()
	if err != nil {
		o.err = err.Error()
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		o.err = fmt.Sprintf("HTTP %d: %v %s", resp.StatusCode, err, data)
		return
	}
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &rv); err != nil || rv.Response == nil || string(rv.Response.UID) != uid {
		o.err = fmt.Sprintf("not an answer to review %s: %v %s", uid, err, data)
		return
	}
	o.allowed = rv.Response.Allowed
	if rv.Response.Result != nil {
		o.message = rv.Response.Result.Message
	}
}
