package artifacts

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/rules"
)

// CheckRules applies the registry's upload rules (internal/rules) to every
// artifact file of one package, reading the same files that will be
// uploaded. Each line names the file, the rule and the registry's words.
func CheckRules(root string, rows []plan.Row, w Want) []string {
	var out []string
	for _, row := range rows {
		for _, f := range Folder(root, row) {
			rel := filepath.ToSlash(filepath.Join(Dir, row.ArtifactName, f.Rel))
			var vs []rules.Violation
			switch {
			case w.Kind == config.KindPyPI && (strings.HasSuffix(f.Rel, ".whl") || strings.HasSuffix(f.Rel, ".tar.gz")):
				vs = pypiFileRules(f, w)
			case w.Kind == config.KindCrates && strings.HasSuffix(f.Rel, ".crate"):
				vs = crateFileRules(f, w)
			case w.Kind == config.KindNPM && !isFamilyRow(row) && (f.Rel == "package.json" || (strings.HasSuffix(f.Rel, ".tgz") && !strings.Contains(f.Rel, "/"))):
				vs = npmRules(f, w)
			}
			for _, v := range vs {
				out = append(out, rel+": "+v.String())
			}
		}
	}
	return out
}

// pypiFileRules: file name and size first (a file over the limit is not
// read), then the archive, then its core metadata and description.
func pypiFileRules(f File, w Want) []rules.Violation {
	name := path.Base(f.Rel)
	ft := pydist.Wheel
	if strings.HasSuffix(name, ".tar.gz") {
		ft = pydist.Sdist
	}
	vs := rules.PyPIFilename(name, ft)
	if size := rules.PyPISize(w.Name, f.Size, w.PyPIFileLimit); len(size) > 0 {
		return append(vs, size...)
	}
	names, err := archiveNames(f.Path, ft == pydist.Wheel)
	if err != nil {
		return vs // CheckPackaging reports an unreadable archive
	}
	var fields rules.PyFields
	if d, err := pydist.Read(f.Path); err == nil {
		fields = rules.FieldsOf(d)
		vs = append(vs, rules.PyPIMetadata(fields)...)
		vs = append(vs, rules.PyPIDescription(d.Metadata.Description(), d.Metadata.Get("Description-Content-Type"))...)
	}
	vs = append(vs, rules.PyPIArchive(rules.PyDist{Filename: name, Names: names, Metadata: fields}, w.Name)...)
	return vs
}

// archiveNames lists a wheel's (zip index) or sdist's (streamed tar
// headers) member names.
func archiveNames(p string, wheel bool) ([]string, error) {
	if wheel {
		zr, err := zip.OpenReader(p)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		names := make([]string, 0, len(zr.File))
		for _, f := range zr.File {
			if !strings.HasSuffix(f.Name, "/") {
				names = append(names, f.Name)
			}
		}
		return names, nil
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	var names []string
	for i := 0; i < scanLimit; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		names = append(names, strings.TrimPrefix(h.Name, "./"))
	}
	return names, nil
}

// crateFileRules reads the .crate's Cargo.toml as crates.io does.
func crateFileRules(f File, w Want) []rules.Violation {
	vs := rules.CratesSize(f.Size, 0)
	if len(vs) > 0 {
		return vs
	}
	info, err := cratefile.Read(f.Path)
	if err != nil {
		return nil // CheckPackaging reports an unreadable crate
	}
	m := CrateManifestOf(info)
	known := func(name string) bool {
		if _, ok := w.Crates[name]; ok {
			return true
		}
		if w.CrateExists == nil {
			return true // unknown offline: not refused here
		}
		ok, err := w.CrateExists(name)
		return err != nil || ok
	}
	return rules.CratesPublish(m, known)
}

// npmRules: what npm publish refuses before sending that the packaging
// check does not already report ("private" and provenance's
// repository.url are reported there): the version when it is not the one
// publish writes, and restricted access for an unscoped package.
func npmRules(f File, w Want) []rules.Violation {
	target := f.Path
	isDir := path.Base(f.Rel) == "package.json"
	if isDir {
		target = filepath.Dir(f.Path)
	}
	m, err := ReadNpm(target)
	if err != nil {
		return nil
	}
	version := m.Version
	if isDir && w.VersionWritten {
		version = "" // publish writes the planned version
	}
	return rules.NPMPackage(m.Name, version, false, w.Access, "", "", nil)
}

// CrateManifestOf turns a .crate's parsed manifest into what crates.io's
// publish reads, dependencies included (normal, build and dev, also
// target-specific ones, after `package =` renames).
func CrateManifestOf(info *cratefile.Info) rules.CrateManifest {
	m := rules.CrateManifest{Name: info.Name, Version: info.Version, Description: info.Description, License: info.License,
		LicenseFile: info.LicenseFile, Homepage: info.Homepage, Documentation: info.Documentation, Repository: info.Repository,
		RustVersion: info.RustVersion, Keywords: info.Keywords, Categories: info.Categories}
	var doc map[string]any
	if toml.Unmarshal(info.Manifest, &doc) != nil {
		return m
	}
	add := func(tbl any, kind string) {
		deps, _ := tbl.(map[string]any)
		for _, key := range sortedAnyKeys(deps) {
			d := rules.CrateDep{Name: key, Kind: kind}
			switch v := deps[key].(type) {
			case string:
				d.Req = v
			case map[string]any:
				d.Req, _ = v["version"].(string)
				if p, _ := v["package"].(string); p != "" {
					d.Name = p
				}
				if r, _ := v["registry-index"].(string); r != "" {
					d.Registry = r
				}
				if r, _ := v["registry"].(string); r != "" && d.Registry == "" {
					d.Registry = "registry " + r
				}
			}
			m.Deps = append(m.Deps, d)
		}
	}
	kinds := [][2]string{{"dependencies", "normal"}, {"dev-dependencies", "dev"}, {"build-dependencies", "build"}}
	for _, k := range kinds {
		add(doc[k[0]], k[1])
	}
	targets, _ := doc["target"].(map[string]any)
	for _, t := range sortedAnyKeys(targets) {
		tt, _ := targets[t].(map[string]any)
		for _, k := range kinds {
			add(tt[k[0]], k[1])
		}
	}
	return m
}

// RulesSummary is the one-line reason a package's artifacts break a rule.
func RulesSummary(n int) string {
	return fmt.Sprintf("%d registry rule(s) broken; the registry would refuse the upload", n)
}
