package plan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// A tag_format whose tags git cannot create stops the plan (before any
// upload), with PIOT_TAG_INVALID.
func TestPlanRefusesTagsGitCannotCreate(t *testing.T) {
	for name, format := range map[string]string{
		"270 bytes":         "{name}-" + strings.Repeat("x", 255) + "-v{version}",
		".lock":             "{version}.lock",
		"component .lock":   "{name}.lock/v{version}",
		"space":             "{name} v{version}",
		"tilde":             "{name}~{version}",
		"caret":             "{name}^{version}",
		"colon":             "{name}:{version}",
		"question":          "{name}?{version}",
		"star":              "{name}*{version}",
		"bracket":           "{name}[{version}",
		"backslash":         "{name}\\{version}",
		"double dot":        "{name}..{version}",
		"at brace":          "{name}@{{version}",
		"leading dot comp":  "{name}/.v{version}",
		"double slash":      "{name}//v{version}",
		"trailing dot":      "{name}-v{version}.",
		"leading dash":      "-{name}-v{version}",
		"control char":      "{name}\x01{version}",
		"DEL":               "{name}\x7f{version}",
		"component > 250 B": strings.Repeat("y", 246) + "/{name}/" + strings.Repeat("z", 250) + "{version}",
	} {
		t.Run(name, func(t *testing.T) {
			p := pkg("core", "crates")
			p.TagFormat = format
			_, err := Compute(cfgOf(p), facts([]Commit{{Message: "init", Files: []string{"pkgs/core/a"}}}, nil))
			if err == nil {
				t.Fatal("plan accepted the tag")
			}
			if diag.CodeOf(err) != CodeTagInvalid && diag.CodeOf(err) != config.CodeConfigInvalid {
				t.Fatalf("code %s: %v", diag.CodeOf(err), err)
			}
			if diag.CodeOf(err) == CodeTagInvalid {
				if d, ok := err.(*diag.Error); !ok || len(d.Details) != 1 {
					t.Fatalf("%#v", err)
				}
			}
		})
	}
}

// Every name CheckTagName accepts, git accepts too, and the refusals agree
// with `git check-ref-format` (plus the filesystem's name length).
func TestCheckTagNameAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	for _, c := range []string{"core-v1.0.0", "v1.2.3+build.5", "scope/pkg@1.0.0", "a/b/c-1.0.0", "ünïcode-1.0.0",
		"x.lock", "x.lock/y", ".x", "x/.y", "x..y", "x y", "x~", "x^", "x:", "x?", "x*", "x[", "x\\y", "x@{y", "@", "x.", "x/", "/x", "x//y",
		strings.Repeat("l", 250), strings.Repeat("l", 251), strings.Repeat("m", 270)} {
		ours := config.CheckTagName(c) == nil
		gitOK := exec.Command("git", "check-ref-format", "refs/tags/"+c).Run() == nil
		if ours && !gitOK {
			t.Errorf("%q: accepted, git check-ref-format refuses it", c)
		}
		if ours {
			// The filesystem must take it too: create it for real.
			cmd := exec.Command("git", "-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x")
			cmd.Run()
			if out, err := exec.Command("git", "-C", dir, "tag", c).CombinedOutput(); err != nil {
				t.Errorf("%q: accepted, git tag fails: %s", c, out)
			}
		} else if gitOK && len(c) <= config.MaxTagComponent && c != "@" { // "@" alone reads as HEAD: refused on purpose
			t.Errorf("%q: refused, git accepts it", c)
		}
	}
	_ = os.Remove(filepath.Join(dir, "x"))
}
