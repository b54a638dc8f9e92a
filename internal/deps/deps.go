// Package deps pins the modules the project is built on while the packages
// that use them land, so concurrent work does not race on go.mod.
package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/bmatcuk/doublestar/v4"
	_ "github.com/cli/oauth"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/pelletier/go-toml/v2/unstable"
	_ "github.com/rhysd/actionlint"
	_ "github.com/zalando/go-keyring"
	_ "go.yaml.in/yaml/v3"
)
