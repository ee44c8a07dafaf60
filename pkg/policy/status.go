package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The Ready condition signet writes on every cluster policy, and its reasons.
const (
	ConditionReady = "Ready"

	// ReasonCompiled: Ready=True, the policy is in force as written.
	ReasonCompiled = "Compiled"
	// ReasonSecretNotFound: a key.secretRef names a Secret that does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretNotReadable: signet may not read a referenced Secret (namespace not allowed,
	// RBAC) or could not reach the API server for it.
	ReasonSecretNotReadable = "SecretNotReadable"
	// ReasonNoPublicKey: a referenced Secret (or key.data) holds no PUBLIC KEY block.
	ReasonNoPublicKey = "NoPublicKey"
	// ReasonInvalidSpec: anything else: an invalid glob, threshold, selector, key.
	ReasonInvalidSpec = "InvalidSpec"
)

// brokenEffect says what a broken policy does to the images it matches, by mode.
var brokenEffect = map[Mode]string{
	ModeEnforce: "images this policy matches are denied",
	ModeWarn:    "images this policy matches are admitted with a warning",
	ModeAudit:   "images this policy matches are admitted and recorded in the audit log",
}

// maxConditionMessage keeps status small; the full error is in the webhook's log.
const maxConditionMessage = 4096

// readyReason classifies a broken policy's error; the first matching reason wins.
func readyReason(err error) string {
	switch {
	case err == nil:
		return ReasonCompiled
	case errors.Is(err, ErrSecretNotFound):
		return ReasonSecretNotFound
	case errors.Is(err, ErrSecretNotReadable):
		return ReasonSecretNotReadable
	case errors.Is(err, ErrNoPublicKey):
		return ReasonNoPublicKey
	}
	return ReasonInvalidSpec
}

// readyCondition is the Ready condition that describes p, compiled from generation.
func readyCondition(p *Policy, generation int64) metav1.Condition {
	c := metav1.Condition{Type: ConditionReady, ObservedGeneration: generation, Reason: readyReason(p.Err)}
	if p.Err != nil {
		c.Status = metav1.ConditionFalse
		msg := strings.ReplaceAll(p.Err.Error(), "\n", "; ")
		c.Message = brokenEffect[p.Mode] + " until it is fixed: " + msg
		if len(c.Message) > maxConditionMessage {
			c.Message = c.Message[:maxConditionMessage-3] + "..."
		}
		return c
	}
	c.Status = metav1.ConditionTrue
	var ids []string
	for _, a := range p.Authorities {
		for _, k := range a.Keys {
			ids = append(ids, a.Name+":"+k.ID)
		}
	}
	c.Message = fmt.Sprintf("in force: %d authorities, threshold %d, keys %s", len(p.Authorities), p.Threshold, strings.Join(ids, ", "))
	return c
}

// statusPatch returns the merge patch that sets want on a policy whose status is current, or nil
// when current already says the same. lastTransitionTime moves only when the status flips.
func statusPatch(current ImagePolicyStatus, want metav1.Condition) ([]byte, error) {
	if c := meta.FindStatusCondition(current.Conditions, ConditionReady); c != nil &&
		c.Status == want.Status && c.Reason == want.Reason && c.Message == want.Message &&
		c.ObservedGeneration == want.ObservedGeneration && current.ObservedGeneration == want.ObservedGeneration {
		return nil, nil
	}
	conds := append([]metav1.Condition(nil), current.Conditions...)
	meta.SetStatusCondition(&conds, want)
	return json.Marshal(map[string]any{"status": ImagePolicyStatus{ObservedGeneration: want.ObservedGeneration, Conditions: conds}})
}

// writeStatus patches the policy's status subresource when its Ready condition changed.
func (s *ClusterSource) writeStatus(ctx context.Context, o compiledObject) {
	patch, err := statusPatch(o.status, readyCondition(o.policy, o.generation))
	if err != nil || patch == nil {
		return
	}
	res := s.opts.Dynamic.Resource(o.gvr)
	if o.namespace != "" {
		_, err = res.Namespace(o.namespace).Patch(ctx, o.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}, "status")
	} else {
		_, err = res.Patch(ctx, o.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}, "status")
	}
	if err != nil && ctx.Err() == nil {
		s.logger().Warn("could not write a policy's status; retrying on its next change", "policy", o.policy.Name, "error", err)
	}
}
