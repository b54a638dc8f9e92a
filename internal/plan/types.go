// Package plan decides what to release: facts about the repository in,
// releases and matrix rows out. It does no I/O, so the same facts always give
// byte-identical output.
package plan

import "github.com/putitoutthere/putitoutthere/internal/config"

// Bump levels, in increasing order.
const (
	BumpNone  = ""
	BumpPatch = "patch"
	BumpMinor = "minor"
	BumpMajor = "major"
)

// Release is one package that the plan will ship.
type Release struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Version      string `json:"version"`
	Tag          string `json:"tag"`
	LastTag      string `json:"last_tag,omitempty"`
	LastVersion  string `json:"last_version,omitempty"`
	Bump         string `json:"bump,omitempty"` // empty for a first release
	FirstRelease bool   `json:"first_release"`
	Reason       string `json:"reason"` // why it is in the plan and at this version, for humans
	// Baseline is what the version was worked out from: "tag v1.2.3",
	// "manifest 0.23.2", "first_version 0.1.0".
	Baseline string `json:"baseline,omitempty"`
	Group    string `json:"group,omitempty"` // the lockstep group released together
}

// Row is one matrix row for the build job (SPEC §3, "Matrix rows"); field
// order is the JSON order.
type Row struct {
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Version       string            `json:"version"`
	Target        string            `json:"target"`
	RunsOn        string            `json:"runs_on"`
	ArtifactName  string            `json:"artifact_name"`
	ArtifactPath  string            `json:"artifact_path"`
	Path          string            `json:"path"`
	Build         string            `json:"build,omitempty"`
	BuildWorkflow string            `json:"build_workflow,omitempty"`
	BundleCLI     *config.BundleCLI `json:"bundle_cli,omitempty"`
	Group         string            `json:"group,omitempty"`
	// Reason says why the package is released at this version (last
	// release, bump, trailer commits), SPEC §3 "Adoption"; Baseline what
	// the version was worked out from ("tag v1.2.3", "manifest 0.23.2").
	Reason   string `json:"reason,omitempty"`
	Baseline string `json:"baseline,omitempty"`
}

// Plan is the result: releases in config order, and their matrix rows.
type Plan struct {
	Releases []Release `json:"releases"`
	Rows     []Row     `json:"rows"`
}

// Release returns the release for package name, or nil.
func (p *Plan) Release(name string) *Release {
	for i := range p.Releases {
		if p.Releases[i].Name == name {
			return &p.Releases[i]
		}
	}
	return nil
}
