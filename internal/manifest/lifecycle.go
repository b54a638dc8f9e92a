package manifest

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// LifecycleScript is a package.json script npm runs inside `npm publish`
// (npm/cli lib/commands/publish.js: prepublishOnly, then pack's prepack /
// prepare / postpack, then publish and postpublish; `prepublish` is run by
// pack too on old npm versions).
type LifecycleScript struct {
	Name, Command string
	// Publishes: the command itself publishes packages (napi prepublish,
	// npm/pnpm/yarn publish, changeset publish, …), outside the order
	// putitoutthere publishes in.
	Publishes bool
}

// publishLifecycle are the scripts that run only when publishing: what
// they do is not part of the build, so in CI they run in the publish job,
// where the package's dependencies are not installed.
var publishLifecycle = []string{"prepublishOnly", "prepublish", "publish", "postpublish"}

var publishingCommand = regexp.MustCompile(`\b(napi\s+(pre-?publish|publish)|npm\s+publish|pnpm\s+(-r\s+|--recursive\s+)?publish|yarn\s+(npm\s+)?publish|changeset\s+publish|lerna\s+publish|semantic-release|np\s)`)

// PublishLifecycleScripts lists the publish-only lifecycle scripts of a
// package.json, in npm's order.
func PublishLifecycleScripts(pkgJSON []byte) []LifecycleScript {
	var m struct {
		Scripts map[string]any `json:"scripts"`
	}
	if json.Unmarshal(bytes.TrimPrefix(pkgJSON, utf8BOM), &m) != nil {
		return nil
	}
	var out []LifecycleScript
	for _, n := range publishLifecycle {
		c, ok := m.Scripts[n].(string)
		if !ok || c == "" {
			continue
		}
		out = append(out, LifecycleScript{Name: n, Command: c, Publishes: publishingCommand.MatchString(c + " ")})
	}
	return out
}
