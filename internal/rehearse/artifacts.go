package rehearse

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/fsx"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/platform"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
)

// StandInNote names the file written into artifacts/ when the rehearsal
// synthesised stand-ins.
const StandInNote = "REHEARSAL-STAND-INS.txt"

// prepareArtifacts copies root's artifacts/ into the clone, or, when root has
// none, synthesises clearly labelled stand-ins for every matrix row so the
// flow can be rehearsed before the build job exists.
func prepareArtifacts(root, clone string, cfg *config.Config, p *plan.Plan) ([]string, error) {
	src := filepath.Join(root, artifacts.Dir)
	dst := filepath.Join(clone, artifacts.Dir)
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		if err := copyTree(src, dst); err != nil {
			return nil, fmt.Errorf("copying artifacts/: %w", err)
		}
		return []string{"artifacts: using the files in " + src}, nil
	}
	if p == nil || len(p.Rows) == 0 {
		return nil, nil
	}
	var made []string
	for _, row := range p.Rows {
		pkg := cfg.Package(row.Name)
		if pkg == nil {
			continue
		}
		dir := filepath.Join(dst, row.ArtifactName)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		files, err := standIns(clone, pkg, row)
		if err != nil {
			return nil, fmt.Errorf("synthesising a stand-in for %s: %w", row.ArtifactName, err)
		}
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			f := files[name]
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), f.data, f.mode); err != nil {
				return nil, err
			}
			made = append(made, filepath.ToSlash(filepath.Join(artifacts.Dir, row.ArtifactName, name)))
		}
	}
	label := "These files were synthesised by `putitoutthere rehearse` because artifacts/ was absent.\n" +
		"They carry the planned names, versions and platform headers so the release flow can be\n" +
		"rehearsed; they are not your build and run nowhere.\n\n" + strings.Join(made, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dst, StandInNote), []byte(label), 0o644); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("artifacts/ is absent: %d stand-in files synthesised (listed in artifacts/%s); the rehearsal checks the release flow, not your build", len(made), StandInNote)}, nil
}

type file struct {
	data []byte
	mode fs.FileMode
}

func standIns(clone string, pkg *config.Package, row plan.Row) (map[string]file, error) {
	pkgDir := filepath.Join(clone, filepath.FromSlash(pkg.Path))
	name, version := pkg.RegistryName(), row.Version
	switch pkg.Kind {
	case config.KindCrates:
		// What cargo package would write: workspace inheritance resolved
		// (license.workspace = true is a license), path dependencies gone.
		cargo, err := manifest.PackagedCargoToml(pkgDir, version)
		if cargo == nil {
			if _, serr := os.Stat(filepath.Join(pkgDir, "Cargo.toml")); serr == nil {
				return nil, err
			}
			cargo = []byte(cratefile.Manifest(name, version, "rehearsal stand-in", "MIT"))
		}
		files := map[string]string{"Cargo.toml": string(cargo), "src/lib.rs": ""}
		for _, p := range crateTargetPaths(cargo) {
			files[p] = ""
		}
		return map[string]file{
			name + "-" + version + ".crate": {cratefile.Build(name, version, files), 0o644},
		}, nil
	case config.KindPyPI:
		dist := pydist.FilenameName(name)
		v := pydist.NormalizeVersion(version)
		meta := standInMetadata(pkgDir, name, v)
		if row.Target == "sdist" {
			out := map[string]file{dist + "-" + v + ".tar.gz": {sdist(dist, name, v, meta), 0o644}}
			if pkg.Build != config.BuildMaturin { // setuptools/hatch: the sdist row also makes the pure wheel
				out[dist+"-"+v+"-py3-none-any.whl"] = file{wheel(dist, v, "py3-none-any", meta), 0o644}
			}
			return out, nil
		}
		tag := "cp39-abi3-" + wheelPlatform(row.Target)
		return map[string]file{dist + "-" + v + "-" + tag + ".whl": {wheel(dist, v, tag, meta), 0o644}}, nil
	case config.KindNPM:
		if row.Target == "noarch" || row.Target == "main" {
			out := map[string]file{}
			err := filepath.WalkDir(pkgDir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() && d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				if !d.Type().IsRegular() {
					return nil
				}
				rel, _ := filepath.Rel(pkgDir, p)
				data, err := safefile.ReadFile(p, safefile.MaxManifest)
				if err != nil {
					return err
				}
				info, _ := d.Info()
				out[filepath.ToSlash(rel)] = file{data, info.Mode().Perm()}
				return nil
			})
			return out, err
		}
		ms, err := family.Members(pkg)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Triple != row.Target {
				continue
			}
			if pkg.Build == config.BuildNapi {
				return map[string]file{"index.node": {family.StandIn(m, pkg.Build), 0o755}}, nil
			}
			bin := binName(pkgDir, pkg)
			if m.OS == platform.OSWindows {
				bin += ".exe"
			}
			return map[string]file{bin: {family.StandIn(m, pkg.Build), 0o755}}, nil
		}
	}
	return nil, fmt.Errorf("no stand-in for %s row %s", pkg.Kind, row.Target)
}

// binName is the command a bundled-cli package installs: the first `bin`
// entry of its package.json, else the unscoped package name.
func binName(pkgDir string, pkg *config.Package) string {
	n := pkg.RegistryName()
	if i := strings.LastIndex(n, "/"); i >= 0 {
		n = n[i+1:]
	}
	data, err := safefile.ReadFile(filepath.Join(pkgDir, "package.json"), safefile.MaxManifest)
	if err != nil {
		return n
	}
	if i := strings.Index(string(data), `"bin"`); i >= 0 {
		rest := string(data[i+5:])
		if j := strings.Index(rest, "{"); j >= 0 && j < strings.Index(rest+`"`, `"`) {
			rest = rest[j+1:]
			if k := strings.Index(rest, `"`); k >= 0 {
				rest = rest[k+1:]
				if l := strings.Index(rest, `"`); l > 0 {
					return rest[:l]
				}
			}
		}
	}
	return n
}

func wheelPlatform(triple string) string {
	osName, cpu, libc, err := platform.NPM(triple)
	if err != nil {
		return "any"
	}
	arch := map[string]string{platform.CPUX64: "x86_64", platform.CPUArm64: "aarch64", platform.CPUIA32: "i686", platform.CPUArm: "armv7l"}[cpu]
	switch osName {
	case platform.OSDarwin:
		if cpu == platform.CPUArm64 {
			return "macosx_11_0_arm64"
		}
		return "macosx_10_12_x86_64"
	case platform.OSWindows:
		return map[string]string{platform.CPUX64: "win_amd64", platform.CPUArm64: "win_arm64", platform.CPUIA32: "win32"}[cpu]
	}
	if libc == platform.LibcMusl {
		return "musllinux_1_2_" + arch
	}
	return "manylinux_2_17_" + arch
}

// standInMetadata is the core metadata a build backend would write from
// pyproject.toml's [project] table (the fields PyPI's upload rules read:
// summary, classifiers, license, dependencies, URLs, authors, README), so
// a rehearsal meets the refusals the real build would. Without a readable
// pyproject.toml it is a minimal stand-in.
func standInMetadata(pkgDir, name, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.4\nName: %s\nVersion: %s\n", name, version)
	data, err := os.ReadFile(filepath.Join(pkgDir, "pyproject.toml"))
	var doc struct {
		Project struct {
			Description    string            `toml:"description"`
			Classifiers    []string          `toml:"classifiers"`
			Dependencies   []string          `toml:"dependencies"`
			RequiresPython string            `toml:"requires-python"`
			URLs           map[string]string `toml:"urls"`
			License        any               `toml:"license"`
			Authors        []map[string]any  `toml:"authors"`
			Maintainers    []map[string]any  `toml:"maintainers"`
			Readme         any               `toml:"readme"`
		} `toml:"project"`
	}
	if err != nil || toml.Unmarshal(data, &doc) != nil {
		b.WriteString("Summary: rehearsal stand-in\n")
		return b.String()
	}
	pr := doc.Project
	summary := pr.Description
	if summary == "" {
		summary = "rehearsal stand-in"
	}
	fmt.Fprintf(&b, "Summary: %s\n", oneLine(summary))
	switch l := pr.License.(type) {
	case string:
		fmt.Fprintf(&b, "License-Expression: %s\n", oneLine(l))
	case map[string]any:
		if t, ok := l["text"].(string); ok && t != "" {
			fmt.Fprintf(&b, "License: %s\n", oneLine(t))
		}
	}
	if pr.RequiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", oneLine(pr.RequiresPython))
	}
	for _, c := range pr.Classifiers {
		fmt.Fprintf(&b, "Classifier: %s\n", oneLine(c))
	}
	for _, d := range pr.Dependencies {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", oneLine(d))
	}
	labels := make([]string, 0, len(pr.URLs))
	for k := range pr.URLs {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		fmt.Fprintf(&b, "Project-URL: %s, %s\n", oneLine(k), oneLine(pr.URLs[k]))
	}
	for field, people := range map[string][]map[string]any{"Author-email": pr.Authors, "Maintainer-email": pr.Maintainers} {
		var addrs []string
		for _, p := range people {
			email, _ := p["email"].(string)
			if email == "" {
				continue
			}
			if n, _ := p["name"].(string); n != "" {
				email = n + " <" + email + ">"
			}
			addrs = append(addrs, email)
		}
		if len(addrs) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", field, oneLine(strings.Join(addrs, ", ")))
		}
	}
	readme, ctype := "", ""
	switch r := pr.Readme.(type) {
	case string:
		readme = r
	case map[string]any:
		readme, _ = r["file"].(string)
		ctype, _ = r["content-type"].(string)
	}
	body := ""
	if readme != "" {
		if text, err := os.ReadFile(filepath.Join(pkgDir, filepath.FromSlash(readme))); err == nil && len(text) < 1<<20 {
			body = string(text)
			if ctype == "" {
				switch strings.ToLower(filepath.Ext(readme)) {
				case ".md", ".markdown":
					ctype = "text/markdown"
				case ".rst":
					ctype = "text/x-rst"
				default:
					ctype = "text/plain"
				}
			}
		}
	}
	if ctype != "" {
		fmt.Fprintf(&b, "Description-Content-Type: %s\n", ctype)
	}
	b.WriteString("\n" + body)
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func wheel(dist, version, tag, meta string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	info := dist + "-" + version + ".dist-info/"
	purelib := "false"
	if strings.HasSuffix(tag, "none-any") {
		purelib = "true"
	}
	add := func(n, body string) {
		w, _ := zw.Create(n)
		_, _ = io.WriteString(w, body)
	}
	add(dist+"/__init__.py", "")
	add(info+"METADATA", meta)
	add(info+"WHEEL", fmt.Sprintf("Wheel-Version: 1.0\nGenerator: putitoutthere rehearse\nRoot-Is-Purelib: %s\nTag: %s\n", purelib, tag))
	add(info+"RECORD", dist+"/__init__.py,,\n"+info+"METADATA,,\n"+info+"WHEEL,,\n"+info+"RECORD,,\n")
	_ = zw.Close()
	return buf.Bytes()
}

func sdist(dist, name, version, meta string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	root := dist + "-" + version + "/"
	for _, f := range []struct{ n, body string }{
		{"PKG-INFO", meta},
		{"pyproject.toml", fmt.Sprintf("[project]\nname = %q\nversion = %q\n", name, version)},
	} {
		_ = tw.WriteHeader(&tar.Header{Name: root + f.n, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(f.body))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// copyTree copies regular files and directories; symlinks are skipped (the
// artifact checks refuse links that leave the folder anyway).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return fsx.CopyFile(p, target)
	})
}

// crateTargetPaths are the [lib] and [[bin]] source paths a manifest
// declares, and its readme and license-file: the stand-in holds them as the
// real .crate would (crates.io's publish reads the readme from the archive).
func crateTargetPaths(cargo []byte) []string {
	var m struct {
		Package struct {
			Readme      any    `toml:"readme"` // a path, or false
			LicenseFile string `toml:"license-file"`
		} `toml:"package"`
		Lib *struct {
			Path string `toml:"path"`
		} `toml:"lib"`
		Bin []struct {
			Path string `toml:"path"`
		} `toml:"bin"`
	}
	if toml.Unmarshal(cargo, &m) != nil {
		return nil
	}
	var out []string
	add := func(p string) {
		p = path.Clean(filepath.ToSlash(p))
		if p != "." && !path.IsAbs(p) && !strings.HasPrefix(p, "../") {
			out = append(out, p)
		}
	}
	if m.Lib != nil && m.Lib.Path != "" {
		add(m.Lib.Path)
	}
	for _, b := range m.Bin {
		if b.Path != "" {
			add(b.Path)
		}
	}
	if r, ok := m.Package.Readme.(string); ok && r != "" {
		add(r)
	}
	if m.Package.LicenseFile != "" {
		add(m.Package.LicenseFile)
	}
	return out
}
