package selfdist

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// .ci/run installs its packages as root directly, and as a normal user
// through sudo; with neither it says what is needed.
func TestCIRunInstallsWithSudoWhenNotRoot(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, uid string
		sudo      bool
		want      string
		wantErr   string
	}{
		{"root", "0", false, "apt-get update -qq\napt-get install -y -qq twine\n", ""},
		{"user with sudo", "1000", true, "sudo apt-get update -qq\napt-get update -qq\nsudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq twine\napt-get install -y -qq twine\n", ""},
		{"user without sudo", "1000", false, "", "installing twine needs root; run as root or install sudo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A copy of the script in a folder without go.mod: after the
			// installs, `go mod download` fails at once instead of testing.
			repo := t.TempDir()
			os.MkdirAll(filepath.Join(repo, ".ci"), 0o755)
			os.WriteFile(filepath.Join(repo, ".ci", "run"), script, 0o755)
			bin := t.TempDir()
			log := filepath.Join(t.TempDir(), "calls")
			fake := func(name, body string) {
				os.WriteFile(filepath.Join(bin, name), []byte("#!"+bash+"\n"+body+"\n"), 0o755)
			}
			fake("id", "echo "+tc.uid)
			fake("apt-get", `echo "apt-get $*" >> "$CALLS"`)
			if tc.sudo {
				fake("sudo", `echo "sudo $*" >> "$CALLS"; exec "$@"`)
			}
			for _, tool := range []string{"dirname", "env", "bash"} {
				p, err := exec.LookPath(tool)
				if err != nil {
					t.Skipf("no %s", tool)
				}
				os.Symlink(p, filepath.Join(bin, tool))
			}
			cmd := exec.Command(bash, filepath.Join(repo, ".ci", "run"))
			cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir(), "CALLS=" + log, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local"}
			out, _ := cmd.CombinedOutput()
			got, _ := os.ReadFile(log)
			if tc.want != "" && string(got) != tc.want {
				t.Errorf("calls:\n%s\nwant:\n%s\noutput:\n%s", got, tc.want, out)
			}
			if tc.wantErr != "" && !strings.Contains(string(out), tc.wantErr) {
				t.Errorf("output lacks %q:\n%s", tc.wantErr, out)
			}
		})
	}
}
