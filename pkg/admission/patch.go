package admission

import (
	"encoding/json"
	"strconv"
	"strings"
)

// patchOp is one RFC 6902 operation. signet only ever replaces an image string in place.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// keepUnchanged keeps only the ops whose value equals what the old object already has at that
// pointer: for kinds whose pod template is immutable after creation.
func keepUnchanged(ops []patchOp, oldObj []byte) []patchOp {
	var old any
	if err := json.Unmarshal(oldObj, &old); err != nil {
		return nil
	}
	var out []patchOp
	for _, op := range ops {
		if v, ok := lookup(old, op.Path); ok && v == op.Value {
			out = append(out, op)
		}
	}
	return out
}

// lookup returns the string at an RFC 6901 pointer in a decoded JSON document.
func lookup(doc any, pointer string) (string, bool) {
	if !strings.HasPrefix(pointer, "/") {
		return "", false
	}
	cur := doc
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch v := cur.(type) {
		case map[string]any:
			cur = v[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return "", false
			}
			cur = v[i]
		default:
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok
}
