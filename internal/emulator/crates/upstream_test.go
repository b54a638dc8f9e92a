package crates

import (
	"strings"
	"testing"
)

// TestRealCargoUpstream: a crate with a dependency the emulator does not hold
// is published with the real cargo, verify build included: the index and the
// download pass through to an upstream registry (a second emulator standing
// in for crates.io). Offline, the dependency is named as unresolved.
func TestRealCargoUpstream(t *testing.T) {
	up := newEnv(t, Options{})
	up.s.AddVersion("piot-updep", "1.2.0")
	up.s.AddVersion("piot-updep", "1.3.0")

	e := newEnv(t, Options{})
	e.s.SetUpstream(up.s.IndexURL())
	tok := NewAPITokenString()
	e.s.AddAPIToken(tok)
	k := newCargoKit(t, e.s)
	meta := "description = \"app\"\nlicense = \"MIT\"\n"
	app := k.writeCrate("app", "piot-app", "0.1.0", meta+"\n[dependencies]\npiot-updep = \"1\"\n", "pub fn f() {}\n")
	out, err := k.publish(app, tok)
	if err != nil {
		t.Fatalf("cargo publish with an upstream dependency: %v\n%s", err, out)
	}
	if !strings.Contains(out, "piot-updep v1.3.0") {
		t.Errorf("the verify build did not fetch piot-updep from upstream:\n%s", out)
	}
	if got := e.s.Versions("piot-app"); len(got) != 1 || got[0] != "0.1.0" {
		t.Fatalf("versions = %v", got)
	}
	if got := e.s.Versions("piot-updep"); len(got) != 0 {
		t.Errorf("upstream crate copied into the emulator: %v", got)
	}
	// Only the crate being released was asked of upstream and not found.
	if u := e.s.Unresolved(); len(u) != 1 || !strings.HasPrefix(u[0], "piot-app (not in upstream") {
		t.Errorf("unresolved = %v", u)
	}

	// Upstream unreachable: cargo cannot resolve, and the emulator says which
	// dependency it could not get.
	off := newEnv(t, Options{})
	off.s.SetUpstream("sparse+http://127.0.0.1:1/index/")
	off.s.AddAPIToken(tok)
	k2 := newCargoKit(t, off.s)
	app2 := k2.writeCrate("app", "piot-app", "0.1.0", meta+"\n[dependencies]\npiot-updep = \"1\"\n", "pub fn f() {}\n")
	if out, err := k2.publish(app2, tok); err == nil {
		t.Fatalf("publish succeeded with upstream unreachable:\n%s", out)
	}
	if u := off.s.Unresolved(); len(u) != 2 || !strings.HasPrefix(u[1], "piot-updep (upstream http://127.0.0.1:1/index/ unreachable") {
		t.Errorf("unresolved = %v", u)
	}
}
