package rehearse

import (
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

func TestDeclaredRepository(t *testing.T) {
	tp := func(repo string) *config.TrustPolicy {
		return &config.TrustPolicy{Workflow: "release.yml", Repository: repo}
	}
	cases := []struct {
		name string
		pkgs []config.Package
		want string
	}{
		{"none declared", []config.Package{{Name: "a"}, {Name: "b", TrustPolicy: tp("")}}, ""},
		{"all agree", []config.Package{{Name: "a", TrustPolicy: tp("o/r")}, {Name: "b"}, {Name: "c", TrustPolicy: tp("O/R")}}, "o/r"},
		{"disagree", []config.Package{{Name: "a", TrustPolicy: tp("o/r")}, {Name: "b", TrustPolicy: tp("o/other")}}, ""},
	}
	for _, c := range cases {
		if got := declaredRepository(&config.Config{Packages: c.pkgs}); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if declaredRepository(nil) != "" {
		t.Error("nil config")
	}
}
