package token

import "testing"

// TestBrief: what a registry did not say leaves no empty field behind (a
// Verdaccio whoami names no token kind: "(, owner maintainer, valid)").
func TestBrief(t *testing.T) {
	for _, c := range []struct {
		r    Report
		want string
	}{
		{Report{Owner: "maintainer", State: "valid"}, "owner maintainer, valid"},
		{Report{Shape: "npm_ token", Owner: "o", State: "valid"}, "npm_ token, owner o, valid"},
		{Report{Shape: "npm_ token", Kind: "granular", State: "invalid"}, "granular, invalid"},
		{Report{}, ""},
	} {
		if got := c.r.Brief(); got != c.want {
			t.Errorf("%+v: Brief() = %q, want %q", c.r, got, c.want)
		}
	}
}
