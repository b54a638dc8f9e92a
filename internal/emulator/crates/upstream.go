package crates

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CratesIOIndex is crates.io's sparse index, the default upstream of a
// rehearsal.
const CratesIOIndex = "sparse+https://index.crates.io/"

// upstream passes index reads and downloads of crates the emulator does not
// hold through to another registry, so a crate with real dependencies can
// be published to the emulator: the packages being released are served from
// the emulator, every other crate from upstream.
type upstream struct {
	index  string // sparse index base, ending in "/"
	client *http.Client

	mu         sync.Mutex
	dl         string          // download template from upstream config.json
	files      map[string]file // index path -> answer
	unresolved map[string]string
	order      []string // unresolved names, first ask first
}

type file struct {
	status int
	body   []byte
}

// SetUpstream makes the index and downloads pass through to the sparse
// index at u ("sparse+https://index.crates.io/", or another emulator's
// IndexURL()); "" turns pass-through off.
func (s *Server) SetUpstream(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u == "" {
		s.up = nil
		return
	}
	u = strings.TrimPrefix(u, "sparse+")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	s.up = &upstream{index: u, client: &http.Client{Timeout: 15 * time.Second}, files: map[string]file{}, unresolved: map[string]string{}}
}

// Unresolved lists the crates asked of the upstream that it could not give
// (unreachable or unknown), with the reason, in the order cargo asked; the
// spellings cargo tries after a miss (`-` for `_`) are left out. A caller
// drops the crates it is releasing (their first publish asks too).
func (s *Server) Unresolved() []string {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	if up == nil {
		return nil
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, n := range up.order {
		c := canonical(n)
		if seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, n+" ("+up.unresolved[n]+")")
	}
	return out
}

func (s *Server) upstreamOf() *upstream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// get fetches one index file of upstream (cached).
func (u *upstream) get(ctx context.Context, path, name string) file {
	u.mu.Lock()
	if f, ok := u.files[path]; ok {
		u.mu.Unlock()
		return f
	}
	u.mu.Unlock()
	f := file{status: http.StatusBadGateway}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.index+path, nil)
	req.Header.Set("User-Agent", "putitoutthere rehearsal (crates.io emulator pass-through)")
	resp, err := u.client.Do(req)
	why := ""
	if err != nil {
		why = "upstream " + u.index + " unreachable: " + err.Error()
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		f = file{status: resp.StatusCode, body: body}
		switch {
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			why = "not in upstream " + u.index
		case resp.StatusCode != http.StatusOK:
			why = fmt.Sprintf("upstream %s answered HTTP %d", u.index, resp.StatusCode)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if why != "" && name != "" {
		if _, ok := u.unresolved[name]; !ok {
			u.order = append(u.order, name)
		}
		u.unresolved[name] = why
	}
	if err == nil {
		u.files[path] = f
	}
	return f
}

// download fetches a .crate from upstream through its config.json `dl`.
func (u *upstream) download(ctx context.Context, name, version string) ([]byte, error) {
	u.mu.Lock()
	dl := u.dl
	u.mu.Unlock()
	if dl == "" {
		f := u.get(ctx, "config.json", "")
		if f.status != http.StatusOK {
			return nil, fmt.Errorf("upstream config.json: HTTP %d", f.status)
		}
		var cfg struct {
			DL string `json:"dl"`
		}
		if err := json.Unmarshal(f.body, &cfg); err != nil || cfg.DL == "" {
			return nil, fmt.Errorf("upstream config.json has no dl")
		}
		dl = cfg.DL
		u.mu.Lock()
		u.dl = dl
		u.mu.Unlock()
	}
	lower := strings.ToLower(name)
	prefix := IndexPath(lower)
	prefix = prefix[:strings.LastIndexByte(prefix, '/')]
	var url string
	if strings.Contains(dl, "{crate}") || strings.Contains(dl, "{version}") || strings.Contains(dl, "prefix}") {
		url = strings.NewReplacer("{crate}", name, "{version}", version, "{prefix}", prefix, "{lowerprefix}", prefix).Replace(dl)
	} else {
		url = strings.TrimSuffix(dl, "/") + "/" + name + "/" + version + "/download"
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("User-Agent", "putitoutthere rehearsal (crates.io emulator pass-through)")
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("upstream download %s: HTTP %d", url, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// upstreamHas: the crate exists in the upstream registry (none: false).
func (s *Server) upstreamHas(name string) bool {
	up := s.upstreamOf()
	if up == nil {
		return false
	}
	f := up.get(context.Background(), IndexPath(name), name)
	if f.status != http.StatusOK {
		return false
	}
	// add_dependencies matches the exact name.
	for _, line := range strings.Split(string(f.body), "\n") {
		var l struct {
			Name string `json:"name"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Name == name {
			return true
		}
	}
	return false
}

// upstreamLines returns upstream's index lines for name, leaving out the
// versions the emulator holds itself (those are the ones being released).
func (s *Server) upstreamLines(ctx context.Context, path, name string, local map[string]bool) ([]byte, bool) {
	up := s.upstreamOf()
	if up == nil {
		return nil, false
	}
	f := up.get(ctx, path, name)
	if f.status != http.StatusOK {
		return nil, false
	}
	var out []byte
	for _, line := range strings.Split(strings.TrimRight(string(f.body), "\n"), "\n") {
		var l struct {
			Vers string `json:"vers"`
		}
		if line == "" || json.Unmarshal([]byte(line), &l) != nil || local[l.Vers] {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out, true
}
