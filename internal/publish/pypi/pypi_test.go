package pypi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
)

type fakeClient struct {
	mintErr  error
	mints    int
	uploads  []string
	remote   []string
	exists   bool
	expires  time.Time
	lastAuds []string
}

func (f *fakeClient) Audience(context.Context) (string, error) { return "pypi", nil }
func (f *fakeClient) MintToken(_ context.Context, idt string) (string, time.Time, error) {
	f.mints++
	if f.mintErr != nil {
		return "", time.Time{}, f.mintErr
	}
	return "pypi-minted-" + string(rune('a'+f.mints)), f.expires, nil
}
func (f *fakeClient) VersionExists(context.Context, string, string) (bool, error) {
	return f.exists, nil
}
func (f *fakeClient) Files(context.Context, string, string) ([]string, error) { return f.remote, nil }
func (f *fakeClient) UploadFile(_ context.Context, tok, p string, _ []*attest.Attestation) (bool, error) {
	f.uploads = append(f.uploads, tok+" "+filepath.Base(p))
	return false, nil
}

func job(t *testing.T, e env.Env) publish.Job {
	root := t.TempDir()
	for _, p := range []string{"artifacts/py-sdist/py-1.0.0.tar.gz", "artifacts/py-wheel-x/py-1.0.0-cp312-cp312-linux_x86_64.whl", "artifacts/py-sdist/README"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644)
	}
	rows := []plan.Row{{Name: "py", Kind: "pypi", Target: "x", ArtifactName: "py-wheel-x"}, {Name: "py", Kind: "pypi", Target: "sdist", ArtifactName: "py-sdist"}}
	return publish.Job{Package: &config.Package{Name: "py", Kind: "pypi", Path: "py"}, Release: plan.Release{Name: "py", Version: "1.0.0"}, Rows: rows, Root: root, Env: e, Auth: auth.Resolve("pypi", e)}
}

func TestUploadsWheelsThenSdistAndRemints(t *testing.T) {
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "u", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
	now := time.Unix(1000, 0)
	fc := &fakeClient{expires: now.Add(900 * time.Second)}
	var auds []string
	h := &Handler{Client: fc, BaseURL: "https://pypi.org", Now: func() time.Time { return now },
		IDToken: func(_ context.Context, aud string) (string, error) {
			auds = append(auds, aud)
			return "id.token.x", nil
		}}
	j := job(t, e)
	c, err := h.Authorize(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(850 * time.Second) // about to expire: re-mint with a fresh ID token
	fc.expires = now.Add(900 * time.Second)
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	want := "pypi-minted-c py-1.0.0-cp312-cp312-linux_x86_64.whl|pypi-minted-c py-1.0.0.tar.gz"
	if got := strings.Join(fc.uploads, "|"); got != want {
		t.Errorf("uploads = %s", got)
	}
	if len(auds) != 2 || auds[0] != "pypi" {
		t.Errorf("ID tokens requested: %v", auds)
	}
	if h.URL("My_Pkg", "1.0.0") != "https://pypi.org/project/my-pkg/1.0.0/" {
		t.Error(h.URL("My_Pkg", "1.0.0"))
	}
}

func TestPublishedNeedsEveryFile(t *testing.T) {
	fc := &fakeClient{exists: true, remote: []string{"py-1.0.0.tar.gz"}}
	h := &Handler{Client: fc}
	j := job(t, env.Env{"PYPI_API_TOKEN": "pypi-tok"})
	if ok, _ := h.Published(t.Context(), j); ok {
		t.Error("a version missing a wheel counts as published")
	}
	fc.remote = append(fc.remote, "py-1.0.0-cp312-cp312-linux_x86_64.whl")
	if ok, _ := h.Published(t.Context(), j); !ok {
		t.Error("complete version not seen")
	}
	// Artifacts of another version do not make an older version incomplete.
	j.Release.Version = "0.9.0"
	fc.remote = []string{"py-0.9.0.tar.gz"}
	if ok, _ := h.Published(t.Context(), j); !ok {
		t.Error("0.9.0 judged by 1.0.0's files")
	}
}

func TestRefusalDiagnosis(t *testing.T) {
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "u", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t", "PYPI_API_TOKEN": "pypi-fallback-tok"}
	fc := &fakeClient{mintErr: diag.New("PIOT_PYPI_INVALID_PUBLISHER", "PyPI refused the token (invalid-publisher): valid token, but no corresponding publisher (Publisher with matching claims was not found)")}
	// claims: repository o/r, job_workflow_ref from another file (reusable workflow)
	idt := "h.eyJyZXBvc2l0b3J5Ijoiby9yIiwid29ya2Zsb3dfcmVmIjoiby9yLy5naXRodWIvd29ya2Zsb3dzL2NpLnltbEByZWZzL2hlYWRzL21haW4iLCJqb2Jfd29ya2Zsb3dfcmVmIjoiby9yLy5naXRodWIvd29ya2Zsb3dzL3JlbGVhc2UueW1sQHJlZnMvaGVhZHMvbWFpbiIsInJlZiI6InJlZnMvaGVhZHMvbWFpbiJ9.s"
	h := &Handler{Client: fc, BaseURL: "https://pypi.org", IDToken: func(context.Context, string) (string, error) { return idt, nil }}
	_, err := h.Authorize(t.Context(), job(t, e))
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != "PIOT_PYPI_INVALID_PUBLISHER" {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"invalid-publisher", "workflow file (from job_workflow_ref): release.yml", "reusable workflow", "presented environment: (absent)", "manage/project/py/settings/publishing", "PYPI_API_TOKEN is set but not used"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}

func TestRerunUploadsOnlyMissingFiles(t *testing.T) {
	fc := &fakeClient{exists: true, remote: []string{"py-1.0.0-cp312-cp312-linux_x86_64.whl"}}
	h := &Handler{Client: fc}
	j := job(t, env.Env{"PYPI_API_TOKEN": "pypi-tok"})
	c, _ := h.Authorize(t.Context(), j)
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fc.uploads, "|"); got != "pypi-tok py-1.0.0.tar.gz" {
		t.Errorf("uploads = %s", got)
	}
}
