package admission

import (
	"encoding/json"
	"fmt"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

// podSpec is a pod spec with an init, a regular and an ephemeral container.
const podSpec = `{"initContainers":[{"name":"init","image":"init:1"}],"containers":[{"name":"app","image":"app:1"},{"name":"side","image":"side:1"}],"ephemeralContainers":[{"name":"dbg","image":"debug:1"}]}`

// objects has one object of every kind signet reviews, each with podSpec at the kind's place.
var objects = map[string]struct {
	json   string
	prefix string // JSON pointer of the pod spec
}{
	"Pod":                   {`{"kind":"Pod","spec":` + podSpec + `}`, "/spec"},
	"PodTemplate":           {`{"kind":"PodTemplate","template":{"spec":` + podSpec + `}}`, "/template/spec"},
	"ReplicationController": {`{"kind":"ReplicationController","spec":{"template":{"spec":` + podSpec + `}}}`, "/spec/template/spec"},
	"Deployment":            {`{"kind":"Deployment","spec":{"replicas":2,"template":{"spec":` + podSpec + `}}}`, "/spec/template/spec"},
	"ReplicaSet":            {`{"kind":"ReplicaSet","spec":{"template":{"spec":` + podSpec + `}}}`, "/spec/template/spec"},
	"StatefulSet":           {`{"kind":"StatefulSet","spec":{"template":{"spec":` + podSpec + `}}}`, "/spec/template/spec"},
	"DaemonSet":             {`{"kind":"DaemonSet","spec":{"template":{"spec":` + podSpec + `}}}`, "/spec/template/spec"},
	"Job":                   {`{"kind":"Job","spec":{"template":{"spec":` + podSpec + `}}}`, "/spec/template/spec"},
	"CronJob":               {`{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":` + podSpec + `}}}}}`, "/spec/jobTemplate/spec/template/spec"},
}

func TestImagesFindsEveryContainerInEveryKind(t *testing.T) {
	t.Parallel()
	if len(objects) != len(podSpecPaths) {
		t.Fatalf("test covers %d kinds, walker knows %d", len(objects), len(podSpecPaths))
	}
	for kind, o := range objects {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			imgs, err := Images(kind, []byte(o.json))
			if err != nil {
				t.Fatal(err)
			}
			want := []struct{ ptr, image, container string }{
				{"/initContainers/0/image", "init:1", "init"},
				{"/containers/0/image", "app:1", "app"},
				{"/containers/1/image", "side:1", "side"},
				{"/ephemeralContainers/0/image", "debug:1", "dbg"},
			}
			if len(imgs) != len(want) {
				t.Fatalf("found %d images, want %d: %+v", len(imgs), len(want), imgs)
			}
			var doc any
			if err := json.Unmarshal([]byte(o.json), &doc); err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				got := imgs[i]
				if got.Pointer != o.prefix+w.ptr || got.Image != w.image || got.Container != w.container {
					t.Errorf("image %d = %+v, want pointer %s image %s", i, got, o.prefix+w.ptr, w.image)
				}
				// The pointer must lead to the image in the real document.
				if v, ok := lookup(doc, got.Pointer); !ok || v != w.image {
					t.Errorf("pointer %s resolves to %q, want %q", got.Pointer, v, w.image)
				}
			}
		})
	}
}

func TestFieldPathsReadLikeKubectl(t *testing.T) {
	t.Parallel()
	imgs, err := Images("CronJob", []byte(objects["CronJob"].json))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := imgs[1].Field, "spec.jobTemplate.spec.template.spec.containers[0].image"; got != want {
		t.Errorf("field = %q, want %q", got, want)
	}
}

func TestImagesRejectsWhatItCannotRead(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		kind, obj string
	}{
		"a kind signet does not review":           {"Service", `{"spec":{}}`},
		"an object that is not JSON":              {"Pod", `{"spec":`},
		"containers that are not a list":          {"Pod", `{"spec":{"containers":{"name":"x"}}}`},
		"a pod spec that is a string":             {"Deployment", `{"spec":{"template":{"spec":"nope"}}}`},
		"an image that is a number, not a string": {"Pod", `{"spec":{"containers":[{"name":"a","image":5}]}}`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if imgs, err := Images(c.kind, []byte(c.obj)); err == nil {
				t.Fatalf("no error; images %+v", imgs)
			}
		})
	}
}

func TestImagesOfATemplateWithoutSpecIsEmpty(t *testing.T) {
	t.Parallel()
	imgs, err := Images("Deployment", []byte(`{"spec":{"template":null}}`))
	if err != nil || len(imgs) != 0 {
		t.Fatalf("images %+v, err %v", imgs, err)
	}
}

func TestPatchOpsApplyToTheOriginalObject(t *testing.T) {
	t.Parallel()
	for kind, o := range objects {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			imgs, err := Images(kind, []byte(o.json))
			if err != nil {
				t.Fatal(err)
			}
			var ops []patchOp
			for _, img := range imgs {
				ops = append(ops, patchOp{Op: "replace", Path: img.Pointer, Value: img.Image + "@sha256:" + fmt.Sprintf("%064x", 1)})
			}
			raw, _ := json.Marshal(ops)
			p, err := jsonpatch.DecodePatch(raw)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Apply([]byte(o.json))
			if err != nil {
				t.Fatalf("patch does not apply: %v", err)
			}
			after, err := Images(kind, out)
			if err != nil {
				t.Fatal(err)
			}
			for i := range after {
				if after[i].Image != ops[i].Value {
					t.Errorf("after patch %s = %q, want %q", after[i].Pointer, after[i].Image, ops[i].Value)
				}
			}
		})
	}
}

func TestPointerTokensAreEscaped(t *testing.T) {
	t.Parallel()
	got := escapeAll([]string{"a/b", "c~d"})
	if got[0] != "a~1b" || got[1] != "c~0d" {
		t.Fatalf("escaped %q", got)
	}
}
