package manifest

import (
	"strings"
	"testing"
)

func TestSetCargoDepReq(t *testing.T) {
	doc := `[package]
name = "app"
version = "0.3.0" # not this one

[dependencies]
serde = "1"
core = { path = "../core", version = "=0.1.0" } # pinned
"quoted" = "0.1"
dotted.path = "../dotted"
dotted.version = "0.1"
multi = { path = "../multi", features = [
  "a", "b",
], version = "0.1" }

[dependencies.tabled]
path = "../tabled"
version = '0.1.0'

[target.'cfg(target_os = "macos")'.dependencies]
core = { version = "0.1", path = "../core" }

[workspace.dependencies]
core = { path = "crates/core", version = "0.1.0" }
`
	for _, c := range []struct {
		table []string
		key   string
		want  string
	}{
		{[]string{"dependencies"}, "core", `core = { path = "../core", version = "=1.0.0" } # pinned`},
		{[]string{"dependencies"}, "quoted", `"quoted" = "1.0"`},
		{[]string{"dependencies"}, "dotted", `dotted.version = "1.0"`},
		{[]string{"dependencies"}, "multi", `], version = "1.0" }`},
		{[]string{"dependencies", "tabled"}[:1], "tabled", `version = '1.0.0'`},
		{[]string{"target", `cfg(target_os = "macos")`, "dependencies"}, "core", `core = { version = "1.0", path = "../core" }`},
		{[]string{"workspace", "dependencies"}, "core", `core = { path = "crates/core", version = "1.0.0" }`},
	} {
		req := "1.0"
		if strings.Contains(c.want, "=1.0.0") {
			req = "=1.0.0"
		} else if strings.Contains(c.want, "1.0.0") {
			req = "1.0.0"
		}
		out, err := SetCargoDepReq([]byte(doc), c.table, c.key, req)
		if err != nil {
			t.Errorf("%v %s: %v", c.table, c.key, err)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%v %s: want %q in\n%s", c.table, c.key, c.want, out)
		}
		// Exactly one line changed.
		a, b := strings.Split(doc, "\n"), strings.Split(string(out), "\n")
		diff := 0
		for i := range a {
			if a[i] != b[i] {
				diff++
			}
		}
		if diff != 1 {
			t.Errorf("%v %s: %d lines changed", c.table, c.key, diff)
		}
	}
	if _, err := SetCargoDepReq([]byte(doc), []string{"dependencies"}, "missing", "1"); err == nil {
		t.Error("a missing dependency was written")
	}
}

func TestSetPythonRequirement(t *testing.T) {
	doc := `[project]
name = "app"
dependencies = [
    "core-py==0.1.0",  # pinned
    'other>=1',
]
[project.optional-dependencies]
extra = ["core-py==0.1.0"]
`
	out, err := SetPythonRequirement([]byte(doc), "core-py==0.1.0", "core-py==1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(doc, "core-py==0.1.0", "core-py==1.0.0")
	if string(out) != want {
		t.Fatalf("got\n%s", out)
	}
	line, ok := RewriteRequirementLine("core-py (==0.1.0) ; python_version >= '3.9'", "core-py", "==0.1.0", "==1.0.0")
	if !ok || line != "core-py (==1.0.0) ; python_version >= '3.9'" {
		t.Fatalf("line = %q", line)
	}
	if _, err := SetPythonRequirement([]byte("[project]\nname='x'\n[tool.x]\ny = \"core-py==0.1.0\"\n"), "core-py==0.1.0", "core-py==1.0.0"); err == nil {
		t.Fatal("a string outside [project] dependencies was rewritten")
	}
}

func TestSetNPMDepRange(t *testing.T) {
	doc := "{\n  \"name\": \"app\",\n  \"dependencies\": {\n    \"core\": \"^0.1.0\",\n    \"old\": \"npm:core@^0.1.0\"\n  }\n}\n"
	out, err := SetNPMDepRange([]byte(doc), "dependencies", "core", "^1.0.0")
	if err != nil || string(out) != strings.Replace(doc, `"core": "^0.1.0"`, `"core": "^1.0.0"`, 1) {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = SetNPMDepRange([]byte(doc), "dependencies", "old", ">=1.0.0 <2.0.0")
	if err != nil || !strings.Contains(string(out), `"old": "npm:core@>=1.0.0 <2.0.0"`) {
		t.Fatalf("%v\n%s", err, out)
	}
}
