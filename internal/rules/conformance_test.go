package rules_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	regpypi "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
)

type pypiCase struct {
	Name     string            `json:"name"`
	From     string            `json:"from"`
	Metadata [][2]string       `json:"metadata"`
	Rule     string            `json:"rule"`
	Status   int               `json:"status"`
	Text     string            `json:"text"`
	Platform string            `json:"platform"`
	Sdist    bool              `json:"sdist"`
	Filename string            `json:"filename"`
	Omit     []string          `json:"omit"`
	Add      map[string]string `json:"add"`
	LimitMB  int64             `json:"limit_mb"`
	Pad      int               `json:"pad"`
}

type crateDep struct {
	Name     string `json:"name"`
	Req      string `json:"req"`
	Registry string `json:"registry"`
}

type crateCase struct {
	Name          string     `json:"name"`
	From          string     `json:"from"`
	Rule          string     `json:"rule"`
	Status        int        `json:"status"`
	Text          string     `json:"text"`
	Crate         string     `json:"crate"`
	License       *string    `json:"license"`
	Description   *string    `json:"description"`
	Documentation string     `json:"documentation"`
	Keywords      []string   `json:"keywords"`
	Categories    []string   `json:"categories"`
	Deps          []crateDep `json:"deps"`
	Known         []string   `json:"known"`
	Version       string     `json:"version"`
	RustVersion   string     `json:"rust_version"`
	Homepage      string     `json:"homepage"`
}

type corpus struct {
	PyPI   []pypiCase  `json:"pypi"`
	Crates []crateCase `json:"crates"`
}

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "registry-rules", "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConformancePyPI runs every PyPI case of the corpus against the
// pre-upload check (the rule is named, nothing is uploaded) and the
// emulator (the registry's status and text).
func TestConformancePyPI(t *testing.T) {
	for _, c := range loadCorpus(t).PyPI {
		t.Run(c.Name, func(t *testing.T) {
			fn, data := buildDist(t, c)
			limit := c.LimitMB << 20

			// Before the first upload.
			root := t.TempDir()
			row := plan.Row{Name: "spam", Kind: "pypi", ArtifactName: "spam-dist"}
			if c.Sdist {
				row.Target = "sdist"
			}
			p := filepath.Join(root, artifacts.Dir, row.ArtifactName, fn)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			lines := artifacts.CheckRules(root, []plan.Row{row}, artifacts.Want{Kind: "pypi", Name: "spam", Version: "2.0", PyPIFileLimit: limit})
			checkLines(t, c.Rule, c.Text, lines, c.From)

			// The emulator.
			srv, err := pypi.Start(pypi.Options{MaxFileSize: limit})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := srv.CreateProject("spam", "alice"); err != nil {
				t.Fatal(err)
			}
			tok, err := srv.APIToken("alice", "spam")
			if err != nil {
				t.Fatal(err)
			}
			status, msg := uploadPyPI(t, srv.UploadURL(), tok, fn, data, c)
			want := c.Status
			if want == 0 {
				want = 200
			}
			if status != want || (c.Rule != "" && msg != c.Text) {
				t.Errorf("emulator answered %d %q\nwant %d %q\n(from %s)", status, msg, want, c.Text, c.From)
			}
		})
	}
}

func checkLines(t *testing.T, rule, text string, lines []string, from string) {
	t.Helper()
	if rule == "" {
		if len(lines) > 0 {
			t.Errorf("valid package refused before upload: %q (from %s)", lines, from)
		}
		return
	}
	for _, l := range lines {
		if strings.Contains(l, "rule "+rule+",") && strings.Contains(l, text) {
			return
		}
	}
	t.Errorf("pre-upload check did not name rule %s with %q; got %q (from %s)", rule, text, lines, from)
}

func metadataText(c pypiCase) string {
	var b strings.Builder
	desc := ""
	for _, kv := range c.Metadata {
		if kv[0] == "Description" {
			desc = kv[1]
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	b.WriteString("\n" + desc)
	return b.String()
}

func buildDist(t *testing.T, c pypiCase) (string, []byte) {
	t.Helper()
	meta := metadataText(c)
	omitted := func(name string) bool {
		for _, o := range c.Omit {
			if filepath.Base(name) == o {
				return true
			}
		}
		return false
	}
	if c.Sdist {
		fn := "spam-2.0.tar.gz"
		if c.Filename != "" {
			fn = c.Filename
		}
		files := map[string]string{"spam-2.0/PKG-INFO": meta, "spam-2.0/pyproject.toml": "[project]\nname = \"spam\"\n"}
		for k, v := range c.Add {
			files[k] = v
		}
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, k := range sortedKeys(files) {
			if omitted(k) {
				continue
			}
			_ = tw.WriteHeader(&tar.Header{Name: k, Mode: 0o644, Size: int64(len(files[k])), Typeflag: tar.TypeReg})
			_, _ = io.WriteString(tw, files[k])
		}
		_ = tw.Close()
		_ = gz.Close()
		return fn, buf.Bytes()
	}
	tag := "py3-none-any"
	if c.Platform != "" {
		tag = "cp312-cp312-" + c.Platform
	}
	fn := "spam-2.0-" + tag + ".whl"
	if c.Filename != "" {
		fn = c.Filename
	}
	di := "spam-2.0.dist-info/"
	files := map[string]string{"spam/__init__.py": "", di + "METADATA": meta, di + "WHEEL": "Wheel-Version: 1.0\nGenerator: corpus\nRoot-Is-Purelib: true\nTag: " + tag + "\n"}
	for k, v := range c.Add {
		files[k] = v
	}
	if c.Pad > 0 {
		pad := make([]byte, c.Pad)
		_, _ = rand.Read(pad)
		files["spam/blob.bin"] = string(pad)
	}
	var record strings.Builder
	for _, k := range sortedKeys(files) {
		sum := sha256.Sum256([]byte(files[k]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", k, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[k]))
	}
	files[di+"RECORD"] = record.String() + di + "RECORD,,\n"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, k := range sortedKeys(files) {
		if omitted(k) {
			continue
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: k, Method: zip.Store})
		_, _ = io.WriteString(w, files[k])
	}
	_ = zw.Close()
	return fn, buf.Bytes()
}

// uploadPyPI sends the file as twine does: the core metadata as form
// fields, then the file.
func uploadPyPI(t *testing.T, url, token, fn string, data []byte, c pypiCase) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	field := func(k, v string) { _ = mw.WriteField(k, v) }
	field(":action", "file_upload")
	field("protocol_version", "1")
	ft, pyv := pydist.Wheel, "py3"
	if c.Sdist {
		ft, pyv = pydist.Sdist, "source"
	}
	field("filetype", ft)
	field("pyversion", pyv)
	sum := sha256.Sum256(data)
	field("sha256_digest", hex.EncodeToString(sum[:]))
	for _, kv := range c.Metadata {
		field(pydist.FormName(kv[0]), kv[1])
	}
	h := textproto.MIMEHeader{}
	disp := fmt.Sprintf(`form-data; name="content"; filename="%s"`, fn)
	if strings.ContainsFunc(fn, func(r rune) bool { return r < 32 || r == 127 }) {
		// A control character cannot stand in a header: RFC 2231 encoding.
		disp = `form-data; name="content"; filename*=utf-8''` + neturl.PathEscape(fn)
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Type", "application/octet-stream")
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		return 200, ""
	}
	return resp.StatusCode, regpypi.Message(resp.StatusCode, resp.Status, string(b))
}

// TestConformanceCrates runs every crates.io case against the pre-upload
// check and the emulator.
func TestConformanceCrates(t *testing.T) {
	for _, c := range loadCorpus(t).Crates {
		t.Run(c.Name, func(t *testing.T) {
			name := c.Crate
			if name == "" {
				name = "foo"
			}
			version := c.Version
			if version == "" {
				version = "1.0.0"
			}
			crate, meta := buildCrate(t, name, version, c)
			known := map[string]bool{}
			for _, k := range c.Known {
				known[k] = true
			}

			root := t.TempDir()
			row := plan.Row{Name: name, Kind: "crates", ArtifactName: name + "-crate"}
			p := filepath.Join(root, artifacts.Dir, row.ArtifactName, name+"-"+version+".crate")
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, crate, 0o644); err != nil {
				t.Fatal(err)
			}
			lines := artifacts.CheckRules(root, []plan.Row{row}, artifacts.Want{Kind: "crates", Name: name, Version: version,
				CrateExists: func(n string) (bool, error) { return known[n], nil }})
			checkLines(t, c.Rule, c.Text, lines, c.From)

			srv, err := crates.Start(crates.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			for k := range known {
				srv.AddVersion(k, "1.0.0")
			}
			tok := crates.NewAPITokenString()
			srv.AddAPIToken(tok)
			status, detail := publishCrate(t, srv.URL(), tok, meta, crate)
			want := c.Status
			if want == 0 {
				want = 200
			}
			if status != want || (c.Rule != "" && detail != c.Text) {
				t.Errorf("emulator answered %d %q\nwant %d %q\n(from %s)", status, detail, want, c.Text, c.From)
			}
		})
	}
}

func buildCrate(t *testing.T, name, version string, c crateCase) ([]byte, map[string]any) {
	t.Helper()
	pkg := map[string]any{"name": name, "version": version, "edition": "2021"}
	desc, lic := "a crate", "MIT"
	if c.Description != nil {
		desc = *c.Description
	}
	if c.License != nil {
		lic = *c.License
	}
	if desc != "" {
		pkg["description"] = desc
	}
	if lic != "" {
		pkg["license"] = lic
	}
	if c.Documentation != "" {
		pkg["documentation"] = c.Documentation
	}
	if c.Homepage != "" {
		pkg["homepage"] = c.Homepage
	}
	if c.RustVersion != "" {
		pkg["rust-version"] = c.RustVersion
	}
	if c.Keywords != nil {
		pkg["keywords"] = c.Keywords
	}
	if c.Categories != nil {
		pkg["categories"] = c.Categories
	}
	doc := map[string]any{"package": pkg}
	deps := map[string]any{}
	var jdeps []any
	for _, d := range c.Deps {
		td := map[string]any{"version": d.Req}
		var reg any
		if d.Registry != "" {
			td["registry-index"] = d.Registry
			reg = d.Registry
		}
		deps[d.Name] = td
		jdeps = append(jdeps, map[string]any{"name": d.Name, "version_req": d.Req, "kind": "normal", "features": []string{},
			"optional": false, "default_features": true, "target": nil, "registry": reg})
	}
	if len(deps) > 0 {
		doc["dependencies"] = deps
	}
	manifest, err := toml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	crate := cratefile.Build(name, version, map[string]string{"Cargo.toml": string(manifest), "src/lib.rs": ""})
	if jdeps == nil {
		jdeps = []any{}
	}
	meta := map[string]any{"name": name, "vers": version, "deps": jdeps, "features": map[string]any{}, "authors": []string{},
		"description": desc, "license": lic, "keywords": c.Keywords, "categories": c.Categories}
	return crate, meta
}

func publishCrate(t *testing.T, base, token string, meta map[string]any, crate []byte) (int, string) {
	t.Helper()
	js, _ := json.Marshal(meta)
	var body bytes.Buffer
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(js)))
	body.Write(js)
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(crate)))
	body.Write(crate)
	req, _ := http.NewRequest(http.MethodPut, base+"/api/v1/crates/new", &body)
	req.Header.Set("Authorization", token)
	req.Header.Set("User-Agent", "cargo 1.80.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(b, &e)
	if len(e.Errors) > 0 {
		return resp.StatusCode, e.Errors[0].Detail
	}
	return resp.StatusCode, ""
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
