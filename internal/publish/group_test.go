package publish

import (
	"slices"
	"strings"
	"testing"
)

// A lockstep group: every member publishes (in depends_on order) and the
// group gets one tag and one GitHub Release, titled with the group's name.
func TestGroupOneTagOneRelease(t *testing.T) {
	hh := newHarness(t, nil)
	p, _ := hh.opts.Plan(t.Context(), "", nil)
	for i := range hh.opts.Config.Packages {
		pk := &hh.opts.Config.Packages[i]
		pk.Group = "core"
		pk.TagFormat = "v{version}"
	}
	for i := range p.Releases {
		p.Releases[i].Tag, p.Releases[i].Group, p.Releases[i].LastTag = "v1.0.0", "core", "v0.9.0"
	}
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	var tags, releases []string
	for _, e := range hh.w.events {
		switch {
		case strings.HasPrefix(e, "tag "):
			tags = append(tags, e)
		case strings.HasPrefix(e, "release "):
			releases = append(releases, e)
		}
	}
	if !slices.Equal(tags, []string{"tag v1.0.0"}) {
		t.Errorf("tags created: %v (want one for the group)", tags)
	}
	for _, r := range releases {
		if r != `release v1.0.0 "core 1.0.0"` {
			t.Errorf("release %s: want the group's one release", r)
		}
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=published", "py=published", "js=published"}) {
		t.Errorf("statuses = %v", got)
	}
}
