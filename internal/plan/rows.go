package plan

import (
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// Target names of rows that are not per-platform.
const (
	TargetNoarch = "noarch"
	TargetSdist  = "sdist"
	TargetMain   = "main"
)

// Rows returns the matrix rows of package p at version (SPEC §3, "Matrix
// rows"), in a fixed order.
func Rows(p *config.Package, version string) []Row {
	base := Row{Name: p.Name, Kind: p.Kind, Version: version, Path: p.Path, BuildWorkflow: p.BuildWorkflow}
	dir := strings.TrimSuffix(p.Path, "/")
	if dir == "" {
		dir = "."
	}
	noarch := func(target, artifact, path string) Row {
		r := base
		r.Target, r.RunsOn, r.ArtifactName, r.ArtifactPath = target, "ubuntu-latest", artifact, path
		return r
	}
	var rows []Row
	switch p.Kind {
	case config.KindCrates:
		rows = append(rows, noarch(TargetNoarch, p.Name+"-crate", dir+"/target/package/*.crate"))
	case config.KindPyPI:
		build := p.Build
		if build == "" {
			build = config.BuildSetuptools
		}
		if build == config.BuildMaturin {
			for _, t := range p.Targets {
				r := base
				r.Build = build
				r.Target, r.RunsOn = t.Triple, RunsOn(t)
				r.ArtifactName, r.ArtifactPath = p.Name+"-wheel-"+t.Triple, dir+"/dist/*.whl"
				r.BundleCLI = p.BundleCLI
				rows = append(rows, r)
			}
			r := noarch(TargetSdist, p.Name+"-sdist", dir+"/dist/*.tar.gz")
			r.Build = build
			rows = append(rows, r)
		} else {
			// The sdist job builds the pure-Python wheel too; its artifact
			// covers both.
			r := noarch(TargetSdist, p.Name+"-sdist", dir+"/dist/*")
			r.Build = build
			rows = append(rows, r)
		}
	case config.KindNPM:
		if p.Build == config.BuildNapi || p.Build == config.BuildBundledCLI {
			for _, t := range p.Targets {
				r := base
				r.Build = p.Build
				r.Target, r.RunsOn = t.Triple, RunsOn(t)
				r.ArtifactName, r.ArtifactPath = p.Name+"-"+t.Triple, dir+"/build/"+t.Triple
				rows = append(rows, r)
			}
			r := noarch(TargetMain, p.Name+"-main", dir)
			r.Build = p.Build
			rows = append(rows, r)
		} else {
			r := noarch(TargetNoarch, p.Name+"-pkg", dir)
			r.Build = p.Build
			rows = append(rows, r)
		}
	}
	return rows
}

// RunsOn is the runner label for a target: its own runner, else the
// default for its triple (platform.RunsOn).
func RunsOn(t config.Target) string {
	if t.Runner != "" {
		return t.Runner
	}
	return platform.RunsOn(t.Triple)
}
