package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

func TestResolveWorkspaceRange(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"workspace:*", "1.2.3"},
		{"workspace:^", "^1.2.3"},
		{"workspace:~", "~1.2.3"},
		{"workspace:1.2.0", "1.2.0"},
		{"workspace:^1.0.0", "^1.0.0"},
		{"workspace:>=1.0.0 <2", ">=1.0.0 <2"},
		{"workspace:../core", "1.2.3"},
		{"workspace:@scope/core@^", "npm:@scope/core@^1.2.3"},
		{"workspace:core@*", "npm:core@1.2.3"},
	} {
		got, ok := ResolveWorkspaceRange(c.in, "1.2.3")
		if !ok || got != c.want {
			t.Errorf("%s → %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	if _, ok := ResolveWorkspaceRange("^1.0.0", "1.2.3"); ok {
		t.Error("a plain range is not a workspace range")
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReplaceWorkspaceProtocol(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "package.json"), `{"name":"root","private":true}`)
	writeFile(t, filepath.Join(root, "packages/core/package.json"), `{"name": "@x/core", "version": "0.1.0"}`)
	writeFile(t, filepath.Join(root, "packages/util/package.json"), `{"name": "util", "version": "2.0.0"}`)
	writeFile(t, filepath.Join(root, "node_modules/@x/core/package.json"), `{"name": "@x/core", "version": "9.9.9"}`)
	cli := `{
  "name": "cli",
  "version": "0.0.0",
  "dependencies": {
    "@x/core": "workspace:^",
    "left-pad": "^1.3.0"
  },
  "peerDependencies": { "util": "workspace:*" },
  "devDependencies": {
    "u2": "workspace:util@~",
    "u3": "workspace:../util"
  }
}
`
	writeFile(t, filepath.Join(root, "packages/cli/package.json"), cli)
	ws, err := NPMWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if ws["@x/core"].Version != "0.1.0" {
		t.Fatalf("node_modules must not shadow the workspace: %+v", ws["@x/core"])
	}
	dir := filepath.Join(root, "packages/cli")
	reps, err := ReplaceWorkspaceProtocol(dir, "", ws, map[string]string{"@x/core": "1.0.0"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 4 {
		t.Fatalf("replacements: %+v", reps)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "package.json"))
	want := strings.NewReplacer(`"workspace:^"`, `"^1.0.0"`, `"workspace:*"`, `"2.0.0"`, `"workspace:util@~"`, `"npm:util@~2.0.0"`, `"workspace:../util"`, `"2.0.0"`).Replace(cli)
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if refs, _ := WorkspaceRefs(got); len(refs) != 0 {
		t.Fatalf("left: %+v", refs)
	}
}

func TestReplaceWorkspaceProtocolUnknownRefused(t *testing.T) {
	root := t.TempDir()
	body := `{"name":"cli","version":"1.0.0","dependencies":{"ghost":"workspace:*"}}`
	writeFile(t, filepath.Join(root, "cli/package.json"), body)
	ws, _ := NPMWorkspace(root)
	_, err := ReplaceWorkspaceProtocol(filepath.Join(root, "cli"), "", ws, nil, false)
	if diag.CodeOf(err) != CodeWorkspaceProtocol || !strings.Contains(err.Error(), "ghost") && !strings.Contains(strings.Join(err.(*diag.Error).Details, ""), "ghost") {
		t.Fatalf("err = %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "cli/package.json"))
	if string(got) != body {
		t.Fatal("a refused replacement must not write")
	}
}
