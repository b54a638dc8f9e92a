package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// token inspect sends a registry only the credentials of its default
// variables: a private registry's CARGO_REGISTRIES_MYCORP_TOKEN never reaches
// crates.io, NPM_GITHUB_PACKAGES_TOKEN never the npm registry.
func TestTokenInspectSendsOnlyDefaultVariables(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for k, vs := range r.Header {
			seen = append(seen, k+": "+strings.Join(vs, ","))
		}
		seen = append(seen, r.URL.String())
		mu.Unlock()
		http.Error(w, `{"errors":[{"detail":"no"}]}`, 401)
	}))
	defer rec.Close()
	f := newGHFixture(t)
	f.env["PUTITOUTTHERE_CRATES_IO_URL"] = rec.URL
	f.env["PUTITOUTTHERE_NPM_REGISTRY"] = rec.URL
	foreign := map[string]string{
		"CARGO_REGISTRIES_MYCORP_TOKEN": "cioMYCORPcanary00000000000000000000",
		"NPM_GITHUB_PACKAGES_TOKEN":     "npm_GHPcanary00000000000000000000000001",
		"CARGO_DEPLOY_TOKEN":            "CANARYcargoprefix0123",
		"PYPI_INTERNAL_TOKEN":           "pypi-INTERNALcanary0123456789",
	}
	for k, v := range foreign {
		f.env[k] = v
	}
	// A default variable holding another registry's token is sent nowhere.
	f.env["NODE_AUTH_TOKEN"] = "cioMISPLACEDcanary000000000000000000"
	for _, args := range [][]string{{"token", "inspect"}, {"--json", "token", "inspect"}, {"token", "inspect", "--registry", "crates"}, {"token", "inspect", "--registry", "npm"}} {
		out, errs, _ := f.run(t, args...)
		for k, v := range foreign {
			if strings.Contains(out+errs, v) {
				t.Errorf("%v printed %s", args, k)
			}
		}
		if args[0] == "token" && len(args) == 2 && !strings.Contains(errs, "CARGO_REGISTRIES_MYCORP_TOKEN") {
			t.Errorf("the skipped variables are not named: %s", errs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(seen, "\n")
	for k, v := range foreign {
		if strings.Contains(all, v) {
			t.Errorf("%s reached the registry", k)
		}
	}
	if strings.Contains(all, f.env["NODE_AUTH_TOKEN"]) {
		t.Errorf("a crates-shaped NODE_AUTH_TOKEN reached a registry")
	}
}
