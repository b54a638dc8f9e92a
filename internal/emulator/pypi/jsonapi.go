package pypi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

const notFoundJSON = `{"message": "Not Found"}`

// serveJSON answers GET /pypi/{project}/json and /pypi/{project}/{version}/json.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, `{"message": "Method Not Allowed"}`)
		return
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/pypi/"), "/"), "/")
	var name, version string
	switch {
	case len(parts) == 2 && parts[1] == "json":
		name = parts[0]
	case len(parts) == 3 && parts[2] == "json":
		name, version = parts[0], parts[1]
	default:
		writeJSON(w, http.StatusNotFound, notFoundJSON)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	proj, ok := s.projects[normalize(name)]
	if !ok || len(proj.Releases) == 0 {
		writeJSON(w, http.StatusNotFound, notFoundJSON)
		return
	}
	if name != proj.Normalized {
		loc := "/pypi/" + proj.Normalized + "/"
		if version != "" {
			loc += version + "/"
		}
		loc += "json"
		http.Redirect(w, r, loc, http.StatusMovedPermanently)
		return
	}
	var rel *Release
	if version != "" {
		if rel = proj.release(version); rel == nil {
			writeJSON(w, http.StatusNotFound, notFoundJSON)
			return
		}
	} else {
		rel = latest(proj)
	}
	base := "http://" + r.Host
	doc := map[string]any{
		"info":            s.info(base, proj, rel),
		"urls":            filesJSON(base, rel),
		"vulnerabilities": []any{},
		"last_serial":     proj.Serial,
		"ownership":       ownership(proj),
	}
	if version == "" {
		rels := map[string]any{}
		for _, r := range proj.Releases {
			rels[r.Version] = filesJSON(base, r)
		}
		doc["releases"] = rels
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("X-PyPI-Last-Serial", strconv.Itoa(proj.Serial))
	w.Header().Set("Cache-Control", "max-age=900, public")
	writeJSON(w, http.StatusOK, string(b))
}

// latest is the highest final release, or the highest of all when every
// release is a pre-release.
func latest(p *Project) *Release {
	rels := append([]*Release(nil), p.Releases...)
	sort.SliceStable(rels, func(i, j int) bool {
		return pydist.CompareVersions(rels[i].Version, rels[j].Version) < 0
	})
	for i := len(rels) - 1; i >= 0; i-- {
		if v, err := pydist.ParseVersion(rels[i].Version); err == nil && v.Pre == "" && v.Dev < 0 {
			return rels[i]
		}
	}
	return rels[len(rels)-1]
}

func ownership(p *Project) map[string]any {
	roles := []any{}
	for _, o := range p.Owners {
		roles = append(roles, map[string]any{"role": "Owner", "user": o})
	}
	return map[string]any{"roles": roles, "organization": nil}
}

func (s *Server) info(base string, p *Project, rel *Release) map[string]any {
	get := func(k string) any {
		for _, f := range rel.Meta {
			if f[0] == k {
				return f[1]
			}
		}
		return nil
	}
	all := func(k string) any {
		var out []string
		for _, f := range rel.Meta {
			if f[0] == k {
				out = append(out, f[1])
			}
		}
		if out == nil {
			return nil
		}
		return out
	}
	urls := map[string]string{}
	if pu := all("project_urls"); pu != nil {
		for _, v := range pu.([]string) {
			label, u, _ := strings.Cut(v, ",")
			urls[strings.TrimSpace(label)] = strings.TrimSpace(u)
		}
	}
	var projectURLs any
	if len(urls) > 0 {
		projectURLs = urls
	}
	classifiers := all("classifiers")
	if classifiers == nil {
		classifiers = []string{}
	}
	str := func(k string) any {
		if v := get(k); v != nil {
			return v
		}
		return ""
	}
	return map[string]any{
		"author": str("author"), "author_email": str("author_email"), "bugtrack_url": nil,
		"classifiers": classifiers, "description": str("description"),
		"description_content_type": get("description_content_type"), "docs_url": nil,
		"download_url": str("download_url"),
		"downloads":    map[string]int{"last_day": -1, "last_month": -1, "last_week": -1},
		"dynamic":      all("dynamic"), "home_page": str("home_page"), "keywords": str("keywords"),
		"license": str("license"), "license_expression": get("license_expression"), "license_files": all("license_file"),
		"maintainer": str("maintainer"), "maintainer_email": str("maintainer_email"),
		"name": p.Name, "package_url": base + "/project/" + p.Normalized + "/",
		"platform": get("platform"), "project_url": base + "/project/" + p.Normalized + "/",
		"project_urls": projectURLs, "provides_extra": all("provides_extra"),
		"release_url":   base + "/project/" + p.Normalized + "/" + rel.Version + "/",
		"requires_dist": all("requires_dist"), "requires_python": str("requires_python"),
		"summary": str("summary"), "version": rel.Version, "yanked": false, "yanked_reason": nil,
	}
}

func filesJSON(base string, rel *Release) []any {
	out := []any{}
	for _, f := range rel.Files {
		b2 := f.Digests.Blake2256
		out = append(out, map[string]any{
			"comment_text":   "",
			"digests":        map[string]string{"blake2b_256": b2, "md5": f.Digests.MD5, "sha256": f.Digests.SHA256},
			"downloads":      -1,
			"filename":       f.Filename,
			"has_sig":        false,
			"md5_digest":     f.Digests.MD5,
			"packagetype":    f.Packagetype,
			"python_version": f.PythonVersion,
			"requires_python": func() any {
				if f.RequiresPython == "" {
					return nil
				}
				return f.RequiresPython
			}(),
			"size":                    f.Size,
			"upload_time":             f.UploadTime.Format("2006-01-02T15:04:05"),
			"upload_time_iso_8601":    f.UploadTime.Format("2006-01-02T15:04:05.000000Z"),
			"url":                     base + "/packages/" + b2[:2] + "/" + b2[2:4] + "/" + b2[4:] + "/" + f.Filename,
			"yanked":                  false,
			"yanked_reason":           nil,
			"core-metadata":           false,
			"data-dist-info-metadata": false,
		})
	}
	return out
}

// serveProvenance is the integrity API (warehouse/api/integrity.py,
// route /integrity/{project}/{release}/{filename}/provenance): the file's
// PEP 740 provenance object, one attestation bundle for the publisher.
func (s *Server) serveProvenance(w http.ResponseWriter, r *http.Request) {
	project, version, filename := r.PathValue("project"), r.PathValue("version"), r.PathValue("filename")
	s.mu.Lock()
	var f *File
	if p := s.projects[normalize(project)]; p != nil {
		if rel := p.release(version); rel != nil {
			for _, x := range rel.Files {
				if x.Filename == filename {
					f = x
				}
			}
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.pypi.integrity.v1+json")
	if f == nil {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "Not Found"})
		return
	}
	if len(f.Attestations) == 0 || f.AttestedBy == nil {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "No provenance available for " + f.Filename})
		return
	}
	pub := map[string]any{"kind": "GitHub", "repository": f.AttestedBy.Owner + "/" + f.AttestedBy.Repo, "workflow": f.AttestedBy.Workflow, "environment": nil}
	if f.AttestedBy.Environment != "" {
		pub["environment"] = f.AttestedBy.Environment
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"version":             1,
		"attestation_bundles": []any{map[string]any{"publisher": pub, "attestations": f.Attestations}},
	})
}
