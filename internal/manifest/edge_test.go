package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// A version the line edit cannot rewrite cleanly is refused and the file is
// left as it was, never half-rewritten.
func TestSetVersionRefusesWhatItCannotEditCleanly(t *testing.T) {
	for name, in := range map[string]string{
		"multi-line string":  "[project]\nname = \"a\"\nversion = \"\"\"0.1.0\"\"\"\n",
		"literal multi-line": "[project]\nname = \"a\"\nversion = '''0.1.0'''\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "pyproject.toml")
			os.WriteFile(file, []byte(in), 0o644)
			_, err := SetVersion("pypi", dir, "1.2.3")
			if diag.CodeOf(err) != CodeManifestInvalid || !strings.Contains(err.Error(), `version = "1.2.3"`) {
				t.Errorf("err = %v", err)
			}
			if got, _ := os.ReadFile(file); string(got) != in {
				t.Errorf("file changed:\n%s", got)
			}
		})
	}
}

// CRLF manifests keep their line endings; a version after another table's
// `version` key is the one edited.
func TestSetVersionKeepsCRLFAndEditsTheRightTable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Cargo.toml")
	in := "[dependencies]\r\nserde = { version = \"1\" }\r\n\r\n[package]\r\nname = \"a\"\r\nversion = \"0.1.0\" # kept\r\n"
	os.WriteFile(file, []byte(in), 0o644)
	ch, err := SetVersion("crates", dir, "1.2.3")
	if err != nil || ch.Old != "0.1.0" {
		t.Fatalf("ch = %+v, err = %v", ch, err)
	}
	want := strings.Replace(in, `version = "0.1.0" # kept`, `version = "1.2.3" # kept`, 1)
	if got, _ := os.ReadFile(file); string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A package.json starting with a byte-order mark (npm accepts one) is read
// and written, the mark kept.
func TestPackageJSONWithBOM(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "package.json")
	in := "\xef\xbb\xbf{\n  \"name\": \"a\",\n  \"version\": \"0.1.0\"\n}\n"
	os.WriteFile(file, []byte(in), 0o644)
	if name, v, err := ReadName("npm", dir); err != nil || name != "a" || v != "0.1.0" {
		t.Fatalf("ReadName = %q %q %v", name, v, err)
	}
	if _, err := SetVersion("npm", dir, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); string(got) != strings.Replace(in, "0.1.0", "1.2.3", 1) {
		t.Errorf("got %q", got)
	}
}

func TestSetNPMFieldWithBOM(t *testing.T) {
	file := filepath.Join(t.TempDir(), "package.json")
	os.WriteFile(file, []byte("\xef\xbb\xbf{\n  \"name\": \"a\",\n  \"version\": \"1.0.0\"\n}\n"), 0o644)
	if err := SetNPMField(file, "optionalDependencies", map[string]string{"a-linux-x64": "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(got), "\xef\xbb\xbf{") || !strings.Contains(string(got), `"a-linux-x64": "1.0.0"`) {
		t.Errorf("got %q", got)
	}
}
