package admission

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// podSpecPaths says where the pod spec sits in each kind signet reviews. One table, one walk: a new
// kind is one line here.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// containerLists are the pod-spec fields that hold containers, in the order messages list them.
var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

// Supported reports whether signet knows where kind keeps its pod spec.
func Supported(kind string) bool {
	_, ok := podSpecPaths[kind]
	return ok
}

// Image is one container image found in an object.
type Image struct {
	// Pointer is the RFC 6901 JSON pointer of the image string, for patches.
	Pointer string
	// Field is the same location written the way kubectl messages write it:
	// spec.template.spec.containers[0].image.
	Field string
	// Container is the container's name.
	Container string
	// Image is the image reference exactly as submitted.
	Image string
}

// container holds the only container fields signet reads.
type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// Images returns every container image in obj, a JSON object of the given kind. A kind signet does
// not know is an error; so is an object whose pod spec is not where the kind puts it.
func Images(kind string, obj []byte) ([]Image, error) {
	raw, path, err := findPodSpec(kind, obj)
	if err != nil || raw == nil {
		return nil, err
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", kind, fieldPath(path), err)
	}
	var out []Image
	for _, list := range containerLists {
		data, ok := spec[list]
		if !ok || isNull(data) {
			continue
		}
		var cs []container
		if err := json.Unmarshal(data, &cs); err != nil {
			return nil, fmt.Errorf("decoding %s %s.%s: %w", kind, fieldPath(path), list, err)
		}
		for i, c := range cs {
			idx := strconv.Itoa(i)
			out = append(out, Image{
				Pointer:   "/" + strings.Join(escapeAll(append(append([]string{}, path...), list, idx, "image")), "/"),
				Field:     fieldPath(path) + "." + list + "[" + idx + "].image",
				Container: c.Name,
				Image:     c.Image,
			})
		}
	}
	return out, nil
}

// findPodSpec returns the pod spec of obj and its path, or nil when the object has none (a template
// without a spec has no containers; the API server rejects it anyway).
func findPodSpec(kind string, obj []byte) (json.RawMessage, []string, error) {
	path, ok := podSpecPaths[kind]
	if !ok {
		return nil, nil, fmt.Errorf("kind %q is not one signet reviews", kind)
	}
	raw := json.RawMessage(obj)
	for i, key := range path {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, path, fmt.Errorf("decoding %s %s: %w", kind, fieldPath(path[:i]), err)
		}
		next, ok := fields[key]
		if !ok || isNull(next) {
			return nil, path, nil
		}
		raw = next
	}
	return raw, path, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func fieldPath(path []string) string { return strings.Join(path, ".") }

// escapeAll escapes JSON pointer tokens as RFC 6901 says: "~" as "~0", "/" as "~1".
func escapeAll(tokens []string) []string {
	for i, t := range tokens {
		// Field names almost never need it; building a strings.Replacer per token was half of a
		// warm review's allocations (test/bench).
		if strings.ContainsAny(t, "~/") {
			tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
		}
	}
	return tokens
}
