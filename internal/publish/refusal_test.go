package publish

import (
	"errors"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// Two packages refused by one registry in the same words: each refusal is
// named by its package and printed once, the first one not again as "also".
func TestCombinedRefusalNamesEachPackageOnce(t *testing.T) {
	hh := newHarness(t, nil)
	same := "PyPI refused the token exchange (invalid-publisher): valid token, but no corresponding publisher"
	hh.h["crates"].authorizeErr = map[string]error{"core": diag.New("PIOT_CRATES_TRUST_REFUSED", "crates.io refused the exchange (HTTP 400): wrong workflow")}
	hh.h["pypi"].authorizeErr = map[string]error{"py": diag.New("PIOT_PYPI_TRUST_REFUSED", "%s", same)}
	hh.h["npm"].authorizeErr = map[string]error{"js": diag.New("PIOT_PYPI_TRUST_REFUSED", "%s", same)}
	_, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasPrefix(de.Msg, "nothing was published: core: crates.io refused") {
		t.Errorf("msg = %q", de.Msg)
	}
	want := []string{"also refused: py: " + same, "also refused: js: " + same}
	var got []string
	for _, d := range de.Details {
		if strings.HasPrefix(d, "also refused") {
			got = append(got, d)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("also-refused lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

type answerErr string

func (a answerErr) Error() string { return string(a) }

// The registry's answer is listed as a detail only when the message does not
// already quote it.
func TestRefusalDoesNotRepeatTheRegistryAnswer(t *testing.T) {
	ans := answerErr("crates.io answered HTTP 400: The Trusted Publishing config does not match `patch-release.yml`")
	e := diag.New("PIOT_CRATES_TRUST_REFUSED", "crates.io refused the trusted-publishing token exchange (HTTP 400): The Trusted Publishing config does not match `patch-release.yml`").Wrap(ans)
	got := Refusal(e, "PIOT_CRATES_TRUST_REFUSED", "crates.io", "", WorkflowClaimCaller, "page", "fallback")
	for _, d := range got.Details {
		if strings.HasPrefix(d, "registry answer:") {
			t.Errorf("answer repeated: %q", d)
		}
	}
	if strings.Count(got.Error(), "does not match") != 1 {
		t.Errorf("Error() repeats the answer:\n%s", got.Error())
	}

	// A body the message does not quote (the raw answer, with its URL) stays.
	raw := answerErr("POST http://127.0.0.1:1/_/oidc/mint-token: HTTP 422: {\"errors\":[]}")
	e = diag.New("PIOT_PYPI_TRUST_REFUSED", "PyPI refused the token exchange").Wrap(raw)
	got = Refusal(e, "PIOT_PYPI_TRUST_REFUSED", "PyPI", "", WorkflowClaimJob, "page", "fallback")
	if len(got.Details) == 0 || got.Details[0] != "registry answer: "+string(raw) {
		t.Errorf("details = %q", got.Details)
	}
}

// A manifest publish cannot write is found before the first upload: the last
// package's broken package.json stops the run with nothing published, every
// such manifest listed; a PyPI package without pyproject.toml is no problem.
func TestUnwritableManifestStopsBeforeFirstUpload(t *testing.T) {
	hh := newHarness(t, nil)
	hh.opts.CheckVersion = func(kind, dir, version string) error {
		switch kind {
		case "pypi":
			return diag.New("PIOT_MANIFEST_MISSING", "%s/pyproject.toml not found", dir)
		case "npm":
			return diag.New("PIOT_MANIFEST_INVALID", "%s/package.json: not valid JSON", dir)
		}
		return nil
	}
	rep, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeManifestWrite || !strings.Contains(de.Msg, "nothing was published") {
		t.Fatalf("err = %v", err)
	}
	if len(de.Details) != 1 || !strings.HasPrefix(de.Details[0], "js: ") || !strings.Contains(de.Details[0], "package.json: not valid JSON") {
		t.Errorf("details = %q", de.Details)
	}
	if got := hh.w.has("publish"); len(got) != 0 {
		t.Errorf("uploaded despite a broken manifest: %v", got)
	}
	if got := hh.w.has("setversion"); len(got) != 0 {
		t.Errorf("a manifest was written: %v", got)
	}
	for _, p := range rep.Packages {
		if p.Status != StatusNotAttempted {
			t.Errorf("%s: %s", p.Name, p.Status)
		}
	}
}

func TestDedupURL(t *testing.T) {
	cases := map[string]string{
		`crates.io did not answer: GET https://crates.io/api/v1/crates/a/0.1.0: Get "https://crates.io/api/v1/crates/a/0.1.0": dial tcp: no such host`: `crates.io did not answer: GET https://crates.io/api/v1/crates/a/0.1.0: dial tcp: no such host`,
		`Get "https://x/y": EOF`: `Get "https://x/y": EOF`, // nothing named it before: kept
		`plain error`:            `plain error`,
	}
	for in, want := range cases {
		if got := DedupURL(in); got != want {
			t.Errorf("DedupURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// cargo or npm missing on the runner is found before the first upload, each
// tool named once with the packages that need it.
func TestMissingToolStopsBeforeFirstUpload(t *testing.T) {
	hh := newHarness(t, nil)
	hh.opts.LookPath = func(name string) error {
		if name == "npm" {
			return errors.New("npm is not installed or not on PATH")
		}
		return nil
	}
	_, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeToolMissing || !strings.Contains(de.Msg, "nothing was published") {
		t.Fatalf("err = %v", err)
	}
	if len(de.Details) != 1 || de.Details[0] != "npm is not installed or not on PATH (needed by js)" {
		t.Errorf("details = %q", de.Details)
	}
	if got := hh.w.has("publish"); len(got) != 0 {
		t.Errorf("uploaded: %v", got)
	}
}

// A dry run (a pull-request check) warns about a missing tool and goes on to
// report everything else.
func TestMissingToolInDryRunWarns(t *testing.T) {
	hh := newHarness(t, nil)
	hh.opts.DryRun = true
	hh.opts.LookPath = func(name string) error { return errors.New(name + " is not installed or not on PATH") }
	rep, err := hh.run(t)
	if diag.CodeOf(err) == CodeToolMissing {
		t.Fatalf("dry run stopped: %v", err)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "cargo is not installed") {
		t.Errorf("warnings = %q", rep.Warnings)
	}
}
