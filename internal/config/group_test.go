package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGroupsGiveMembersTheGroupTag(t *testing.T) {
	cfg, err := Parse("p.toml", []byte(`
[putitoutthere]
version = 1

[[group]]
name = "core"
tag_format = "v{version}"
previous_tag_formats = ["{name}-{version}"]

[[package]]
name = "tokenizers-rs"
kind = "crates"
crate = "tokenizers"
path = "tokenizers"
paths = ["tokenizers/**"]
group = "core"

[[package]]
name = "tokenizers-py"
kind = "pypi"
pypi = "tokenizers"
path = "bindings/python"
paths = ["bindings/python/**"]
group = "core"

[[package]]
name = "cli"
kind = "npm"
path = "npm"
paths = ["npm/**"]
previous_tag_formats = ["cli/v{version}"]
build = "napi"
targets = ["aarch64-linux-android", "x86_64-unknown-linux-musl"]
member_name = "@biomejs/cli-{os}-{cpu}{libc}"
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Package("tokenizers-rs"), cfg.Package("tokenizers-py")
	if a.TagFor("1.2.3") != "v1.2.3" || b.TagFor("1.2.3") != "v1.2.3" {
		t.Fatalf("tags %s %s", a.TagFor("1.2.3"), b.TagFor("1.2.3"))
	}
	if got := strings.Join(a.TagFormats(), ","); got != "v{version},core-{version}" {
		t.Fatalf("formats %s", got)
	}
	if g := cfg.Group("core"); g == nil || strings.Join(g.Members, ",") != "tokenizers-rs,tokenizers-py" {
		t.Fatalf("group %+v", g)
	}
	if c := cfg.Package("cli"); c.MemberName == "" || len(c.PreviousTagFormats) != 1 {
		t.Fatalf("cli %+v", c)
	}
}

func TestGroupProblems(t *testing.T) {
	_, err := Parse("p.toml", []byte(`
[putitoutthere]
version = 1

[[group]]
name = "a"

[[group]]
name = "empty"
bogus = 1

[[group]]
name = "g"

[[package]]
name = "a"
kind = "crates"
path = "a"
paths = ["a/**"]
group = "nope"

[[package]]
name = "b"
kind = "crates"
path = "b"
paths = ["b/**"]
group = "g"
tag_format = "b-{version}"

[[package]]
name = "c"
kind = "npm"
path = "c"
paths = ["c/**"]
member_name = "x-{os}"
`))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`group name "a" is also the name of the package`,
		`unknown key`,
		`group "empty" has no members`,
		`"nope" is not a [[group]]`,
		`set tag_format on the [[group]]`,
		`member_name`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
}

// Crates inheriting the workspace version must share a group.
func TestInheritedVersionNeedsGroup(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(s), 0o644)
	}
	write("Cargo.toml", "[workspace]\nmembers=[\"crates/*\"]\n[workspace.package]\nversion=\"0.1.0\"\n")
	write("crates/a/Cargo.toml", "[package]\nname=\"a\"\nversion.workspace=true\n")
	write("crates/b/Cargo.toml", "[package]\nname=\"b\"\nversion = { workspace = true }\n")
	cfgText := "[putitoutthere]\nversion = 1\n%s\n[[package]]\nname = \"a\"\nkind = \"crates\"\npath = \"crates/a\"\npaths = [\"crates/a/**\"]\n%s\n[[package]]\nname = \"b\"\nkind = \"crates\"\npath = \"crates/b\"\npaths = [\"crates/b/**\"]\n%s\n"
	file := filepath.Join(root, FileName)
	os.WriteFile(file, []byte(strings.NewReplacer().Replace(sprintf(cfgText, "", "", ""))), 0o644)
	_, err := Load(file)
	if err == nil || !strings.Contains(err.Error(), "must be in one [[group]]") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(file, []byte(sprintf(cfgText, "[[group]]\nname = \"crates\"\ntag_format = \"crates_v{version}\"\n", "group = \"crates\"", "group = \"crates\"")), 0o644)
	if _, err := Load(file); err != nil {
		t.Fatal(err)
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
