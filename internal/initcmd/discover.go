package initcmd

import (
	"encoding/json"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// Found is a package discovered from a manifest.
type Found struct {
	Name         string   `json:"name"`          // the config name
	RegistryName string   `json:"registry_name"` // the manifest's name
	Kind         string   `json:"kind"`
	Path         string   `json:"path"` // slash-separated, "." for the root
	Build        string   `json:"build,omitempty"`
	Targets      []string `json:"targets,omitempty"`
	DependsOn    []string `json:"depends_on,omitempty"`
	// Version is the manifest's version ("" when none).
	Version string `json:"version,omitempty"`
	// MemberName names a napi family's platform packages as napi-rs does.
	MemberName string `json:"member_name,omitempty"`
	// Group, TagFormat, PreviousTagFormats and TagEvidence come from the
	// tag list (TagSchemes); TrustPolicy from existing publish workflows.
	Group              string      `json:"group,omitempty"`
	TagFormat          string      `json:"tag_format,omitempty"`
	PreviousTagFormats []string    `json:"previous_tag_formats,omitempty"`
	TagEvidence        string      `json:"tag_evidence,omitempty"`
	TrustPolicy        *FoundTrust `json:"trust_policy,omitempty"`
	Notes              []string    `json:"notes,omitempty"`

	// cargoPathDeps are the repo-relative directories of the Rust path
	// dependencies of the package's crate (its own, or the one built into it).
	cargoPathDeps []string
	// deps: the dependencies of the package's own manifest; cargoDeps: of
	// the crate built into it (maturin, napi, bundled-cli) or its own.
	deps, cargoDeps []manifest.Dep
	// inherits: Cargo `version.workspace = true`, in workspace wsRoot.
	inherits bool
	wsRoot   string
}

// FoundTrust is the trusted publisher an existing publish workflow implies.
type FoundTrust struct {
	Workflow    string `json:"workflow"`
	Environment string `json:"environment,omitempty"`
	From        string `json:"from"` // the workflow file it was read from
}

// Skipped is a manifest init found and left out, with why.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// skipDirs are never searched: dependencies, build output, VCS data.
var skipDirs = map[string]bool{
	"node_modules": true, "target": true, ".git": true, "dist": true, "build": true,
	"__pycache__": true, ".venv": true, "venv": true, "vendor": true,
}

// leftOutDirs hold manifests nothing publishes: test fixtures, examples,
// benchmarks, templates and development tools. Their manifests are listed
// once per directory, with the reason.
var leftOutDirs = map[string]string{
	"test": "test fixtures", "tests": "test fixtures", "__tests__": "test fixtures", "testdata": "test fixtures",
	"test-data": "test fixtures", "fixtures": "test fixtures", "__fixtures__": "test fixtures", "test-crates": "test fixtures",
	"test-fixtures": "test fixtures", "e2e": "test fixtures", "wasm-test": "test fixtures",
	"example": "examples", "examples": "examples",
	"bench": "benchmarks", "benches": "benchmarks", "benchmark": "benchmarks", "benchmarks": "benchmarks",
	"template": "templates", "templates": "templates",
	"xtask": "a development tool nothing publishes", "tasks": "development tools nothing publishes",
}

// defaultTargets is what a native package is built for when its manifest
// does not say: the GitHub-hosted runners' platforms.
var defaultTargets = []string{
	"x86_64-unknown-linux-gnu",
	"aarch64-unknown-linux-gnu",
	"aarch64-apple-darwin",
	"x86_64-pc-windows-msvc",
}

// Discover finds releasable packages under root.
func Discover(root string) ([]Found, []Skipped, error) {
	var found []Found
	var skipped []Skipped
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable subdirectory: not ours to judge
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if why, ok := leftOutDirs[strings.ToLower(d.Name())]; ok && p != root {
				if n := countManifests(p); n > 0 {
					skipped = append(skipped, Skipped{rel + "/", fmt.Sprintf("%s (%d manifest(s) left out)", why, n)})
				}
				return filepath.SkipDir
			}
			if n := strings.ToLower(d.Name()); (n == "tools" || n == "scripts") && hasManifest(filepath.Dir(p)) {
				// A package's own tools (bindings/python/tools/stub-gen):
				// built for its development, not published.
				if c := countManifests(p); c > 0 {
					skipped = append(skipped, Skipped{rel + "/", fmt.Sprintf("development tools of the package above (%d manifest(s) left out)", c)})
				}
				return filepath.SkipDir
			}
			if isFamilyMemberDir(p) {
				skipped = append(skipped, Skipped{rel + "/package.json", "a platform package of the napi family above it (published with it)"})
				return filepath.SkipDir
			}
			f, s := inspectDir(p, rel)
			found = append(found, f...)
			skipped = append(skipped, s...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("searching %s for manifests: %w", root, err)
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].Path != found[j].Path {
			return found[i].Path < found[j].Path
		}
		return found[i].Kind < found[j].Kind
	})
	found, skipped = linkFamilies(root, found, skipped)
	nameFound(found)
	linkDeps(found)
	return found, skipped, nil
}

// hasManifest reports whether dir holds a manifest.
func hasManifest(dir string) bool {
	for _, f := range []string{"Cargo.toml", "pyproject.toml", "package.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// countManifests counts the manifests under dir (for the left-out line).
func countManifests(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != dir && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		switch d.Name() {
		case "Cargo.toml", "pyproject.toml", "package.json":
			n++
		}
		return nil
	})
	return n
}

// isFamilyMemberDir: a package.json with `os` or `cpu` under a directory
// whose package.json has a `napi` table (napi-rs's npm/<platform>/ layout):
// a platform package the family publishes, not a package of its own.
func isFamilyMemberDir(dir string) bool {
	ni, err := readNPMInfo(filepath.Join(dir, "package.json"))
	if err != nil {
		return false
	}
	_, hasOS := ni.Raw["os"]
	_, hasCPU := ni.Raw["cpu"]
	if !hasOS && !hasCPU {
		return false
	}
	for up, i := filepath.Dir(dir), 0; i < 3; up, i = filepath.Dir(up), i+1 {
		if top, err := readNPMInfo(filepath.Join(up, "package.json")); err == nil && top.Napi != nil {
			return true
		}
	}
	return false
}

func readNPMInfo(file string) (*manifest.NPMInfo, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return manifest.ReadNPMInfo(data)
}

// inspectDir reads the manifests directly in dir.
func inspectDir(dir, rel string) ([]Found, []Skipped) {
	var found []Found
	var skipped []Skipped
	at := func(file string) string { return path.Join(rel, file) }

	py, pyErr := readTOML(filepath.Join(dir, "pyproject.toml"))
	pjData, pjErr := os.ReadFile(filepath.Join(dir, "package.json"))
	var pj *manifest.NPMInfo
	if pjErr == nil {
		if pj, pjErr = manifest.ReadNPMInfo(pjData); pjErr != nil {
			skipped = append(skipped, Skipped{at("package.json"), "unreadable: " + pjErr.Error()})
		}
	}
	cargoData, cErr := os.ReadFile(filepath.Join(dir, "Cargo.toml"))
	var cargo *manifest.CargoInfo
	var deps []string
	var cargoDeps []manifest.Dep
	if cErr == nil {
		if cargo, cErr = manifest.ReadCargoInfo(cargoData); cErr != nil {
			skipped = append(skipped, Skipped{at("Cargo.toml"), "unreadable: " + cErr.Error()})
		} else {
			cargoDeps, _ = manifest.CargoDeps(cargoData)
			for _, d := range cargoDeps {
				if d.Path != "" && d.Ships() {
					deps = append(deps, path.Clean(path.Join(rel, filepath.ToSlash(d.Path))))
				}
			}
			sort.Strings(deps)
		}
	}
	cargoHasPkg := cErr == nil && cargo.HasPackage
	crateVersion := func() string {
		if cargo == nil {
			return ""
		}
		if cargo.VersionInherited {
			if root, err := findCargoWorkspace(dir); err == nil {
				if data, err := os.ReadFile(filepath.Join(root, "Cargo.toml")); err == nil {
					if ws, err := manifest.ReadCargoInfo(data); err == nil {
						return ws.WorkspaceVersion
					}
				}
			}
			return ""
		}
		return cargo.Version
	}
	maturin := false

	if pyErr == nil {
		backend, _ := dig(py, "build-system", "build-backend").(string)
		name, _ := dig(py, "project", "name").(string)
		version, _ := dig(py, "project", "version").(string)
		if name == "" {
			name, _ = dig(py, "tool", "poetry", "name").(string)
			version, _ = dig(py, "tool", "poetry", "version").(string)
		}
		switch {
		case name == "":
			skipped = append(skipped, Skipped{at("pyproject.toml"), "no [project].name"})
		default:
			f := Found{RegistryName: name, Kind: config.KindPyPI, Path: rel, Version: version}
			if data, err := os.ReadFile(filepath.Join(dir, "pyproject.toml")); err == nil {
				f.deps, _ = manifest.PythonDeps(data)
			}
			switch {
			case strings.HasPrefix(backend, "maturin"):
				maturin = true
				f.Build = config.BuildMaturin
				f.Targets = defaultTargets
				f.cargoPathDeps = deps
				f.cargoDeps = cargoDeps
				if f.Version == "" {
					f.Version = crateVersion() // maturin takes a dynamic version from Cargo.toml
				}
			case strings.HasPrefix(backend, "hatchling"):
				f.Build = config.BuildHatch
			}
			if f.Version == "" && cargo != nil {
				f.Version = crateVersion() // a dynamic version read from the crate beside it (setuptools-rust)
			}
			found = append(found, f)
		}
	} else if !os.IsNotExist(pyErr) {
		skipped = append(skipped, Skipped{at("pyproject.toml"), "unreadable: " + pyErr.Error()})
	}

	if pj != nil {
		switch {
		case pj.Private:
			skipped = append(skipped, Skipped{at("package.json"), fmt.Sprintf(`"private": %v`, jsonValue(pj.Raw["private"]))})
		case len(pj.Workspaces) > 0:
			skipped = append(skipped, Skipped{at("package.json"), "workspace root"})
		case testHarness(pj):
			skipped = append(skipped, Skipped{at("package.json"), "a test harness (its entry point is under tests/), not a package anything publishes"})
		case pj.Name == "":
			skipped = append(skipped, Skipped{at("package.json"), "no name"})
		default:
			f := Found{RegistryName: pj.Name, Kind: config.KindNPM, Path: rel, Version: pj.Version}
			f.deps, _ = manifest.NPMDeps(pjData)
			if pj.Napi != nil {
				f.Build = config.BuildNapi
				var notes []string
				f.Targets, notes = napiTargets(pj.Napi)
				f.Notes = append(f.Notes, notes...)
				f.MemberName = "{npmname}-{os}-{cpu}{abi}" // napi-rs names its platform packages so
				f.cargoPathDeps = deps
				f.cargoDeps = cargoDeps
			} else if pj.HasBin && cargoHasPkg {
				// A Rust binary next to a package.json with `bin`: the npm
				// package ships it per platform.
				f.Build = config.BuildBundledCLI
				f.Targets = defaultTargets
				f.cargoPathDeps = deps
				f.cargoDeps = cargoDeps
			}
			found = append(found, f)
		}
	}

	if cargo != nil {
		switch {
		case cargo.IsWorkspace && !cargo.HasPackage:
			skipped = append(skipped, Skipped{at("Cargo.toml"), "workspace root"})
		case maturin:
			skipped = append(skipped, Skipped{at("Cargo.toml"), "the Rust side of the maturin package " + rel})
		case pj != nil && !pj.Private && pj.Name != "" && (pj.Napi != nil || pj.HasBin):
			skipped = append(skipped, Skipped{at("Cargo.toml"), "built into the npm package " + rel})
		case !cargo.Publish:
			skipped = append(skipped, Skipped{at("Cargo.toml"), "publish = false"})
		case cargo.Name == "":
			skipped = append(skipped, Skipped{at("Cargo.toml"), "no [package].name"})
		default:
			f := Found{RegistryName: cargo.Name, Kind: config.KindCrates, Path: rel, cargoPathDeps: deps, cargoDeps: cargoDeps, Version: crateVersion()}
			if cargo.VersionInherited {
				f.inherits = true
				if root, err := findCargoWorkspace(dir); err == nil {
					f.wsRoot = root
				}
			}
			found = append(found, f)
		}
	}
	return found, skipped
}

// testHarness: a package.json whose entry point lives in a test directory
// (pydantic-core's package.json "for running wasm tests": main is
// tests/emscripten_runner.js).
func testHarness(pj *manifest.NPMInfo) bool {
	main, _ := pj.Raw["main"].(string)
	main = strings.TrimPrefix(path.Clean(filepath.ToSlash(main)), "./")
	for _, d := range []string{"tests/", "test/", "__tests__/"} {
		if strings.HasPrefix(main, d) {
			return true
		}
	}
	return false
}

func jsonValue(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// napiDefaultTriples are napi-rs's `napi.triples.defaults` (napi-rs cli v2).
var napiDefaultTriples = []string{"x86_64-apple-darwin", "x86_64-pc-windows-msvc", "x86_64-unknown-linux-gnu"}

// napiTargets reads napi-rs's target lists: `napi.targets` (v3), or
// `napi.triples` (v2: the defaults unless `defaults: false`, plus
// `additional`). A triple npm cannot describe is left out with a note rather
// than stopping init.
func napiTargets(napi map[string]any) ([]string, []string) {
	var raw []string
	if ts, ok := napi["targets"].([]any); ok {
		raw = anyStrings(ts)
	} else if tr, ok := napi["triples"].(map[string]any); ok {
		if d, ok := tr["defaults"].(bool); !ok || d {
			raw = append(raw, napiDefaultTriples...)
		}
		if add, ok := tr["additional"].([]any); ok {
			raw = append(raw, anyStrings(add)...)
		}
	}
	if len(raw) == 0 {
		raw = defaultTargets
	}
	var out, notes []string
	seen := map[string]bool{}
	for _, t := range raw {
		if seen[t] {
			continue
		}
		seen[t] = true
		if _, _, _, err := platform.NPM(t); err != nil {
			notes = append(notes, fmt.Sprintf("target %s left out: %v", t, err))
			continue
		}
		out = append(out, t)
	}
	return out, notes
}

func anyStrings(l []any) []string {
	var out []string
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// findCargoWorkspace is the nearest directory above dir whose Cargo.toml
// has a [workspace] table.
func findCargoWorkspace(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no workspace above %s", dir)
		}
		d = parent
		data, err := os.ReadFile(filepath.Join(d, "Cargo.toml"))
		if err != nil {
			continue
		}
		if ci, err := manifest.ReadCargoInfo(data); err == nil && ci.IsWorkspace {
			return d, nil
		}
	}
}

// linkDeps turns dependencies between discovered packages into depends_on,
// so a change to one releases what is built from it: Cargo dependencies of
// every kind that ships (normal, build, target-specific; renamed ones by
// their real name) on a sibling crate, npm dependencies (workspace:
// included) on a sibling npm package, Python requirements naming a sibling
// PyPI project. Dev-dependencies do not ship and are not followed; an edge
// that would close a cycle is dropped (depends_on must be acyclic).
func linkDeps(found []Found) {
	byKind := map[string]map[string]int{}
	byPath := map[string]int{}
	for i, f := range found {
		if byKind[f.Kind] == nil {
			byKind[f.Kind] = map[string]int{}
		}
		key := f.RegistryName
		if f.Kind == config.KindPyPI {
			key = manifest.NormalizePyName(key)
		}
		byKind[f.Kind][key] = i
		if f.Kind == config.KindCrates {
			byPath[f.Path] = i
		}
	}
	edges := make([][]int, len(found))
	for i := range found {
		seen := map[int]bool{i: true}
		add := func(j int, ok bool) {
			if ok && !seen[j] {
				seen[j] = true
				edges[i] = append(edges[i], j)
			}
		}
		for _, d := range found[i].cargoDeps {
			if !d.Ships() {
				continue
			}
			j, ok := byKind[config.KindCrates][d.Name]
			add(j, ok)
		}
		for _, d := range found[i].cargoPathDeps {
			j, ok := byPath[d]
			add(j, ok)
		}
		for _, d := range found[i].deps {
			switch found[i].Kind {
			case config.KindNPM:
				if d.Kind == manifest.DepNormal || d.Kind == manifest.DepOptional {
					j, ok := byKind[config.KindNPM][d.Name]
					add(j, ok)
				}
			case config.KindPyPI:
				if d.Kind != manifest.DepDev {
					j, ok := byKind[config.KindPyPI][manifest.NormalizePyName(d.Name)]
					add(j, ok)
				}
			}
		}
	}
	// Drop edges closing a cycle (depth-first, in discovery order).
	state := make([]int, len(found))
	var visit func(i int)
	visit = func(i int) {
		state[i] = 1
		kept := edges[i][:0]
		for _, j := range edges[i] {
			if state[j] == 1 {
				found[i].Notes = append(found[i].Notes, "dependency on "+found[j].RegistryName+" left out of depends_on: it would close a cycle")
				continue
			}
			if state[j] == 0 {
				visit(j)
			}
			kept = append(kept, j)
		}
		edges[i] = kept
		state[i] = 2
	}
	for i := range found {
		if state[i] == 0 {
			visit(i)
		}
	}
	for i := range found {
		sort.Ints(edges[i])
		for _, j := range edges[i] {
			found[i].DependsOn = append(found[i].DependsOn, found[j].Name)
		}
	}
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

func readTOML(file string) (map[string]any, error) {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func readJSON(file string) (map[string]any, error) {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

var badNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// nameFound picks a config name per package: the manifest name without an
// npm scope, made unique with a kind suffix when two packages share it.
func nameFound(found []Found) {
	base := func(f Found) string {
		n := f.RegistryName
		if i := strings.LastIndexByte(n, '/'); i >= 0 {
			n = n[i+1:]
		}
		n = strings.Trim(badNameChars.ReplaceAllString(n, "-"), "-._")
		if n == "" {
			n = f.Kind
		}
		return n
	}
	count := map[string]int{}
	for _, f := range found {
		count[base(f)]++
	}
	used := map[string]bool{}
	suffix := map[string]string{config.KindCrates: "-rs", config.KindPyPI: "-py", config.KindNPM: "-js"}
	for i := range found {
		n := base(found[i])
		if count[n] > 1 {
			n += suffix[found[i].Kind]
		}
		for k := 2; used[n]; k++ {
			n = fmt.Sprintf("%s-%d", strings.TrimSuffix(n, fmt.Sprintf("-%d", k-1)), k)
		}
		used[n] = true
		found[i].Name = n
	}
}
