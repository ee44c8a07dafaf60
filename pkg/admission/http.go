package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Defaults for Handler.
const (
	// DefaultMaxBodyBytes fits an AdmissionReview carrying two objects at the API server's 3 MiB
	// object limit, with room for the envelope.
	DefaultMaxBodyBytes = 7 << 20
	// DefaultTimeout is the API server's default webhook timeout, used when a request carries none.
	DefaultTimeout = 10 * time.Second
	// DefaultMargin is how long before the API server's timeout signet answers.
	DefaultMargin = time.Second
)

// Handler serves one endpoint's AdmissionReviews over HTTP.
type Handler struct {
	Reviewer *Reviewer
	Endpoint Endpoint
	// MaxBodyBytes bounds a request body. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DefaultTimeout applies when the request has no ?timeout=. Default DefaultTimeout.
	DefaultTimeout time.Duration
	// Margin is kept between our answer and the API server's timeout. Default DefaultMargin;
	// never more than half the timeout.
	Margin time.Duration
	// Logger may be nil.
	Logger *slog.Logger
}

// ServeHTTP decodes an AdmissionReview, reviews it within the API server's deadline and answers in
// the apiVersion it was asked in. Bad requests still get a review response echoing the UID when it
// can be read; a panic becomes a denial, never a dead server.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST with an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	if ct, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		http.Error(w, fmt.Sprintf("content type %q: send application/json", req.Header.Get("Content-Type")), http.StatusUnsupportedMediaType)
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		h.writeError(w, nil, "", http.StatusBadRequest, fmt.Sprintf("reading the request body: %v", err))
		return
	}
	if len(body) == 0 {
		h.writeError(w, nil, "", http.StatusBadRequest, "empty request body: send an AdmissionReview")
		return
	}
	if int64(len(body)) > limit {
		h.writeError(w, body, "", http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", limit))
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		h.writeError(w, body, "", http.StatusBadRequest, fmt.Sprintf("decoding the AdmissionReview: %v", err))
		return
	}
	apiVersion := review.APIVersion
	if review.Kind != "AdmissionReview" || (apiVersion != "admission.k8s.io/v1" && apiVersion != "admission.k8s.io/v1beta1") {
		h.writeError(w, body, apiVersion, http.StatusBadRequest, fmt.Sprintf("got %s %q; send an admission.k8s.io/v1 AdmissionReview", apiVersion, review.Kind))
		return
	}
	if review.Request == nil {
		h.writeError(w, body, apiVersion, http.StatusBadRequest, "the AdmissionReview has no request")
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), h.budget(req))
	defer cancel()

	resp := h.review(ctx, review.Request)
	h.write(w, apiVersion, resp)
}

// review runs the Reviewer, turning a panic into a denial that carries the UID.
func (h *Handler) review(ctx context.Context, r *admissionv1.AdmissionRequest) (resp *admissionv1.AdmissionResponse) {
	defer func() {
		if p := recover(); p != nil {
			if h.Logger != nil {
				h.Logger.Error("panic while reviewing", "uid", string(r.UID), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			resp = errored(r.UID, http.StatusInternalServerError, "signet hit an internal error and denied the request; see the webhook's log")
		}
	}()
	return h.Reviewer.Review(ctx, h.Endpoint, r)
}

// budget is how long the review may take: the API server's timeout minus the margin.
func (h *Handler) budget(req *http.Request) time.Duration {
	timeout := h.DefaultTimeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if t, err := time.ParseDuration(req.URL.Query().Get("timeout")); err == nil && t > 0 {
		timeout = t
	}
	margin := h.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	margin = min(margin, timeout/2)
	return timeout - margin
}

func errored(uid types.UID, code int32, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		UID:     uid,
		Allowed: false,
		Result:  &metav1.Status{Status: metav1.StatusFailure, Code: code, Message: msg},
	}
}

// writeError answers a request that could not be reviewed. It still answers with an AdmissionReview
// and echoes the UID when the body lets us read it, so the API server can match it up.
func (h *Handler) writeError(w http.ResponseWriter, body []byte, apiVersion string, code int32, msg string) {
	uid := scanUID(body)
	if h.Logger != nil {
		h.Logger.Warn("bad admission request", "endpoint", string(h.Endpoint), "uid", string(uid), "error", msg)
	}
	h.write(w, apiVersion, errored(uid, code, msg))
}

func (h *Handler) write(w http.ResponseWriter, apiVersion string, resp *admissionv1.AdmissionResponse) {
	if apiVersion == "" {
		apiVersion = "admission.k8s.io/v1"
	}
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Response: resp,
	}
	data, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "encoding the response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(data); err != nil && h.Logger != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		h.Logger.Debug("writing the response", "error", err)
	}
}

// scanUID finds request.uid in a body that may be malformed or cut short, reading tokens up to the
// first error, so a broken review still gets an answer the API server can match.
func scanUID(body []byte) types.UID {
	type frame struct {
		object  bool
		wantKey bool
		key     string
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			top.key, top.wantKey = s, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if s, ok := tok.(string); ok && len(stack) == 2 && stack[0].key == "request" && stack[1].key == "uid" {
			return types.UID(s)
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}
