package ghactions

import "testing"

func TestSplitRepository(t *testing.T) {
	for s, want := range map[string]bool{
		"owner/repo": true, "my-org/my.repo_2": true, "a/b": true,
		"a/b/c": false, "../../evil/x": false, "owner/..": false, "owner/.": false, "/repo": false, "owner/": false,
		"owner": false, "-owner/repo": false, "own er/repo": false, "owner/re po": false, "owner/repo\n": false,
		"owner/r%2e": false, "ówner/repo": false,
	} {
		if _, _, ok := SplitRepository(s); ok != want {
			t.Errorf("SplitRepository(%q) ok = %v, want %v", s, ok, want)
		}
	}
}
