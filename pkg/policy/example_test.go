package policy_test

import (
	"fmt"

	"github.com/signet-dev/signet/pkg/policy"
)

func ExampleNormalizeImage() {
	for _, image := range []string{"nginx:1.27", "index.docker.io/bitnami/redis", "localhost:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"} {
		_, repo, err := policy.NormalizeImage(image)
		if err != nil {
			panic(err)
		}
		fmt.Println(repo)
	}
	// Output:
	// docker.io/library/nginx
	// docker.io/bitnami/redis
	// localhost:5000/team/app
}

func ExampleCompileGlob() {
	g, err := policy.CompileGlob("ghcr.io/org/*")
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Match("ghcr.io/org/app"), g.Match("ghcr.io/org/team/app"))

	g, err = policy.CompileGlob("ghcr.io/org/**")
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Match("ghcr.io/org/app"), g.Match("ghcr.io/org/team/app"))

	_, err = policy.CompileGlob("ghcr.io/org/app:1.0")
	fmt.Println(err)
	// Output:
	// true false
	// true true
	// glob "ghcr.io/org/app:1.0": globs match repositories; drop the tag ":1.0" (a glob matches every tag and digest)
}
