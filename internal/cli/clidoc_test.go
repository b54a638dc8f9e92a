package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

const (
	refStart = "<!-- reference:start (generated from the command tree; UPDATE_CLI_DOCS=1 go test ./internal/cli -run TestCLIReference) -->"
	refEnd   = "<!-- reference:end -->"
)

// reference renders every command's usage and flags from the command tree.
func reference(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("## Reference\n\nGlobal flags (every command):\n\n```\n")
	b.WriteString(root.PersistentFlags().FlagUsages())
	b.WriteString("```\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if sub.Runnable() {
				fmt.Fprintf(&b, "\n### `%s`\n\n%s\n\n```\nUsage: %s\n", sub.CommandPath(), sub.Short, sub.UseLine())
				if f := sub.LocalNonPersistentFlags().FlagUsages(); f != "" {
					b.WriteString("\nFlags:\n" + f)
				}
				b.WriteString("```\n")
			}
			walk(sub)
		}
	}
	walk(root)
	return b.String()
}

func TestCLIReferenceUpToDate(t *testing.T) {
	root := NewRoot(&App{Env: env.Env{}})
	root.InitDefaultCompletionCmd()
	gen := reference(root)
	path := filepath.Join("..", "..", "docs", "cli.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, refStart), strings.Index(doc, refEnd)
	if i < 0 || j < i {
		t.Fatalf("docs/cli.md lacks the reference markers %q … %q", refStart, refEnd)
	}
	cur := strings.TrimSpace(doc[i+len(refStart) : j])
	if cur == strings.TrimSpace(gen) {
		return
	}
	if os.Getenv("UPDATE_CLI_DOCS") != "" {
		doc = doc[:i+len(refStart)] + "\n" + gen + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("docs/cli.md's reference is out of date with the command tree; run UPDATE_CLI_DOCS=1 go test ./internal/cli -run TestCLIReference")
}

// Every command has a section or a reference entry, and its flags are named.
func TestEveryCommandDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"init", "plan", "publish", "doctor", "preflight", "status", "token list", "token inspect", "auth login", "rehearse", "version"} {
		if !strings.Contains(string(data), "`putitoutthere "+name+"`") {
			t.Errorf("docs/cli.md does not document `putitoutthere %s`", name)
		}
	}
}
