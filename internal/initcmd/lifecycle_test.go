package initcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLifecycleWarnings(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "a"), 0o755)
	os.MkdirAll(filepath.Join(root, "b"), 0o755)
	os.WriteFile(filepath.Join(root, "a", "package.json"), []byte(`{"scripts":{"prepublishOnly":"napi prepublish -t npm"}}`), 0o644)
	os.WriteFile(filepath.Join(root, "b", "package.json"), []byte(`{"scripts":{"prepublishOnly":"napi prepublish -t npm"}}`), 0o644)
	got := lifecycleWarnings(root, []Found{{Kind: "npm", Path: "a"}, {Kind: "npm", Path: "b", Build: "napi"}})
	if len(got) != 1 || !strings.Contains(got[0], "a/package.json: prepublishOnly `napi prepublish -t npm` publishes packages itself") {
		t.Fatalf("warnings = %q", got)
	}
}
