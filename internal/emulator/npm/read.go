package npm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

const corgiType = "application/vnd.npm.install-v1+json"

// corgiKeys are the manifest fields the abbreviated document keeps
// (pacote / npm-registry-fetch "corgi" docs).
var corgiKeys = []string{
	"name", "version", "dependencies", "optionalDependencies", "devDependencies",
	"bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
	"bin", "directories", "dist", "engines", "_hasShrinkwrap", "hasInstallScript",
	"cpu", "os", "libc", "deprecated", "funding", "license",
}

// storeVersion records ver and rewrites dist. Caller holds s.mu.
func (s *Server) storeVersion(p *pkg, ver string, manifest map[string]any, tgz, provenance []byte) {
	now := s.now()
	dist, _ := manifest["dist"].(map[string]any)
	if dist == nil {
		dist = map[string]any{}
	}
	integrity, shasum := Integrity(tgz), Shasum(tgz)
	dist["integrity"] = integrity
	dist["shasum"] = shasum
	dist["tarball"] = s.tarballURL(p.name, ver)
	if st, err := readTarball(tgz); err == nil {
		dist["fileCount"] = st.fileCount
		dist["unpackedSize"] = st.unpackedSize
	}
	if provenance != nil {
		dist["attestations"] = map[string]any{
			"url":        s.URL() + "-/npm/v1/attestations/" + p.name + "@" + ver,
			"provenance": map[string]any{"predicateType": "https://slsa.dev/provenance/v1"},
		}
	}
	manifest["dist"] = dist
	delete(manifest, "_attachments")
	p.versions[ver] = &version{manifest: manifest, tarball: tgz, integrity: integrity, shasum: shasum, provenance: provenance, published: now}
	if p.created.IsZero() {
		p.created = now
	}
	p.modified = now
	p.rev++
}

// tarballURL is where the registry serves a tarball: the file part is the
// unscoped name (protocols.md §4.3).
func (s *Server) tarballURL(name, ver string) string {
	return s.URL() + name + "/-/" + unscoped(name) + "-" + ver + ".tgz"
}

func unscoped(name string) string {
	if strings.HasPrefix(name, "@") {
		if _, after, ok := strings.Cut(name, "/"); ok {
			return after
		}
	}
	return name
}

// canRead reports whether the request may see p (restricted packages are
// invisible, as 404, to everyone but their maintainers). Caller holds s.mu.
func (s *Server) canRead(r *http.Request, p *pkg) bool {
	if p.access != "restricted" {
		return true
	}
	t := s.lookup(r)
	return t != nil && s.tokenCovers(t, p.name) && contains(p.maintainers, t.user)
}

func (s *Server) routeRead(w http.ResponseWriter, r *http.Request, path string) {
	name, rest, ok := splitName(path)
	if !ok {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[name]
	if p == nil || !s.canRead(r, p) {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	w.Header().Set("Cache-Control", "max-age=0, no-cache")
	switch {
	case rest == "":
		s.servePackument(w, r, p)
	case strings.HasPrefix(rest, "/-/"):
		file := strings.TrimPrefix(rest, "/-/")
		for ver, v := range p.versions {
			if file == unscoped(p.name)+"-"+ver+".tgz" {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Header().Set("Content-Length", strconv.Itoa(len(v.tarball)))
				_, _ = w.Write(v.tarball)
				return
			}
		}
		writeError(w, http.StatusNotFound, "Not found")
	default:
		ver := strings.TrimPrefix(rest, "/")
		if t, ok := p.distTags[ver]; ok {
			ver = t
		}
		v := p.versions[ver]
		if v == nil || strings.Contains(ver, "/") {
			writeJSON(w, http.StatusNotFound, "version not found: "+ver)
			return
		}
		writeJSON(w, http.StatusOK, v.manifest)
	}
}

func (s *Server) servePackument(w http.ResponseWriter, r *http.Request, p *pkg) {
	if strings.Contains(r.Header.Get("Accept"), corgiType) {
		versions := map[string]any{}
		for ver, v := range p.versions {
			m := map[string]any{}
			for _, k := range corgiKeys {
				if x, ok := v.manifest[k]; ok {
					m[k] = x
				}
			}
			versions[ver] = m
		}
		w.Header().Set("Content-Type", corgiType)
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": p.name, "modified": isoTime(p.modified), "dist-tags": p.distTags, "versions": versions,
		})
		return
	}
	writeJSON(w, http.StatusOK, s.fullPackument(p))
}

func (s *Server) fullPackument(p *pkg) map[string]any {
	versions := map[string]any{}
	times := map[string]any{"created": isoTime(p.created), "modified": isoTime(p.modified)}
	for ver, v := range p.versions {
		versions[ver] = v.manifest
		times[ver] = isoTime(v.published)
	}
	maint := make([]map[string]string, 0, len(p.maintainers))
	for _, m := range p.maintainers {
		email := m + "@example.com"
		if u := s.users[m]; u != nil {
			email = u.email
		}
		maint = append(maint, map[string]string{"name": m, "email": email})
	}
	doc := map[string]any{
		"_id": p.name, "_rev": s.rev(p), "name": p.name,
		"dist-tags": p.distTags, "versions": versions, "time": times,
		"maintainers": maint, "readme": "", "readmeFilename": "",
	}
	if latest := p.versions[p.distTags["latest"]]; latest != nil {
		for _, k := range []string{"description", "repository", "license", "homepage", "keywords", "bugs", "author"} {
			if x, ok := latest.manifest[k]; ok {
				doc[k] = x
			}
		}
	}
	return doc
}

func (s *Server) rev(p *pkg) string {
	sum := sha256.Sum256([]byte(p.name + "@" + strconv.Itoa(p.rev)))
	return strconv.Itoa(p.rev) + "-" + hex.EncodeToString(sum[:16])
}

func (s *Server) visibility(w http.ResponseWriter, r *http.Request, escaped string) {
	s.withPackage(w, r, escaped, func(p *pkg) {
		writeJSON(w, http.StatusOK, map[string]bool{"public": p.access != "restricted"})
	})
}

func (s *Server) distTagsHandler(w http.ResponseWriter, r *http.Request, escaped string) {
	s.withPackage(w, r, escaped, func(p *pkg) { writeJSON(w, http.StatusOK, p.distTags) })
}

func (s *Server) attestations(w http.ResponseWriter, r *http.Request, spec string) {
	spec, err := unescape(spec)
	at := strings.LastIndex(spec, "@")
	if err != nil || at <= 0 {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	name, ver := spec[:at], spec[at+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[name]
	if p == nil || !s.canRead(r, p) || p.versions[ver] == nil || p.versions[ver].provenance == nil {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attestations": []any{map[string]any{
		"predicateType": "https://slsa.dev/provenance/v1",
		"bundle":        json.RawMessage(p.versions[ver].provenance),
	}}})
}

// withPackage resolves an escaped name from a /-/package/ path and calls fn
// with s.mu held.
func (s *Server) withPackage(w http.ResponseWriter, r *http.Request, escaped string, fn func(*pkg)) {
	name, err := unescape(escaped)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[name]
	if p == nil || !s.canRead(r, p) {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	fn(p)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
