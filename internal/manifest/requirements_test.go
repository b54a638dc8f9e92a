package manifest

import "testing"

func TestRewriteReq(t *testing.T) {
	for _, c := range []struct{ kind, req, version, want string }{
		{"crates", "0.1", "1.0.0", "1.0"},
		{"crates", "0.1.0", "0.2.0", "0.2.0"},
		{"crates", "=0.1.0", "1.0.0", "=1.0.0"},
		{"crates", "^0.1.3", "1.0.0", "^1.0.0"},
		{"crates", "~0.1", "0.2.0", "~0.2"},
		{"crates", ">=0.1, <0.2", "1.0.0", ">=1.0, <2.0"},
		{"crates", ">=0.1.0,<0.2.0", "0.2.0", ">=0.2.0,<0.3.0"},
		{"crates", "=2.0.0-rc.1", "2.0.0-rc.2", "=2.0.0-rc.2"},
		{"npm", "^0.1.0", "1.0.0", "^1.0.0"},
		{"npm", "~0.1.0", "1.0.0", "~1.0.0"},
		{"npm", "0.1.0", "1.0.0", "1.0.0"},
		{"npm", ">=0.1.0 <0.2.0", "1.0.0", ">=1.0.0 <2.0.0"},
		{"npm", "0.1.x", "1.0.0", "1.0.x"},
		{"npm", "^0.1.0 || ^0.0.9", "1.0.0", "^1.0.0"},
		{"pypi", "==0.1.0", "1.0.0", "==1.0.0"},
		{"pypi", "~=0.1", "1.0.0", "~=1.0"},
		{"pypi", ">=0.1,<0.2", "1.0.0", ">=1.0,<2.0"},
		{"pypi", ">=0.1, <0.2", "1.0.0", ">=1.0, <2.0"},
		{"pypi", "==0.1.*", "1.0.0", "==1.0.*"},
	} {
		if ReqAccepts(c.kind, c.req, c.version) {
			t.Errorf("%s %q accepts %s already", c.kind, c.req, c.version)
		}
		got := RewriteReq(c.kind, c.req, c.version)
		if got != c.want {
			t.Errorf("%s %q → %s: got %q, want %q", c.kind, c.req, c.version, got, c.want)
		}
		if !ReqAccepts(c.kind, got, c.version) {
			t.Errorf("%s %q does not accept %s", c.kind, got, c.version)
		}
	}
}

func TestReqAccepts(t *testing.T) {
	for _, c := range []struct {
		kind, req, version string
		want               bool
	}{
		{"crates", "0.1", "0.1.5", true},
		{"crates", "1", "1.9.0", true},
		{"crates", "*", "9.0.0", true},
		{"npm", "^1.2.0", "1.3.0", true},
		{"npm", "latest", "9.0.0", true},
		{"npm", "^1.2.0 || ^2", "2.1.0", true},
		{"pypi", ">=0.1", "1.0.0", true},
		{"pypi", "~=1.2", "1.9", true},
		{"pypi", "~=1.2", "2.0", false},
		{"pypi", "!=1.0.0", "1.0.0", false},
		{"pypi", "<1.0.0", "1.0.0rc1", true},
		{"pypi", ">=1.0.0", "1.0.0rc1", false},
	} {
		if got := ReqAccepts(c.kind, c.req, c.version); got != c.want {
			t.Errorf("%s %q accepts %s = %v", c.kind, c.req, c.version, got)
		}
	}
}
