package reliability

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The test binary doubles as stand-ins for cargo and npm (as testscript
// does): TestMain dispatches on the name it was started under.
//
//   - shim-dump/{cargo,npm}: record the environment (and npm's userconfig)
//     under $HOME/.tool-env/ and succeed without publishing; the canary test
//     reads what reached each tool.
//   - shim-npm/npm: a small npm that really publishes (the registry's PUT
//     protocol) with the token from its userconfig; scenarios that do not
//     target npm use it because node's start-up dominates the matrix's time.
const (
	shimDump = "shim-dump"
	shimNpm  = "shim-npm"
)

// runShim runs the stand-in when the binary was started as one.
func runShim() (int, bool) {
	// exec.Command sets argv[0] to the bare name; the executable's own path
	// says which stand-in this is (the shims are copies, not symlinks, so
	// the path is not resolved back to the test binary).
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	name := filepath.Base(self)
	kind := filepath.Base(filepath.Dir(self))
	switch {
	case kind == shimDump && (name == "cargo" || name == "npm"):
		return dumpEnv(name), true
	case kind == shimNpm && name == "npm":
		return fakeNpmPublish(os.Args[1:]), true
	}
	return 0, false
}

// installShims places the test binary under the shim names (hard links
// when possible, else copies).
func installShims(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, s := range [][2]string{{shimDump, "cargo"}, {shimDump, "npm"}, {shimNpm, "npm"}} {
		d := filepath.Join(dir, s[0])
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		dst := filepath.Join(d, s[1])
		if os.Link(self, dst) == nil {
			continue
		}
		data, err := os.ReadFile(self)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func dumpEnv(tool string) int {
	home := os.Getenv("HOME")
	dir := filepath.Join(home, ".tool-env")
	_ = os.MkdirAll(dir, 0o755)
	env := os.Environ()
	sort.Strings(env)
	var b strings.Builder
	fmt.Fprintf(&b, "argv: %s\n", strings.Join(os.Args[1:], " "))
	for _, kv := range env {
		b.WriteString(kv + "\n")
	}
	if rc := os.Getenv("NPM_CONFIG_USERCONFIG"); rc != "" {
		data, _ := os.ReadFile(rc)
		b.WriteString("--- userconfig\n" + string(data))
	}
	f, err := os.CreateTemp(dir, tool+"-*.env")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f.WriteString(b.String())
	f.Close()
	if tool == "cargo" {
		fmt.Fprintln(os.Stderr, "   Uploaded (stand-in)")
	}
	return 0
}

// fakeNpmPublish: `npm publish <dir> --access A --tag T --registry R [--dry-run]`.
func fakeNpmPublish(args []string) int {
	if len(args) < 2 || args[0] != "publish" {
		fmt.Fprintln(os.Stderr, "npm error stand-in supports only publish")
		return 1
	}
	dir, registry, tag, access, dry := args[1], "", "latest", "public", false
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "--registry":
			i++
			registry = args[i]
		case "--tag":
			i++
			tag = args[i]
		case "--access":
			i++
			access = args[i]
		case "--dry-run":
			dry = true
		}
	}
	if dry {
		return 0
	}
	rc, _ := os.ReadFile(os.Getenv("NPM_CONFIG_USERCONFIG"))
	token := ""
	for _, l := range strings.Split(string(rc), "\n") {
		if _, v, ok := strings.Cut(l, ":_authToken="); ok {
			token = strings.TrimSpace(v)
			if ref, ok := strings.CutPrefix(token, "${"); ok {
				token = os.Getenv(strings.TrimSuffix(ref, "}")) // npm expands ${VAR} in an npmrc
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "npm error code ENOENT")
		return 1
	}
	var pj map[string]any
	if err := json.Unmarshal(data, &pj); err != nil {
		fmt.Fprintln(os.Stderr, "npm error code EJSONPARSE")
		return 1
	}
	name, _ := pj["name"].(string)
	version, _ := pj["version"].(string)
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
	tw.Write(data)
	tw.Close()
	gz.Close()
	sum := sha512.Sum512(tgz.Bytes())
	sha := sha1.Sum(tgz.Bytes())
	vm := map[string]any{}
	for k, v := range pj {
		vm[k] = v
	}
	vm["_id"] = name + "@" + version
	vm["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:]), "shasum": hex.EncodeToString(sha[:]),
		"tarball": strings.TrimRight(registry, "/") + "/" + name + "/-/" + name + "-" + version + ".tgz"}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{tag: version}, "versions": map[string]any{version: vm}, "access": access,
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz.Bytes()), "length": tgz.Len()}}}
	body, _ := json.Marshal(doc)
	req, _ := http.NewRequest(http.MethodPut, strings.TrimRight(registry, "/")+"/"+name, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("npm-command", "publish")
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		fmt.Fprintf(os.Stderr, "npm error code ECONNRESET\nnpm error network request to %s failed: %v\n", req.URL, err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		fmt.Fprintf(os.Stderr, "npm error code E%d\nnpm error %d %s - PUT %s - %s\n", resp.StatusCode, resp.StatusCode, http.StatusText(resp.StatusCode), req.URL, e.Error)
		return 1
	}
	fmt.Printf("+ %s@%s\n", name, version)
	return 0
}
