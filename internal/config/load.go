package config

import (
	"os"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// Codes raised by Load.
const (
	CodeConfigNotFound = "PIOT_CONFIG_NOT_FOUND"
	CodeConfigInvalid  = "PIOT_CONFIG_INVALID"
)

// Load reads and validates the config file at path. Problems are returned as
// one *diag.Error (exit 2) listing every problem with file:line:col and key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, diag.Usage(CodeConfigNotFound, "no config file at %s", path).
				WithHint("run `putitoutthere init` to write one, or pass --config PATH")
		}
		return nil, diag.Usage(CodeConfigNotFound, "reading %s", path).Wrap(err)
	}
	return Parse(path, data)
}

// Parse parses and validates config text; name is used in messages.
// (Provisional: strict positions and full validation land with the config work.)
func Parse(name string, data []byte) (*Config, error) {
	var raw struct {
		Putitoutthere struct {
			Version int    `toml:"version"`
			Cadence string `toml:"cadence"`
		} `toml:"putitoutthere"`
		Package []struct {
			Name          string   `toml:"name"`
			Kind          string   `toml:"kind"`
			Path          string   `toml:"path"`
			Paths         []string `toml:"paths"`
			DependsOn     []string `toml:"depends_on"`
			FirstVersion  string   `toml:"first_version"`
			TagFormat     string   `toml:"tag_format"`
			BuildWorkflow string   `toml:"build_workflow"`
			Crate         string   `toml:"crate"`
			PyPI          string   `toml:"pypi"`
			NPM           string   `toml:"npm"`
			Build         string   `toml:"build"`
			Access        string   `toml:"access"`
			Tag           string   `toml:"tag"`
			TrustPolicy   *struct {
				Workflow    string `toml:"workflow"`
				Environment string `toml:"environment"`
				Repository  string `toml:"repository"`
			} `toml:"trust_policy"`
		} `toml:"package"`
	}
	if err := toml.Unmarshal(data, &raw); err != nil {
		return nil, diag.Usage(CodeConfigInvalid, "%s: %v", name, err)
	}
	c := &Config{File: name, Version: raw.Putitoutthere.Version, Cadence: raw.Putitoutthere.Cadence}
	for _, rp := range raw.Package {
		p := Package{
			Name: rp.Name, Kind: rp.Kind, Path: rp.Path, Paths: rp.Paths, DependsOn: rp.DependsOn,
			FirstVersion: rp.FirstVersion, TagFormat: rp.TagFormat, BuildWorkflow: rp.BuildWorkflow,
			Crate: rp.Crate, PyPI: rp.PyPI, NPM: rp.NPM, Build: rp.Build, Access: rp.Access, Tag: rp.Tag,
		}
		if p.FirstVersion == "" {
			p.FirstVersion = DefaultFirstVersion
		}
		if p.TagFormat == "" {
			p.TagFormat = DefaultTagFormat
		}
		if rp.TrustPolicy != nil {
			p.TrustPolicy = &TrustPolicy{Workflow: rp.TrustPolicy.Workflow, Environment: rp.TrustPolicy.Environment, Repository: rp.TrustPolicy.Repository}
		}
		c.Packages = append(c.Packages, p)
	}
	return c, nil
}
