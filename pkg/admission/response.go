package admission

import (
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxWarnings bounds what we send: the API server truncates long warning lists anyway.
const maxWarnings = 20

// response turns a decision into the AdmissionResponse the API server reads.
func (d *decision) response(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: d.kind != "deny"}
	if !resp.Allowed {
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    d.code,
			Reason:  statusReason(d.code),
			Message: denyMessage(req, d.denials),
		}
		return resp
	}
	for i, w := range d.warnings {
		if i == maxWarnings {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("signet: %d more warnings not shown", len(d.warnings)-i))
			break
		}
		resp.Warnings = append(resp.Warnings, "signet: "+w)
	}
	resp.AuditAnnotations = d.audit
	if len(d.patch) > 0 {
		patch, err := json.Marshal(d.patch)
		if err != nil {
			// []patchOp of strings always marshals; keep the pin out rather than fail the review.
			return resp
		}
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
	}
	return resp
}

func statusReason(code int32) metav1.StatusReason {
	if code == 400 {
		return metav1.StatusReasonBadRequest
	}
	return metav1.StatusReasonForbidden
}

// denyMessage names the object and lists every problem, each with its field path.
func denyMessage(req *admissionv1.AdmissionRequest, denials []string) string {
	obj := req.Kind.Kind
	if n := objectName(req); n != "" {
		obj += " " + n
	}
	if len(denials) == 1 {
		return fmt.Sprintf("signet denied %s: %s", obj, denials[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "signet denied %s: %d problems:", obj, len(denials))
	for i, m := range denials {
		fmt.Fprintf(&b, " (%d) %s;", i+1, m)
	}
	return strings.TrimSuffix(b.String(), ";")
}

func objectName(req *admissionv1.AdmissionRequest) string {
	n := req.Name
	if n == "" {
		n = "(name to be generated)"
	}
	if req.Namespace != "" {
		return req.Namespace + "/" + n
	}
	return n
}
