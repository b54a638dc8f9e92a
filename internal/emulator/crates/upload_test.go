package crates

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	piotenv "github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
)

// recorder sits in front of the emulator and keeps every publish request's
// JSON metadata and .crate, so cargo's own request and ours can be compared.
type recorder struct {
	mu   sync.Mutex
	meta []map[string]any
	tars [][]byte
}

func (r *recorder) wrap(t *testing.T, target string) *httptest.Server {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var front *httptest.Server
	// The index's config.json names the API and download URLs: point them
	// at the recorder so cargo's requests pass through it too.
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/config.json") {
			return nil
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b = bytes.ReplaceAll(b, []byte(target), []byte(front.URL))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		return nil
	}
	front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPut && req.URL.Path == "/api/v1/crates/new" {
			body, _ := io.ReadAll(req.Body)
			n := binary.LittleEndian.Uint32(body[:4])
			var m map[string]any
			if err := json.Unmarshal(body[4:4+n], &m); err != nil {
				t.Errorf("metadata is not JSON: %v", err)
			}
			tl := binary.LittleEndian.Uint32(body[4+n : 8+n])
			r.mu.Lock()
			r.meta = append(r.meta, m)
			r.tars = append(r.tars, body[8+n:8+n+tl])
			r.mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, req)
	}))
	return front
}

// TestUploadMatchesCargo: `cargo package` builds a .crate, our client uploads
// it through the publish API, and the metadata we send is what `cargo
// publish` sends for the same package (dependency kinds, renames, targets,
// features, readme, …); then real cargo resolves and downloads the uploaded
// crate from the registry, checksum and all.
func TestUploadMatchesCargo(t *testing.T) {
	e := newEnv(t, Options{})
	apiToken := NewAPITokenString()
	e.s.AddAPIToken(apiToken)
	rec := &recorder{}
	front := rec.wrap(t, e.s.URL())
	defer front.Close()
	k := newCargoKit(t, e.s)
	k.client = cratesio.New(piotenv.Env{cratesio.EnvURL: front.URL}, &httpx.Client{Policy: httpx.Policy{Attempts: 1}})
	meta := "description = \"upload test\"\nlicense = \"MIT OR Apache-2.0\"\nreadme = \"README.md\"\nkeywords = [\"a\", \"b\"]\ncategories = [\"development-tools\"]\nauthors = [\"A <a@example.com>\"]\nrepository = \"https://example.com/r\"\nrust-version = \"1.60\"\n"
	base := k.writeCrate("base", "piot-base", "0.1.0", meta, "pub fn base() -> u32 { 1 }\n")
	os.WriteFile(filepath.Join(base, "README.md"), []byte("# base\n"), 0o644)
	if out, err := k.publish(base, apiToken, "--no-verify"); err != nil {
		t.Fatalf("cargo publish base: %v\n%s", err, out)
	}
	deps := "\n[features]\ndefault = [\"std\"]\nstd = []\nextra = [\"dep:renamed\"]\n" +
		"\n[dependencies]\npiot-base = { version = \"0.1\", default-features = false }\nrenamed = { package = \"piot-base\", version = \">= 0.1, < 0.2\", optional = true }\n" +
		"\n[dev-dependencies]\npiot-base = \"=0.1.0\"\n" +
		"\n[build-dependencies]\npiot-base = \"~0.1.0\"\n" +
		"\n[target.'cfg(unix)'.dependencies]\npiot-base = { version = \"0.1.0\", features = [] }\n"
	top := k.writeCrate("top", "piot-top", "0.1.0", meta+deps, "pub fn top() -> u32 { 2 }\n")
	os.WriteFile(filepath.Join(top, "README.md"), []byte("# top\n\nreadme text\n"), 0o644)
	lockArgs := []string{"generate-lockfile", "--config", `source.crates-io.replace-with="piot"`}
	if out, err := k.run(top, apiToken, lockArgs...); err != nil {
		t.Fatalf("generate-lockfile: %v\n%s", err, out)
	}
	// cargo's own request for 0.1.0 ...
	if out, err := k.publish(top, apiToken, "--no-verify"); err != nil {
		t.Fatalf("cargo publish top: %v\n%s", err, out)
	}
	// ... and ours for the same package at 0.2.0, from `cargo package`.
	os.WriteFile(filepath.Join(top, "Cargo.toml"), bytes.Replace(mustRead(t, filepath.Join(top, "Cargo.toml")), []byte(`version = "0.1.0"`), []byte(`version = "0.2.0"`), 1), 0o644)
	pkgArgs := append([]string{"package", "--allow-dirty", "--no-verify"}, k.client.PublishArgs()...)
	if out, err := k.run(top, apiToken, pkgArgs...); err != nil {
		t.Fatalf("cargo package: %v\n%s", err, out)
	}
	crate := mustRead(t, filepath.Join(k.work, "target", "package", "piot-top-0.2.0.crate"))
	nc, info, err := cratefile.PublishMetadata(crate)
	if err != nil || info.Name != "piot-top" || info.Version != "0.2.0" {
		t.Fatalf("PublishMetadata: %v %+v", err, info)
	}
	body, err := cratefile.UploadBody(nc, crate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.Upload(context.Background(), apiToken, body); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if got := strings.Join(e.s.Versions("piot-top"), ","); got != "0.1.0,0.2.0" {
		t.Fatalf("versions = %s", got)
	}
	rec.mu.Lock()
	cargoMeta, ours := rec.meta[1], rec.meta[2]
	uploaded := rec.tars[2]
	rec.mu.Unlock()
	if !bytes.Equal(uploaded, crate) {
		t.Fatal("the uploaded .crate is not the packaged file")
	}
	ours["vers"] = cargoMeta["vers"]
	if !reflect.DeepEqual(sortDeps(cargoMeta), sortDeps(ours)) {
		a, _ := json.MarshalIndent(cargoMeta, "", " ")
		b, _ := json.MarshalIndent(ours, "", " ")
		t.Fatalf("metadata differs from cargo's\ncargo: %s\nours:  %s", a, b)
	}
	// A dependent resolves and downloads the uploaded version.
	user := k.writeCrate("user", "piot-user", "0.1.0", meta+"\n[dependencies]\npiot-top = \"=0.2.0\"\n", "pub fn u() -> u32 { piot_top::top() }\n")
	os.WriteFile(filepath.Join(user, "README.md"), []byte("u\n"), 0o644)
	if out, err := k.run(user, apiToken, "fetch", "--config", `source.crates-io.replace-with="piot"`); err != nil {
		t.Fatalf("cargo fetch of the uploaded crate: %v\n%s", err, out)
	}
	if lock := string(mustRead(t, filepath.Join(user, "Cargo.lock"))); !strings.Contains(lock, "name = \"piot-top\"\nversion = \"0.2.0\"") || !strings.Contains(lock, info.Checksum) {
		t.Fatalf("Cargo.lock does not pin the uploaded crate (%s):\n%s", info.Checksum, lock)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sortDeps orders deps[] (cargo lists them in its resolver's order). The
// test registry is the alias "piot" with crates.io replaced by it, so cargo
// names crates.io's index as the registry of every dependency; publishing to
// crates.io itself it names none (cargo_publish.rs: `None` means "the same
// registry"), which is what our request says.
func sortDeps(m map[string]any) map[string]any {
	deps, _ := m["deps"].([]any)
	keyed := map[string]any{}
	for _, d := range deps {
		if dm, ok := d.(map[string]any); ok && dm["registry"] == "https://github.com/rust-lang/crates.io-index" {
			delete(dm, "registry")
		}
		b, _ := json.Marshal(d)
		keyed[string(b)] = d
	}
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	out["deps"] = keyed
	return out
}
