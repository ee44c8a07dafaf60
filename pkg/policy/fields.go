package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

var (
	typeOfClusterImagePolicy = reflect.TypeFor[ClusterImagePolicy]()
	typeOfJSONUnmarshaler    = reflect.TypeFor[json.Unmarshaler]()
)

// checkShape reports, with their paths, every key in v (decoded JSON) that type t has no field
// for, and every number or boolean where t wants a string. encoding/json's DisallowUnknownFields
// names a key but not where it is, and stops at the first; field names are matched
// case-sensitively, as Kubernetes does. YAML reads yes, on and 1.10 as true, true and 1.1, and
// sigs.k8s.io/yaml would quietly turn those into the strings "true" and "1.1": a required
// annotation approved: yes would then require "true".
func checkShape(v any, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(typeOfJSONUnmarshaler) {
		return nil // e.g. metav1.Time: decodes itself
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported when decoding
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := joinPath(path, k)
			ft, ok := fields[k]
			if !ok {
				errs = append(errs, fieldErr(p, "unknown field; %s has %s", orTop(path), strings.Join(slices.Sorted(maps.Keys(fields)), ", ")))
				continue
			}
			errs = append(errs, checkShape(m[k], ft, p)...)
		}
	case reflect.String:
		switch v.(type) {
		case bool:
			errs = append(errs, fieldErr(path, "got a boolean, want a string; quote the value (YAML reads yes, no, on and off as booleans)"))
		case float64:
			errs = append(errs, fieldErr(path, "got a number, want a string; quote the value"))
		}
	case reflect.Slice:
		s, _ := v.([]any)
		for i, e := range s {
			errs = append(errs, checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			errs = append(errs, checkShape(m[k], t.Elem(), fmt.Sprintf("%s[%q]", path, k))...)
		}
	}
	return errs
}

// jsonFields maps the JSON names of t's fields to their types, flattening embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				maps.Copy(out, jsonFields(ft))
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orTop(path string) string {
	if path == "" {
		return "a policy"
	}
	return path
}
