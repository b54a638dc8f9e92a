package diag_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// codeLit finds stable error codes written as Go string literals.
var codeLit = regexp.MustCompile("[\"`](PIOT_[A-Z0-9_]+)[\"`]")

// notCodes are PIOT_ literals in non-test sources that are not error codes.
var notCodes = map[string]bool{
	"PIOT_EOF":            true, // heredoc delimiter for GITHUB_OUTPUT values
	"PIOT_NPM_AUTH_TOKEN": true, // the variable npm reads a minted token from (publish/npm)
}

// TestEveryCodeIsDocumented: every PIOT_* code in the product's Go sources
// appears in docs/errors.md, so a user who sees one can look it up.
func TestEveryCodeIsDocumented(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`(PIOT_[A-Z0-9_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	codes := map[string]string{} // code -> first file
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range codeLit.FindAllStringSubmatch(string(data), -1) {
			if _, seen := codes[m[1]]; !seen && !notCodes[m[1]] {
				codes[m[1]] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) < 20 {
		t.Fatalf("found only %d codes; is the source walk broken?", len(codes))
	}
	var missing []string
	for c, f := range codes {
		if !documented[c] && !(strings.HasSuffix(c, "_") && documentedPrefix(documented, c)) {
			missing = append(missing, c+" ("+f+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("codes missing from docs/errors.md (add a row with cause and fix):\n  %s", strings.Join(missing, "\n  "))
	}
}

// documentedPrefix: a literal ending in "_" builds codes from a registry's own
// error names (PIOT_PYPI_ + "INVALID_PUBLISHER"); some code must carry it.
func documentedPrefix(documented map[string]bool, prefix string) bool {
	for c := range documented {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}
