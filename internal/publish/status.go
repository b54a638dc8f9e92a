package publish

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Drift flags (SPEC §4 "Re-runs and drift").
const (
	DriftPublishedUntagged = "published-untagged" // on the registry, no tag: the next publish repairs it
	DriftTaggedUnpublished = "tagged-unpublished" // a tag, but the registry lacks the version
)

// PackageStatus is one package's line of `status`.
type PackageStatus struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Registry string `json:"registry"`
	URL      string `json:"url,omitempty"`
	// LastTag is the highest release tag reachable from HEAD ("" = none).
	LastTag       string `json:"last_tag,omitempty"`
	TaggedVersion string `json:"tagged_version,omitempty"`
	// TaggedPublished: whether TaggedVersion is on the registry.
	TaggedPublished *bool `json:"tagged_published,omitempty"`
	// Latest is the registry's latest version ("" = package not on the registry).
	Latest string `json:"registry_latest,omitempty"`
	// Planned is the version the next publish would ship ("" = not in the plan).
	Planned          string   `json:"planned,omitempty"`
	PlannedPublished *bool    `json:"planned_published,omitempty"`
	Drift            []string `json:"drift,omitempty"`
	Detail           []string `json:"detail,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// StatusOptions are the inputs of Status.
type StatusOptions struct {
	Root     string
	Config   *config.Config
	Env      env.Env
	LastTags map[string]plan.TagInfo
	Plan     *plan.Plan // may be nil when planning failed
	Handlers map[string]Handler
	Git      Git
	// Concurrency bounds the packages read at once (0 = DefaultStatusConcurrency).
	Concurrency int
	// Progress, when set, is told each time a package's state is read
	// (done of total). It may be called from several goroutines at once.
	Progress func(done, total int, name string)
}

// DefaultStatusConcurrency is how many packages status reads at once. A
// package takes up to three reads one after another (the tagged version, the
// latest, the planned version), so 40 packages over a registry answering in
// 200 ms take about 1.8 s instead of 24 s; few enough not to look like a
// burst to a registry's rate limiter.
const DefaultStatusConcurrency = 16

// DriftPlannedBelowLatest: the plan would publish a version lower than the
// registry's latest (a missing or deleted tag, or a release made elsewhere).
const DriftPlannedBelowLatest = "planned-below-latest"

// Status reads every package's state from git and its registry. It needs no
// credentials; a registry that cannot be reached is reported on its line.
func Status(ctx context.Context, o StatusOptions) []PackageStatus {
	n := len(o.Config.Packages)
	out := make([]PackageStatus, n)
	conc := o.Concurrency
	if conc <= 0 {
		conc = DefaultStatusConcurrency
	}
	// Each package is independent: read them concurrently (bounded), keep
	// the config's order in the result.
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var done atomic.Int32
	for i := range o.Config.Packages {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = packageStatus(ctx, o, &o.Config.Packages[i])
			if o.Progress != nil {
				o.Progress(int(done.Add(1)), n, o.Config.Packages[i].Name)
			}
		}(i)
	}
	wg.Wait()
	stagedDrift(ctx, o, out)
	return out
}

// packageStatus reads one package's state from git and its registry.
func packageStatus(ctx context.Context, o StatusOptions, pkg *config.Package) PackageStatus {
	st := PackageStatus{Name: pkg.Name, Kind: pkg.Kind}
	h := o.Handlers[pkg.Kind]
	if h == nil {
		st.Error = "no registry client for kind " + pkg.Kind
		return st
	}
	st.Registry = h.Registry()
	name := pkg.RegistryName()
	// The planned version is known without the registry: show it even when
	// the registry cannot be read.
	var rel *plan.Release
	if o.Plan != nil {
		rel = o.Plan.Release(pkg.Name)
	}
	if rel != nil {
		st.Planned = rel.Version
	}
	job := func(version string) Job {
		return Job{Package: pkg, Release: plan.Release{Name: pkg.Name, Kind: pkg.Kind, Version: version}, Root: o.Root, Env: o.Env, Auth: auth.Resolution{Kind: pkg.Kind, Method: auth.MethodMissing}}
	}
	fail := func(err error) { st.Error = secret.Redact(DedupURL(err.Error())) }
	if t, ok := o.LastTags[pkg.Name]; ok {
		st.LastTag, st.TaggedVersion = t.Tag, t.Version
		ok, err := h.Published(ctx, job(t.Version))
		if err != nil {
			fail(err)
			return st
		}
		st.TaggedPublished = &ok
		if !ok {
			st.Drift = append(st.Drift, DriftTaggedUnpublished)
			st.Detail = append(st.Detail, fmt.Sprintf("tag %s exists but %s %s is not on %s", t.Tag, name, t.Version, h.Registry()))
		}
	}
	if l, ok := h.(Latester); ok {
		v, _, err := l.Latest(ctx, name)
		if err != nil {
			fail(err)
			return st
		}
		st.Latest = v
		if v != "" {
			st.URL = h.URL(name, v)
		}
		// The registry's latest version should carry a tag too.
		if v != "" && v != st.TaggedVersion && o.Git != nil {
			if _, tagged, err := o.Git.TagExists(ctx, o.Root, pkg.TagFor(v)); err == nil && !tagged && !contains(st.Drift, DriftPublishedUntagged) {
				st.Drift = append(st.Drift, DriftPublishedUntagged)
				st.Detail = append(st.Detail, fmt.Sprintf("%s %s is on %s but tag %s does not exist", name, v, h.Registry(), pkg.TagFor(v)))
			}
		}
	}
	if rel != nil {
		if below(rel.Version, st.Latest) {
			st.Drift = append(st.Drift, DriftPlannedBelowLatest)
			st.Detail = append(st.Detail, fmt.Sprintf("the plan would publish %s %s, lower than %s's latest %s; unless this is a maintenance release of an older line, a tag is missing or the release was made elsewhere: tag %s at the commit it was built from, or bump past it with a `release: minor` trailer", name, rel.Version, h.Registry(), st.Latest, pkg.TagFor(st.Latest)))
		}
		ok, err := h.Published(ctx, job(rel.Version))
		if err != nil {
			fail(err)
			return st
		}
		st.PlannedPublished = &ok
		if ok && rel.Version != st.Latest && o.Git != nil {
			if _, tagged, err := o.Git.TagExists(ctx, o.Root, pkg.TagFor(rel.Version)); err == nil && !tagged && !contains(st.Drift, DriftPublishedUntagged) {
				st.Drift = append(st.Drift, DriftPublishedUntagged)
				st.Detail = append(st.Detail, fmt.Sprintf("%s %s is on %s but tag %s does not exist", name, rel.Version, h.Registry(), pkg.TagFor(rel.Version)))
			}
		}
	}
	return st
}

// below reports whether version a is lower than b (both semver; false when
// either does not parse or b is empty).
func below(a, b string) bool {
	if b == "" {
		return false
	}
	va, err1 := semver.NewVersion(a)
	vb, err2 := semver.NewVersion(b)
	return err1 == nil && err2 == nil && va.LessThan(vb)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// goURLErr is Go's net/http error prefix, `Get "https://…": `.
var goURLErr = regexp.MustCompile(`\b(Get|Post|Put|Patch|Delete|Head) "([^"]+)": `)

// DedupURL drops Go's `Get "URL": ` from an error that already named the
// request (`GET URL: Get "URL": dial tcp …` reads `GET URL: dial tcp …`).
func DedupURL(s string) string {
	return goURLErr.ReplaceAllStringFunc(s, func(m string) string {
		u := goURLErr.FindStringSubmatch(m)[2]
		if i := strings.Index(s, u); i >= 0 && i < strings.Index(s, m) {
			return ""
		}
		return m
	})
}
