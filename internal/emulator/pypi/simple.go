package pypi

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// serveSimple answers GET /simple/{project}/, the PEP 503 page pip installs
// from: one anchor per file of every release, the file's sha256 in the URL
// fragment and Requires-Python in data-requires-python (warehouse
// warehouse/api/simple.py, templates/api/simple/detail.html). A name that is
// not normalised redirects to the normalised one, as warehouse does.
func (s *Server) serveSimple(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
	if name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	proj, ok := s.projects[normalize(name)]
	if !ok || len(proj.Releases) == 0 {
		http.NotFound(w, r)
		return
	}
	if name != proj.Normalized {
		http.Redirect(w, r, "/simple/"+proj.Normalized+"/", http.StatusMovedPermanently)
		return
	}
	base := "http://" + r.Host
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", html.EscapeString(proj.Normalized), html.EscapeString(proj.Normalized))
	for _, rel := range proj.Releases {
		for _, f := range rel.Files {
			b2 := f.Digests.Blake2256
			url := base + "/packages/" + b2[:2] + "/" + b2[2:4] + "/" + b2[4:] + "/" + f.Filename + "#sha256=" + f.Digests.SHA256
			rp := ""
			if f.RequiresPython != "" {
				rp = ` data-requires-python="` + html.EscapeString(f.RequiresPython) + `"`
			}
			if len(f.Attestations) > 0 {
				// PEP 740: the file's provenance (templates/api/simple/detail.html).
				rp += ` data-provenance="` + html.EscapeString(base+"/integrity/"+proj.Normalized+"/"+rel.Version+"/"+f.Filename+"/provenance") + `"`
			}
			fmt.Fprintf(&b, "    <a href=\"%s\"%s>%s</a><br />\n", html.EscapeString(url), rp, html.EscapeString(f.Filename))
		}
	}
	b.WriteString("  </body>\n</html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-PyPI-Last-Serial", fmt.Sprint(proj.Serial))
	_, _ = w.Write([]byte(b.String()))
}
