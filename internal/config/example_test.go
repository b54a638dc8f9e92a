package config_test

import (
	"fmt"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

func ExampleTagPattern() {
	m, err := config.TagPattern(&config.Package{Name: "core", TagFormat: "{name}-v{version}"})
	if err != nil {
		panic(err)
	}
	for _, tag := range []string{"core-v1.2.0", "core-py-v0.3.0", "core-v1.3.0-rc.1", "v1.0.0"} {
		v, ok := m.Match(tag)
		fmt.Println(tag, v, ok)
	}
	fmt.Println(m.Glob())
	// Output:
	// core-v1.2.0 1.2.0 true
	// core-py-v0.3.0  false
	// core-v1.3.0-rc.1 1.3.0-rc.1 true
	// v1.0.0  false
	// core-v*
}

func ExampleParse() {
	_, err := config.Parse("putitoutthere.toml", []byte(`[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "cargo"
path = "../core"
paths = ["core/**"]
`))
	for _, p := range config.ProblemsOf(err) {
		fmt.Println(p, "["+p.Code+"]")
	}
	// Output:
	// putitoutthere.toml:6:8: package "core": key `kind`: must be one of crates, pypi, npm, not "cargo" [PIOT_CONFIG_INVALID]
	// putitoutthere.toml:7:8: package "core": key `path`: "../core" escapes the repository root [PIOT_CONFIG_PATH_ESCAPE]
}
