package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Each testdata/*.txtar holds a before (in/) and after (want/) tree; its
// comment line gives kind, dir, version, the expected old version and hint.
func TestSetVersionGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ar, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			params := map[string]string{}
			for _, kv := range strings.Fields(string(ar.Comment)) {
				k, v, _ := strings.Cut(kv, "=")
				params[k] = v
			}
			root := t.TempDir()
			want := map[string]string{}
			for _, af := range ar.Files {
				if rel, ok := strings.CutPrefix(af.Name, "in/"); ok {
					p := filepath.Join(root, rel)
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, af.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				} else if rel, ok := strings.CutPrefix(af.Name, "want/"); ok {
					want[rel] = string(af.Data)
				}
			}
			ch, err := SetVersion(params["kind"], filepath.Join(root, params["dir"]), params["version"])
			if err != nil {
				t.Fatal(err)
			}
			if ch.Old != params["old"] {
				t.Errorf("old = %q, want %q", ch.Old, params["old"])
			}
			if h := params["hint"]; h != "" && !strings.Contains(ch.Hint, h) {
				t.Errorf("hint = %q, want it to contain %q", ch.Hint, h)
			}
			for rel, w := range want {
				got, err := os.ReadFile(filepath.Join(root, rel))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != w {
					t.Errorf("%s:\n--- got ---\n%s\n--- want ---\n%s", rel, got, w)
				}
			}
			// The written manifest reads back at the new version (unless dynamic).
			if params["hint"] == "" || params["hint"] == "maturin" {
				kind := params["kind"]
				if params["hint"] == "maturin" {
					kind = "crates"
				}
				_, v, err := ReadName(kind, filepath.Join(root, params["dir"]))
				if err != nil || v != params["version"] {
					t.Errorf("ReadName after write = %q, %v; want %q", v, err, params["version"])
				}
			}
		})
	}
}

func TestReadNameErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ReadName("crates", dir); err == nil || !strings.Contains(err.Error(), "Cargo.toml not found") {
		t.Fatalf("missing manifest: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "x",`), 0o644)
	if _, _, err := ReadName("npm", dir); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Fatalf("malformed package.json: %v", err)
	}
	if _, err := SetVersion("npm", dir, "1.0.0"); err == nil {
		t.Fatal("malformed package.json must not be written")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "package.json")); string(b) != `{"name": "x",` {
		t.Fatal("a failed write must leave the file as it was")
	}
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[tool.x]\na = 1\n"), 0o644)
	if _, err := SetVersion("pypi", dir, "1.0.0"); err == nil || !strings.Contains(err.Error(), "[project]") {
		t.Fatalf("pyproject without [project]: %v", err)
	}
}

func TestSetNPMField(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "package.json")
	os.WriteFile(p, []byte("{\n  \"name\": \"@s/cli\",\n  \"version\": \"1.0.0\",\n  \"bin\": \"x.js\"\n}\n"), 0o644)
	if err := SetNPMField(p, "optionalDependencies", map[string]string{"@s/cli-linux-x64-gnu": "1.0.0", "@s/cli-darwin-arm64": "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := "{\n  \"name\": \"@s/cli\",\n  \"version\": \"1.0.0\",\n  \"optionalDependencies\": {\n    \"@s/cli-darwin-arm64\": \"1.0.0\",\n    \"@s/cli-linux-x64-gnu\": \"1.0.0\"\n  },\n  \"bin\": \"x.js\"\n}\n"
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func FuzzSetJSONTopLevel(f *testing.F) {
	f.Add([]byte(`{"name":"a","version":"1.0.0"}`))
	f.Add([]byte("{\n  \"a\": [1, {\"b\": \"}\"}],\n  \"version\": \"\\\"x\"\n}"))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := SetJSONTopLevel(data, "version", []byte(`"9.9.9"`), "name")
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("edit produced invalid JSON from %q: %q", data, out)
		}
	})
}

func FuzzSetTOMLVersion(f *testing.F) {
	f.Add([]byte("[package]\nname = \"a\"\nversion = \"1.0.0\"\n"))
	f.Add([]byte("[package]\nname='a'\n[dependencies]\nversion = \"1\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = SetTOMLVersion(data, "package", "1.2.3", "name")
	})
}
