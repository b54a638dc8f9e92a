package doctor

import (
	"strings"
	"testing"
)

// prepublishOnly/prepublish/publish scripts run inside npm publish: one that
// publishes by itself is a failure, any other a warning with the fix, and a
// platform family's scripts are only noted (it is published with
// --ignore-scripts).
func TestNPMLifecycleScripts(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml": `[putitoutthere]
version = 1

[[package]]
name = "tok"
kind = "npm"
path = "tok"
paths = ["tok/**"]

[[package]]
name = "lib"
kind = "npm"
path = "lib"
paths = ["lib/**"]

[[package]]
name = "fam"
kind = "npm"
path = "fam"
paths = ["fam/**"]
build = "napi"
targets = ["x86_64-unknown-linux-gnu"]
`,
		"tok/package.json": `{"name":"tok","repository":"github:o/r","scripts":{"prepublishOnly":"napi prepublish -t npm","build":"napi build"}}`,
		"lib/package.json": `{"name":"lib","repository":"github:o/r","scripts":{"prepublishOnly":"tsc -p .","prepack":"echo"}}`,
		"fam/package.json": `{"name":"fam","repository":"github:o/r","scripts":{"prepublishOnly":"napi prepublish -t npm"}}`,
	})
	r := run(t, root, nil)
	p := r.Phase(PhaseConfig)
	codes := map[string]int{}
	for _, is := range p.Issues() {
		codes[is.Code]++
	}
	if codes[CodeLifecyclePublishes] != 1 || codes[CodeLifecycleScript] != 1 {
		t.Fatalf("codes = %v\n%s", codes, text(r))
	}
	out := text(r)
	for _, want := range []string{"tok (npm): the prepublishOnly script publishes on its own", "set `build = \"napi\"`", "lib (npm): the prepublishOnly script runs inside npm publish", "fam (npm): prepublishOnly script `napi prepublish -t npm` is not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
