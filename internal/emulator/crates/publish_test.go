package crates

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
)

func crateWith(name, vers, manifest string) []byte {
	return cratefile.Build(name, vers, map[string]string{"Cargo.toml": manifest, "src/lib.rs": ""})
}

func rawTar(entries map[string]string, link string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range entries {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	if link != "" {
		_ = tw.WriteHeader(&tar.Header{Name: link, Typeflag: tar.TypeSymlink, Linkname: "Cargo.toml"})
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestPublishErrors(t *testing.T) {
	const scopedNew = "cioBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	const scopedUpd = "cioCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
	const prefixScoped = "cioDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
	const stranger = "cioEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"
	good := func(name, vers string) []byte { return publishBody(meta(name, vers), goodCrate(name, vers)) }
	cases := []struct {
		name   string
		token  string // "TP" = a minted token for "owned"
		body   []byte
		setup  func(e *env)
		status int
		detail string
	}{
		{name: "no auth", body: good("newcrate", "0.1.0"), status: 403, detail: "this action requires authentication"},
		{name: "unknown token", token: "cioZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", body: good("newcrate", "0.1.0"), status: 403, detail: "authentication failed"},
		{name: "not a cio token", token: "pypi-abc", body: good("newcrate", "0.1.0"), status: 401, detail: detailBadFormat},
		{name: "bad scheme", token: "Token abc", body: good("newcrate", "0.1.0"), status: 401, detail: "Invalid `Authorization` header: Found unexpected authentication scheme `Token`"},
		{name: "empty body", token: legacyTok, body: []byte{1}, status: 400, detail: "invalid metadata length"},
		{name: "json too large", token: legacyTok, body: []byte{0, 0, 0x20, 0}, status: 413, detail: "JSON metadata blob too large"},
		{name: "truncated json", token: legacyTok, body: []byte{10, 0, 0, 0, '{'}, status: 400, detail: "invalid metadata length for remaining payload: 10"},
		{name: "json without vers", token: legacyTok, body: publishBody(map[string]any{"name": "x1", "deps": []any{map[string]any{"name": "d", "vers": "1"}}}, goodCrate("x1", "0.1.0")), status: 400, detail: "invalid upload request: missing field `vers`"},
		{name: "json not json", token: legacyTok, body: append([]byte{3, 0, 0, 0}, "abc"...), status: 400, detail: "invalid upload request: "},
		{name: "missing tarball length", token: legacyTok, body: func() []byte {
			b := good("newcrate", "0.1.0")
			js, _ := json.Marshal(meta("newcrate", "0.1.0"))
			return b[:4+len(js)]
		}(), status: 400, detail: "invalid tarball length"},
		{name: "truncated tarball", token: legacyTok, body: func() []byte { b := good("newcrate", "0.1.0"); return b[:len(b)-5] }(), status: 400, detail: "invalid tarball length for remaining payload: "},
		{name: "bad semver", token: legacyTok, body: publishBody(meta("newcrate", "1.0"), goodCrate("newcrate", "1.0")), status: 400, detail: `"1.0" is an invalid semver version`},
		{name: "bad name", token: legacyTok, body: good("new crate", "0.1.0"), status: 400, detail: "invalid character ` ` in crate name: `new crate`"},
		{name: "missing description and license", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.1.0", "", ""))), status: 400,
			detail: "missing or empty metadata fields: description, license. Please see https://doc.rust-lang.org/cargo/reference/manifest.html for more information on configuring these fields"},
		{name: "missing license only (json fields are ignored)", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.1.0", "x", ""))), status: 400,
			detail: "missing or empty metadata fields: license. Please see https://doc.rust-lang.org/cargo/reference/manifest.html for more information on configuring these fields"},
		{name: "license-file satisfies license", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.1.0", "x", "")+"license-file = \"LICENSE\"\n")), status: 200},
		{name: "manifest name mismatch", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("othercrate", "0.1.0", "x", "MIT"))), status: 400,
			detail: "metadata name `newcrate` does not match manifest name `othercrate`"},
		{name: "manifest version mismatch", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.2.0", "x", "MIT"))), status: 400,
			detail: "metadata version `0.1.0` does not match manifest version `0.2.0`"},
		{name: "workspace inheritance", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", "[package]\nname = \"newcrate\"\nversion = \"0.1.0\"\nlicense.workspace = true\n")), status: 400,
			detail: "failed to parse `Cargo.toml` manifest file\n\nvalue from workspace hasn't been set"},
		{name: "no manifest", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), rawTar(map[string]string{"newcrate-0.1.0/src/lib.rs": ""}, "")), status: 400,
			detail: "uploaded tarball is missing a `Cargo.toml` manifest file"},
		{name: "path traversal", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), rawTar(map[string]string{"newcrate-0.1.0/../../x": ""}, "")), status: 400,
			detail: "invalid path found: newcrate-0.1.0/../../x"},
		{name: "wrong root", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), goodCrate("newcrate", "0.2.0")), status: 400, detail: "invalid path found: newcrate-0.2.0/"},
		{name: "symlink", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), rawTar(map[string]string{"newcrate-0.1.0/Cargo.toml": cratefile.Manifest("newcrate", "0.1.0", "x", "MIT")}, "newcrate-0.1.0/link")), status: 400,
			detail: "unexpected symlink or hard link found: newcrate-0.1.0/link"},
		{name: "not gzip", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), []byte("hello")), status: 400, detail: "uploaded tarball is malformed or too large when decompressed"},
		{name: "homepage not http", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.1.0", "x", "MIT")+"homepage = \"ftp://x\"\n")), status: 400,
			detail: "URL for field `homepage` must begin with http:// or https:// (url: ftp://x)"},
		{name: "too many keywords", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.1.0", "x", "MIT")+"keywords = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]\n")), status: 400,
			detail: "expected at most 5 keywords per crate"},
		{name: "description too long", token: legacyTok, body: publishBody(meta("newcrate", "0.1.0"), crateWith("newcrate", "0.1.0", cratefile.Manifest("newcrate", "0.1.0", strings.Repeat("d", 1001), "MIT"))), status: 400,
			detail: "The `description` is too long. A maximum of 1000 characters are currently allowed."},
		{name: "wildcard dependency", token: legacyTok, body: func() []byte {
			m := meta("newcrate", "0.1.0")
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "*", "kind": "normal", "features": []string{}, "optional": false, "default_features": true}}
			return publishBody(m, goodCrate("newcrate", "0.1.0"))
		}(), status: 400, detail: "wildcard (`*`) dependency constraints are not allowed on crates.io."},
		{name: "duplicate version", token: legacyTok, body: good("owned", "1.0.0"), status: 400, detail: "crate version `1.0.0` is already uploaded"},
		{name: "duplicate ignoring build metadata", token: legacyTok, body: good("owned", "1.0.0+linux"), status: 400, detail: "crate version `1.0.0` is already uploaded"},
		{name: "renamed case", token: legacyTok, body: good("Owned", "2.0.0"), status: 400, detail: "crate was previously named `owned`"},
		{name: "not an owner", token: stranger, body: good("owned", "2.0.0"), status: 403,
			detail: "this crate exists but you don't seem to be an owner. If you believe this is a mistake, perhaps you need to accept an invitation to be an owner before publishing."},
		{name: "scoped publish-new cannot update", token: scopedNew, body: good("owned", "2.0.0"), status: 403, detail: detailPermissions},
		{name: "scoped publish-new can create", token: scopedNew, body: good("brandnew", "0.1.0"), status: 200},
		{name: "scoped publish-update cannot create", token: scopedUpd, body: good("brandnew", "0.1.0"), status: 403, detail: detailPermissions},
		{name: "scoped publish-update can update", token: scopedUpd, body: good("owned", "2.0.0"), status: 200},
		{name: "crate scope prefix matches", token: prefixScoped, body: good("owned-extra", "0.1.0"), status: 200},
		{name: "crate scope is case-sensitive, no -/_ folding", token: prefixScoped, body: good("owned_extra", "0.1.0"), status: 403, detail: detailPermissions},
		{name: "trustpub_only refuses API tokens", token: legacyTok, setup: func(e *env) { e.s.SetTrustpubOnly("owned", true) }, body: good("owned", "2.0.0"), status: 403,
			detail: "New versions of this crate can only be published using Trusted Publishing (see https://crates.io/docs/trusted-publishing)."},
		{name: "TP token cannot create", token: "TP", body: good("brandnew", "0.1.0"), status: 403, detail: "Trusted Publishing tokens do not support creating new crates. Publish the crate manually, first"},
		{name: "TP token for another crate", token: "TP", setup: func(e *env) { e.s.AddVersion("other", "1.0.0") }, body: good("other", "1.1.0"), status: 403, detail: "The provided access token is not valid for crate `other`"},
		{name: "TP token malformed", token: "cio_tp_short", body: good("owned", "2.0.0"), status: 401, detail: "Invalid `Authorization` header: Failed to parse token"},
		{name: "TP token unknown", token: "cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd", body: good("owned", "2.0.0"), status: 403, detail: "Invalid authentication token"},
		{name: "TP token publishes", token: "TP", body: good("owned", "2.0.0"), status: 200},
		{name: "TP token with trustpub_only", token: "TP", setup: func(e *env) { e.s.SetTrustpubOnly("owned", true) }, body: good("owned", "2.0.0"), status: 200},
		{name: "bearer raw token", token: "Bearer " + legacyTok, body: good("owned", "2.0.0"), status: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.s.AddAPIToken(legacyTok)
			e.s.AddAPIToken(scopedNew, "publish-new")
			e.s.AddAPIToken(scopedUpd, "publish-update")
			e.s.AddAPIToken(prefixScoped, "publish-new", "publish-update", "crate:owned-*")
			e.s.AddToken(&APIToken{Token: stranger, Owner: "mallory"})
			e.s.AddVersion("owned", "1.0.0")
			tp := e.tpToken("owned")
			if c.setup != nil {
				c.setup(e)
			}
			tok := c.token
			if tok == "TP" {
				tok = tp
			}
			r := e.publish(tok, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status != 200 {
				if !strings.HasPrefix(r.detail(), c.detail) {
					t.Fatalf("detail\n got %q\nwant %q…", r.detail(), c.detail)
				}
				return
			}
			var v struct {
				Crate    map[string]any `json:"crate"`
				Warnings map[string]any `json:"warnings"`
			}
			if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Crate["name"] == nil || v.Warnings["other"] == nil {
				t.Fatalf("success body %s", r.body)
			}
		})
	}
}

func TestPublishOriginRefused(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	r := e.call("PUT", "/api/v1/crates/new", map[string]string{"Authorization": "Basic x", "Origin": "https://evil.example"}, publishBody(meta("o1", "0.1.0"), goodCrate("o1", "0.1.0")))
	if r.status != 403 || r.detail() != "invalid origin header" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = e.call("PUT", "/api/v1/crates/new", map[string]string{"Authorization": legacyTok, "Origin": "https://crates.io"}, publishBody(meta("o1", "0.1.0"), goodCrate("o1", "0.1.0")))
	if r.status != 200 {
		t.Fatalf("allowed origin: %d %s", r.status, r.body)
	}
}

func TestPublishRecordsAndReads(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	crate := goodCrate("My_Crate", "0.1.0")
	m := meta("My_Crate", "0.1.0")
	m["deps"] = []any{map[string]any{"name": "serde", "version_req": "^1", "kind": "normal", "features": []string{"derive"}, "optional": true, "default_features": false, "target": nil, "registry": nil},
		map[string]any{"name": "real-name", "version_req": "^0.2", "kind": "dev", "features": []string{}, "optional": false, "default_features": true, "explicit_name_in_toml": "alias", "registry": "https://github.com/rust-lang/crates.io-index"},
		map[string]any{"name": "zother", "version_req": "^1", "kind": "build", "features": []string{}, "optional": false, "default_features": true, "registry": "sparse+https://other.example/index/"}}
	m["features"] = map[string][]string{"default": {"std"}, "std": {}, "ser": {"dep:serde"}}
	// crates.io refuses a dependency on another registry
	// (src/controllers/krate/publish.rs validate_dependency) ...
	if r := e.publish(legacyTok, publishBody(m, crate)); r.status != 400 || r.detail() != "Dependency `zother` is hosted on another registry. Cross-registry dependencies are not permitted on crates.io." {
		t.Fatalf("cross-registry: %d %s", r.status, r.body)
	}
	m["deps"].([]any)[2].(map[string]any)["registry"] = nil
	// ... and one on a crate it does not know (add_dependencies).
	if r := e.publish(legacyTok, publishBody(m, crate)); r.status != 400 || r.detail() != "no known crate named `serde`" {
		t.Fatalf("unknown dependency: %d %s", r.status, r.body)
	}
	for _, c := range []string{"serde", "real-name", "zother"} {
		e.s.CreateCrate(c, "someone")
		e.s.AddVersion(c, "1.0.0")
	}
	if r := e.publish(legacyTok, publishBody(m, crate)); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// version lookup: canonical name, exact version
	for _, p := range []string{"/api/v1/crates/my-crate/0.1.0", "/api/v1/crates/MY_CRATE/0.1.0", "/api/v1/crates/My_Crate/0.1.0"} {
		r := e.call("GET", p, nil, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		var v struct {
			Version map[string]any `json:"version"`
		}
		_ = json.Unmarshal([]byte(r.body), &v)
		sum := sha256.Sum256(crate)
		if v.Version["num"] != "0.1.0" || v.Version["crate"] != "My_Crate" || v.Version["checksum"] != fmt.Sprintf("%x", sum) || v.Version["published_by"] == nil || v.Version["trustpub_data"] != nil {
			t.Fatalf("version = %v", v.Version)
		}
	}
	for _, c := range []struct{ path, detail string }{
		{"/api/v1/crates/nope/0.1.0", "crate `nope` does not exist"},
		{"/api/v1/crates/my-crate/0.1.1", "crate `my-crate` does not have a version `0.1.1`"},
		{"/api/v1/crates/nope", "crate `nope` does not exist"},
		{"/api/v1/nothing", "Not Found"},
	} {
		r := e.call("GET", c.path, nil, nil)
		if r.status != 404 || r.detail() != c.detail {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	r := e.call("GET", "/api/v1/crates/my_crate", nil, nil)
	if r.status != 200 || !strings.Contains(r.body, `"max_version":"0.1.0"`) {
		t.Fatalf("crate: %d %s", r.status, r.body)
	}

	// sparse index
	r = e.call("GET", "/index/config.json", nil, nil)
	var cfg map[string]string
	_ = json.Unmarshal([]byte(r.body), &cfg)
	if cfg["dl"] != e.s.URL()+"/api/v1/crates" || cfg["api"] != e.s.URL() {
		t.Fatalf("config.json = %s", r.body)
	}
	r = e.call("GET", "/index/my/_c/my_crate", nil, nil)
	if r.status != 200 {
		t.Fatalf("index: %d %s", r.status, r.body)
	}
	lines := strings.Split(strings.TrimRight(r.body, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("lines = %q", lines)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(crate)
	if line["cksum"] != fmt.Sprintf("%x", sum) || line["vers"] != "0.1.0" || line["name"] != "My_Crate" || line["v"].(float64) != 2 || line["yanked"] != false {
		t.Fatalf("line = %v", line)
	}
	deps := line["deps"].([]any)
	alias := deps[0].(map[string]any)
	serde := deps[1].(map[string]any)
	other := deps[2].(map[string]any)
	if _, has := alias["registry"]; has || other["registry"] != nil {
		t.Fatalf("registry fields: %v", deps)
	}
	if alias["name"] != "alias" || alias["package"] != "real-name" || alias["kind"] != "dev" || serde["req"] != "^1" || serde["optional"] != true {
		t.Fatalf("deps = %v", deps)
	}
	if f2 := line["features2"].(map[string]any); f2["ser"] == nil {
		t.Fatalf("features2 = %v", line["features2"])
	}
	etag := r.header.Get("ETag")
	if r2 := e.call("GET", "/index/my/_c/my_crate", map[string]string{"If-None-Match": etag}, nil); r2.status != 304 {
		t.Fatalf("etag: %d", r2.status)
	}
	for _, p := range []string{"/index/my/_c/nope", "/index/xx/yy/my_crate", "/index/3/f/foo"} {
		if r := e.call("GET", p, nil, nil); r.status != 404 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	// download, exempt from the User-Agent rule
	r = e.call("GET", "/api/v1/crates/My_Crate/0.1.0/download", map[string]string{"User-Agent": ""}, nil)
	if r.status != 200 || r.body != string(crate) {
		t.Fatalf("download: %d", r.status)
	}
	if at := e.s.Attempts(); len(at) != 3 || at[2].Status != 200 || at[2].Auth != "token" || at[2].Name != "My_Crate" {
		t.Fatalf("attempts = %+v", at)
	}
	if got := e.s.Versions("my-crate"); len(got) != 1 || got[0] != "0.1.0" {
		t.Fatalf("versions = %v", got)
	}
}

func TestIndexPath(t *testing.T) {
	for name, want := range map[string]string{"a": "1/a", "ab": "2/ab", "abc": "3/a/abc", "Serde": "se/rd/serde", "cargo-foo": "ca/rg/cargo-foo"} {
		if got := IndexPath(name); got != want {
			t.Fatalf("IndexPath(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestTrustpubDataRecorded(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tpToken("foo")
	if r := e.publish(tok, publishBody(meta("foo", "0.2.0"), goodCrate("foo", "0.2.0"))); r.status != 200 {
		t.Fatal(r.body)
	}
	r := e.call("GET", "/api/v1/crates/foo/0.2.0", nil, nil)
	if !strings.Contains(r.body, `"trustpub_data":{"provider":"github","repository":"octo-org/octo-repo","run_id":"4242","sha":"`) || !strings.Contains(r.body, `"published_by":null`) {
		t.Fatal(r.body)
	}
}

func TestUserAgentRequired(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.call("GET", "/api/v1/crates/foo/0.1.0", map[string]string{"User-Agent": ""}, nil)
	if r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || !strings.HasPrefix(r.body, "We require that all requests include a `User-Agent` header.") {
		t.Fatalf("%d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = e.call("GET", "/index/config.json", map[string]string{"User-Agent": ""}, nil)
	if r.status != 200 {
		t.Fatalf("index without UA: %d", r.status)
	}
}

func TestRateLimitNewCrates(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, Options{NewCrateBurst: 2, Now: func() time.Time { return now }})
	e.s.AddAPIToken(legacyTok)
	for i, name := range []string{"one1", "two2"} {
		if r := e.publish(legacyTok, publishBody(meta(name, "0.1.0"), goodCrate(name, "0.1.0"))); r.status != 200 {
			t.Fatalf("%d: %s", i, r.body)
		}
	}
	r := e.publish(legacyTok, publishBody(meta("three", "0.1.0"), goodCrate("three", "0.1.0")))
	if r.status != 429 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	ra, err := http.ParseTime(r.header.Get("Retry-After"))
	if err != nil || !ra.After(now) || ra.After(now.Add(11*time.Minute)) {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	want := "You have published too many new crates in a short period of time. Please try again after " + r.header.Get("Retry-After") + " and see https://crates.io/docs/rate-limits for more details."
	if r.detail() != want {
		t.Fatalf("detail %q", r.detail())
	}
	// new versions of existing crates are not limited by the new-crate bucket
	if r := e.publish(legacyTok, publishBody(meta("one1", "0.2.0"), goodCrate("one1", "0.2.0"))); r.status != 200 {
		t.Fatal(r.body)
	}
	now = now.Add(10 * time.Minute)
	if r := e.publish(legacyTok, publishBody(meta("three", "0.1.0"), goodCrate("three", "0.1.0"))); r.status != 200 {
		t.Fatalf("after refill: %s", r.body)
	}
}

func TestRateLimitUpdates(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, Options{VersionBurst: 1, Now: func() time.Time { return now }})
	e.s.AddAPIToken(legacyTok)
	e.s.AddVersion("upd1", "0.1.0")
	e.s.AddVersion("upd2", "0.1.0")
	if r := e.publish(legacyTok, publishBody(meta("upd1", "0.2.0"), goodCrate("upd1", "0.2.0"))); r.status != 200 {
		t.Fatal(r.body)
	}
	r := e.publish(legacyTok, publishBody(meta("upd2", "0.2.0"), goodCrate("upd2", "0.2.0")))
	want := "You have published too many updates to existing crates in a short period of time. Please try again after Tue, 01 Sep 2026 12:01:00 GMT and see https://crates.io/docs/rate-limits for more details."
	if r.status != 429 || r.detail() != want || r.header.Get("Retry-After") != "Tue, 01 Sep 2026 12:01:00 GMT" {
		t.Fatalf("%d %s %q", r.status, r.body, r.header.Get("Retry-After"))
	}
}

func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t, Options{MaxUploadSize: 100})
	e.s.AddAPIToken(legacyTok)
	body := publishBody(meta("big", "0.1.0"), make([]byte, 200))
	r := e.publish(legacyTok, body)
	if r.status != 413 || r.detail() != "max upload size is: 100" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestReadOnly(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetReadOnly(true)
	r := e.publish(legacyTok, publishBody(meta("x1", "0.1.0"), goodCrate("x1", "0.1.0")))
	if r.status != 503 || !strings.HasPrefix(r.detail(), "crates.io is currently in read-only mode") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// Concurrent uploads of one version: exactly one wins, the rest get the
// duplicate error; distinct versions all land.
func TestConcurrentPublishes(t *testing.T) {
	e := newEnv(t, Options{VersionBurst: -1})
	e.s.AddAPIToken(legacyTok)
	e.s.AddVersion("race", "0.0.1")
	const n = 12
	statuses := make(chan int, 2*n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			statuses <- e.publish(legacyTok, publishBody(meta("race", "1.0.0"), goodCrate("race", "1.0.0"))).status
		}()
		go func(i int) {
			defer wg.Done()
			v := fmt.Sprintf("2.0.%d", i)
			if r := e.publish(legacyTok, publishBody(meta("race", v), goodCrate("race", v))); r.status != 200 {
				t.Errorf("%s: %d %s", v, r.status, r.body)
			}
		}(i)
	}
	wg.Wait()
	close(statuses)
	ok, dup := 0, 0
	for st := range statuses {
		switch st {
		case 200:
			ok++
		case 400:
			dup++
		}
	}
	if ok != 1 || dup != n-1 {
		t.Fatalf("same version: %d ok, %d duplicates", ok, dup)
	}
	if got := len(e.s.Versions("race")); got != n+2 {
		t.Fatalf("versions: %d", got)
	}
}

// crates.io rate-limits publishes by user only (publish.rs checks its rate
// limiter `if let Some(user_id) = auth.user_id()`): trusted publishing has
// no user and no limit, however tight the update burst.
func TestNoRateLimitForTrustedPublishing(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, Options{VersionBurst: 1, Now: func() time.Time { return now }})
	tok := e.tpToken("tp-burst")
	for i := 1; i <= 5; i++ {
		v := fmt.Sprintf("0.%d.0", i)
		if r := e.publish(tok, publishBody(meta("tp-burst", v), goodCrate("tp-burst", v))); r.status != 200 {
			t.Fatalf("publish %s with a trusted-publishing token: %d %s", v, r.status, r.body)
		}
	}
}
