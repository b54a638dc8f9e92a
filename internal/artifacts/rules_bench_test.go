package artifacts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// BenchmarkCheckRules: the registry-rules check of one package's wheel and
// sdist, and of one .crate (what publish adds per package before the first
// upload).
func BenchmarkCheckRules(b *testing.B) {
	root := b.TempDir()
	py := filepath.Join(root, Dir, "py-sdist")
	if err := os.MkdirAll(py, 0o755); err != nil {
		b.Fatal(err)
	}
	if _, _, err := pydisttest.WriteBoth(py, pydisttest.Spec{Name: "py", Version: "1.2.0", Extra: [][2]string{{"Classifier", "Topic :: Utilities"}}}); err != nil {
		b.Fatal(err)
	}
	cr := filepath.Join(root, Dir, "c-crate")
	_ = os.MkdirAll(cr, 0o755)
	data := cratefile.Build("c", "1.2.0", map[string]string{"Cargo.toml": cratefile.Manifest("c", "1.2.0", "d", "MIT OR Apache-2.0") + "keywords = [\"cli\"]\ncategories = [\"command-line-utilities\"]\n", "src/lib.rs": ""})
	if err := os.WriteFile(filepath.Join(cr, "c-1.2.0.crate"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	pyRows := []plan.Row{{Name: "py", Kind: "pypi", Target: "sdist", ArtifactName: "py-sdist"}}
	cRows := []plan.Row{{Name: "c", Kind: "crates", ArtifactName: "c-crate"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := CheckRules(root, pyRows, Want{Kind: "pypi", Name: "py", Version: "1.2.0"}); len(p) != 0 {
			b.Fatal(p)
		}
		if p := CheckRules(root, cRows, Want{Kind: "crates", Name: "c", Version: "1.2.0"}); len(p) != 0 {
			b.Fatal(p)
		}
	}
}
