package publish

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/plan"
)

type latestHandler struct {
	*fakeHandler
	latest map[string]string
	err    error
}

func (l latestHandler) Latest(_ context.Context, name string) (string, bool, error) {
	if l.err != nil {
		return "", false, l.err
	}
	v, ok := l.latest[name]
	return v, ok, nil
}

func TestStatusDrift(t *testing.T) {
	hh := newHarness(t, nil)
	w := hh.w
	// core: 1.0.0 on crates.io (a run died before tagging); last tag 0.9.0 is published.
	w.published["core@0.9.0"], w.published["core@1.0.0"] = true, true
	w.tags["core-v0.9.0"] = "c1"
	// py: tagged 0.9.0 but PyPI never got it.
	w.tags["py-v0.9.0"] = "c1"
	// js: clean.
	w.published["js@0.9.0"] = true
	w.tags["js-v0.9.0"] = "c1"
	handlers := map[string]Handler{
		"crates": latestHandler{fakeHandler: hh.h["crates"], latest: map[string]string{"core": "1.0.0"}},
		"pypi":   latestHandler{fakeHandler: hh.h["pypi"], latest: map[string]string{}},
		"npm":    latestHandler{fakeHandler: hh.h["npm"], err: errors.New("npm registry unreachable")},
	}
	p, _ := hh.opts.Plan(t.Context(), "", nil)
	tags := map[string]plan.TagInfo{
		"core": {Tag: "core-v0.9.0", Version: "0.9.0"}, "py": {Tag: "py-v0.9.0", Version: "0.9.0"}, "js": {Tag: "js-v0.9.0", Version: "0.9.0"},
	}
	got := Status(t.Context(), StatusOptions{Root: hh.opts.Root, Config: hh.opts.Config, LastTags: tags, Plan: p, Handlers: handlers, Git: hh.git})
	if len(got) != 3 {
		t.Fatalf("got %+v", got)
	}
	js, py, core := got[0], got[1], got[2] // config order: js, py, core
	if !slices.Equal(core.Drift, []string{DriftPublishedUntagged}) || core.Latest != "1.0.0" || core.Planned != "1.0.0" || !*core.PlannedPublished || !*core.TaggedPublished {
		t.Errorf("core = %+v", core)
	}
	if !slices.Equal(py.Drift, []string{DriftTaggedUnpublished}) || *py.TaggedPublished || py.Latest != "" {
		t.Errorf("py = %+v", py)
	}
	if js.Error == "" || len(js.Drift) != 0 {
		t.Errorf("js = %+v", js)
	}
}
