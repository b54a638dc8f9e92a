package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRegistryRulesDoc keeps docs/registry-rules.md the table's rendering.
func TestRegistryRulesDoc(t *testing.T) {
	p := filepath.Join("..", "..", "docs", "registry-rules.md")
	want := Doc()
	if os.Getenv("UPDATE_RULES_DOC") != "" {
		if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date; run UPDATE_RULES_DOC=1 go test ./internal/rules -run TestRegistryRulesDoc", p)
	}
}
