package npm

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

const killCanary = "npm_KILLcanary0123456789abcdefghijklmnop"

// TestHelperPublishThenHang is the process the SIGKILL test kills: it starts
// an npm publish whose npm never returns.
func TestHelperPublishThenHang(t *testing.T) {
	tmp := os.Getenv("PIOT_NPM_KILL_TMP")
	if tmp == "" {
		t.Skip("helper process only")
	}
	e := env.Env{"NODE_AUTH_TOKEN": killCanary, "PATH": "/bin"}
	j, _ := setup(t, e)
	j.Auth = auth.Resolve("npm", e)
	fr := &run.Fake{Base: e, Handler: func(c run.Cmd) (run.Result, error) {
		os.WriteFile(filepath.Join(tmp, "npm-started"), nil, 0o644)
		select {} // npm hangs until the process is killed
	}}
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: tmp}
	h.Publish(context.Background(), j, &publish.Credential{Method: auth.MethodToken, Token: killCanary})
}

// A SIGKILL while npm publishes leaves no file holding the token (it is
// passed by environment; the userconfig only references it), and the next
// run removes the killed run's private npm directory.
func TestSIGKILLLeavesNoCredentialFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPublishThenHang$")
	cmd.Env = append(os.Environ(), "PIOT_NPM_KILL_TMP="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(tmp, "npm-started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("helper did not reach npm")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	leftover := 0
	filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		leftover++
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(killCanary)) {
			t.Errorf("%s holds the token after SIGKILL", p)
		}
		return nil
	})
	if leftover == 0 {
		t.Fatal("the killed run left nothing: the test did not reach npm")
	}
	// The next run sweeps the killed run's directory (its process is gone).
	h := &Handler{Client: &fakeClient{}, TempDir: tmp}
	_, _, cleanup, err := h.userconfig("")
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("%s was not swept", e.Name())
		}
	}
}
