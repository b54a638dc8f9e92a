package pypi

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	penv "github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
	regpypi "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
)

// twine runs the real twine against the emulator: the proof that the
// emulator speaks PyPI's upload protocol.
func twine(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("twine")
	if err != nil {
		t.Skip("twine is not installed (apt-get install twine); skipping the real-client conformance test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8",
		"TWINE_NON_INTERACTIVE=1", "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
		"NO_COLOR=1", "TERM=dumb",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err = cmd.Run()
	t.Logf("twine %s: %v", args[0], time.Since(t0))
	return out.String(), err
}

func TestTwineConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("real twine runs are skipped under -short")
	}
	if _, err := exec.LookPath("twine"); err != nil {
		t.Skip("twine is not installed (apt-get install twine); skipping the real-client conformance test")
	}
	e := start(t, nil)
	_ = e.srv.AddTrustedPublisher("twine-demo", defaultPublisher)
	tok := e.tpToken()
	dir := t.TempDir()
	s := pydisttest.Spec{Name: "twine-demo", Version: "0.3.0", Extra: [][2]string{{"Requires-Dist", "requests>=2"}, {"Keywords", "a,b"}}}
	wheel, sdist, err := pydisttest.WriteBoth(dir, s)
	if err != nil {
		t.Fatal(err)
	}

	upload := func(token string, extra ...string) (string, error) {
		args := append([]string{"upload", "--disable-progress-bar", "--non-interactive", "--repository-url", e.srv.UploadURL(), "-u", "__token__", "-p", token}, extra...)
		return twine(t, append(args, wheel, sdist)...)
	}
	// twine is slow to start; the checks that touch no shared state run alongside.
	var wg sync.WaitGroup
	var checkOut, badOut string
	var checkErr, badErr error
	wg.Add(2)
	go func() { defer wg.Done(); checkOut, checkErr = twine(t, "check", "--strict", wheel, sdist) }()
	go func() {
		defer wg.Done()
		badOut, badErr = upload("py" + "pi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw")
	}()

	if out, err := upload(tok); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	files := e.srv.Files("twine-demo", "0.3.0")
	if len(files) != 2 {
		t.Fatalf("stored %v", files)
	}
	p, _ := e.srv.Project("twine-demo")
	meta := map[string][]string{}
	for _, kv := range p.Releases[0].Meta {
		meta[kv[0]] = append(meta[kv[0]], kv[1])
	}
	if meta["requires_dist"] == nil || meta["summary"] == nil || meta["classifiers"] == nil || meta["project_urls"] == nil {
		t.Fatalf("twine's metadata fields not understood: %v", meta)
	}

	// Our client reads back what twine uploaded, and re-uploading the same
	// bytes is a silent success that it reports as already present.
	c := regpypi.New(penv.FromList([]string{"PUTITOUTTHERE_PYPI_URL=" + e.srv.URL(), "PUTITOUTTHERE_PYPI_UPLOAD_URL=" + e.srv.UploadURL()}), nil)
	got, err := c.Files(context.Background(), "Twine_Demo", "0.3")
	if err != nil || len(got) != 2 {
		t.Fatalf("client files: %v %v", got, err)
	}
	if r, err := c.Upload(context.Background(), tok, wheel); err != nil || r != regpypi.AlreadyPresent {
		t.Fatalf("client re-upload: %v %v", r, err)
	}

	// Different bytes under the same filenames: "File already exists".
	s.Salt = "rebuilt"
	if _, _, err := pydisttest.WriteBoth(dir, s); err != nil {
		t.Fatal(err)
	}
	out, err := upload(tok)
	if err == nil || !strings.Contains(out, "File already exists") {
		t.Fatalf("conflict: err %v\n%s", err, out)
	}
	if out, err := upload(tok, "--skip-existing"); err != nil || !strings.Contains(out, "Skipping") {
		t.Fatalf("--skip-existing: %v\n%s", err, out)
	}

	wg.Wait()
	if checkErr != nil {
		t.Fatalf("twine check: %v\n%s", checkErr, checkOut)
	}
	// A bad token: twine shows PyPI's 403 text from the status line.
	out, err = badOut, badErr
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "Invalid or non-existent authentication information") {
		t.Fatalf("bad token: err %v\n%s", err, out)
	}
	if strings.Contains(out, tok) {
		t.Fatal("twine output carries the token")
	}
}
