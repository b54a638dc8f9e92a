package macaroon

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// Vectors from pymacaroons' notes (libmacaroons cross-check).
const (
	vecLoc = "http://mybank/"
	vecKey = "this is our super secret key; only we should know it"
	vecID  = "we used our secret key"
	vecV1  = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxNmNpZCB0ZXN0ID0gY2F2ZWF0CjAwMmZzaWduYXR1cmUgGXusegRK8zMyhluSZuJtSTvdZopmDkTYjOGpmMI9vWcK"
)

func TestSignatureVectors(t *testing.T) {
	m := New(vecLoc, []byte(vecID), []byte(vecKey))
	if got := hex.EncodeToString(m.Signature); got != "e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f" {
		t.Fatalf("signature %s", got)
	}
	m.AddFirstParty([]byte("test = caveat"))
	if got := hex.EncodeToString(m.Signature); got != "197bac7a044af33332865b9266e26d493bdd668a660e44d88ce1a998c23dbd67" {
		t.Fatalf("signature with caveat %s", got)
	}
	if got := base64.URLEncoding.EncodeToString(m.EncodeV1()); got != vecV1 {
		t.Fatalf("v1 encoding\n got %s\nwant %s", got, vecV1)
	}
	if err := m.Verify([]byte(vecKey)); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify([]byte("other key")); err == nil {
		t.Fatal("wrong key verified")
	}
}

func TestDecodeV1Vector(t *testing.T) {
	raw, err := DecodeBase64(vecV1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != V1 || m.Location != vecLoc || string(m.Identifier) != vecID || len(m.Caveats) != 1 || string(m.Caveats[0].ID) != "test = caveat" {
		t.Fatalf("decoded %+v", m)
	}
	if err := m.Verify([]byte(vecKey)); err != nil {
		t.Fatal(err)
	}
}

func userWide(t *testing.T) *Macaroon {
	t.Helper()
	return New("pypi.org", []byte("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), make([]byte, 32), RequestUser("11111111-2222-3333-4444-555555555555"))
}

func TestV2LayoutAndRoundTrip(t *testing.T) {
	m := userWide(t)
	raw, _ := m.MarshalBinary()
	if len(raw) != 130 {
		t.Fatalf("user-wide token is %d bytes, want 130", len(raw))
	}
	tok := m.Token()
	if !strings.HasPrefix(tok, "py"+"pi-AgEIcHlwaS5vcmcCJ") || len(tok) != 179 {
		t.Fatalf("token %q (%d chars)", tok[:25], len(tok))
	}
	back, err := ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Identifier) != string(m.Identifier) || back.Location != "pypi.org" || len(back.Caveats) != 1 {
		t.Fatalf("round trip %+v", back)
	}
	if err := back.Verify(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	// Standard alphabet and padding decode too.
	std := base64.StdEncoding.EncodeToString(raw)
	if _, err := ParseToken("py" + "pi-" + std); err != nil {
		t.Fatalf("standard alphabet: %v", err)
	}
}

func TestLongCaveatUsesTwoByteLength(t *testing.T) {
	ids := []string{}
	for i := 0; i < 5; i++ {
		ids = append(ids, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee"+string(rune('0'+i)))
	}
	m := New("upload.pypi.org", []byte("id"), []byte("k"), ProjectIDs(ids...))
	back, err := ParseToken(m.Token())
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseCaveat(back.Caveats[0].ID)
	if err != nil || len(p.ProjectIDs) != 5 {
		t.Fatalf("%v %+v", err, p)
	}
}

func TestParseTokenErrors(t *testing.T) {
	good, _ := userWide(t).MarshalBinary()
	enc := func(b []byte) string { return "py" + "pi-" + base64.RawURLEncoding.EncodeToString(b) }
	mut := func(f func([]byte) []byte) string {
		c := append([]byte{}, good...)
		return enc(f(c))
	}
	cases := map[string]string{
		"no prefix":       "abc",
		"colon prefix":    "py" + "pi:AgEI",
		"empty body":      "py" + "pi-",
		"not base64":      "py" + "pi-***",
		"bad version":     enc([]byte{0x03, 0x00}),
		"truncated":       mut(func(b []byte) []byte { return b[:60] }),
		"trailing":        mut(func(b []byte) []byte { return append(b, 0) }),
		"short signature": mut(func(b []byte) []byte { b[len(b)-33] = 31; return b[:len(b)-1] }),
		"huge length":     enc([]byte{0x02, 0x02, 0xff, 0xff, 0xff, 0x0f}),
		"no identifier":   enc([]byte{0x02, 0x01, 0x01, 'x', 0x00, 0x00, 0x06, 0x20}),
		"out of order":    enc(append([]byte{0x02, 0x02, 0x01, 'i', 0x01, 0x01, 'l', 0x00}, good[95:]...)),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseToken(tok)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseCaveat(t *testing.T) {
	cases := []struct {
		in   string
		want Predicate
		err  string
	}{
		{in: `[0,1700000900,1700000000]`, want: Predicate{Tag: TagExpiration, ExpiresAt: 1700000900, NotBefore: 1700000000}},
		{in: `[1,["py","core-rs"]]`, want: Predicate{Tag: TagProjectName, Names: []string{"py", "core-rs"}}},
		{in: `[2,["u1"]]`, want: Predicate{Tag: TagProjectID, ProjectIDs: []string{"u1"}}},
		{in: `[3,"u"]`, want: Predicate{Tag: TagRequestUser, UserID: "u"}},
		{in: `[4,"p",null]`, want: Predicate{Tag: TagOIDCPublisher, PublisherID: "p"}},
		{in: `[4,"p"]`, want: Predicate{Tag: TagOIDCPublisher, PublisherID: "p"}},
		{in: `[3,"u","extra"]`, want: Predicate{Tag: TagRequestUser, UserID: "u"}},
		{in: `{"permissions": "user", "version": 1}`, want: Predicate{Tag: TagRequestUser, Legacy: true}},
		{in: `{"version": 1, "permissions": {"projects": ["foo"]}}`, want: Predicate{Tag: TagProjectName, Legacy: true, Names: []string{"foo"}}},
		{in: `{"project_ids": ["x"]}`, want: Predicate{Tag: TagProjectID, Legacy: true, ProjectIDs: []string{"x"}}},
		{in: `{"exp": 10, "nbf": 5}`, want: Predicate{Tag: TagExpiration, Legacy: true, ExpiresAt: 10, NotBefore: 5}},
		{in: `[0,"50",10]`, err: "invalid values for fields"},
		{in: `[0,50.0,10]`, err: "invalid values for fields"},
		{in: `[0,50]`, err: "Not enough values"},
		{in: `[]`, err: "caveat array cannot be empty"},
		{in: `"x"`, err: "caveat must be an array"},
		{in: `{"version": 1, "permissions": "nope"}`, err: "caveat must be an array"},
		{in: `{"foo": 1}`, err: "caveat must be an array"},
		{in: `[9,"x"]`, err: "caveat has unknown tag: 9"},
		{in: `[1,"notalist"]`, err: "invalid values for fields"},
		{in: `not json`, err: "caveat is not JSON"},
	}
	for _, c := range cases {
		got, err := ParseCaveat([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if string(got.Encode()) != string(c.want.Encode()) || got.Legacy != c.want.Legacy {
			t.Errorf("%s: got %+v want %+v", c.in, got, c.want)
		}
	}
	if string(Expiration(10, 5)) != "[0,10,5]" || string(OIDCPublisher("p")) != `[4,"p",null]` || string(ProjectNames("a", "b")) != `[1,["a","b"]]` {
		t.Fatal("encoding is not Warehouse's compact form")
	}
}

func TestAuthorize(t *testing.T) {
	key := []byte("root")
	now := time.Unix(1700000100, 0)
	req := Request{Now: now, PublisherID: "pub", HasProject: true, ProjectName: "Foo", ProjectNormalized: "foo", ProjectID: "pid", PublisherProjects: []string{"pid"}}
	tp := New("upload.pypi.org", []byte("id"), key, OIDCPublisher("pub"), ProjectIDs("pid"), Expiration(1700000900, 1700000000))
	if err := Authorize(tp, key, req); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		m    *Macaroon
		key  []byte
		req  func(Request) Request
		want string
	}{
		{"expired", tp, key, func(r Request) Request { r.Now = time.Unix(1700000900, 0); return r }, "token is expired"},
		{"not yet", tp, key, func(r Request) Request { r.Now = time.Unix(1699999999, 0); return r }, "token is expired"},
		{"other publisher", tp, key, func(r Request) Request { r.PublisherID = "x"; return r }, "current OIDC publisher does not match publisher restriction in token"},
		{"user identity", tp, key, func(r Request) Request { r.PublisherID = ""; r.UserID = "u"; return r }, "OIDC scoped token used outside of an OIDC identified request"},
		{"detached", tp, key, func(r Request) Request { r.PublisherProjects = nil; return r }, "OIDC scoped token is not valid for project 'Foo'"},
		{"bad key", tp, []byte("nope"), func(r Request) Request { return r }, "signature mismatch"},
		{"project name", New("l", []byte("i"), key, ProjectNames("bar")), key, func(r Request) Request { r.PublisherID = ""; r.UserID = "u"; return r }, "project-scoped token is not valid for project: 'Foo'"},
		{"no project", New("l", []byte("i"), key, ProjectIDs("pid")), key, func(r Request) Request { r.HasProject = false; return r }, "project-scoped token used outside of a project context"},
		{"user mismatch", New("l", []byte("i"), key, RequestUser("u1")), key, func(r Request) Request { r.PublisherID = ""; r.UserID = "u2"; return r }, "current user does not match user restriction in token"},
		{"user on publisher", New("l", []byte("i"), key, RequestUser("u1")), key, func(r Request) Request { return r }, "token with user restriction without a user"},
		{"unknown tag", New("l", []byte("i"), key, []byte("[7]")), key, func(r Request) Request { return r }, "caveat has unknown tag: 7"},
	}
	for _, c := range cases {
		err := Authorize(c.m, c.key, c.req(req))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	// Attenuation by a holder keeps the signature valid.
	att := New("l", []byte("i"), key, RequestUser("u"))
	att.AddFirstParty(ProjectNames("foo"))
	if err := Authorize(att, key, Request{Now: now, UserID: "u", HasProject: true, ProjectName: "Foo", ProjectNormalized: "foo"}); err != nil {
		t.Fatal(err)
	}
}

func TestInspect(t *testing.T) {
	key := []byte("k")
	now := time.Unix(1700000100, 0)
	cases := []struct {
		name  string
		m     *Macaroon
		check func(*Report) bool
	}{
		{"trusted publishing", New("upload.pypi.org", []byte("id"), key, OIDCPublisher("pub"), ProjectIDs("a", "b"), Expiration(1700000900, 1700000000)),
			func(r *Report) bool {
				return r.Kind == KindTrustedPublishing && r.ValidFor == 800*time.Second && len(r.ProjectIDs) == 2 && !r.Expired && r.Usable()
			}},
		{"expired", New("l", []byte("id"), key, OIDCPublisher("pub"), Expiration(1700000050, 1700000000)),
			func(r *Report) bool { return r.Expired && !r.Usable() && r.ValidFor == 0 }},
		{"not yet valid", New("l", []byte("id"), key, Expiration(1700000900, 1700000500)),
			func(r *Report) bool { return r.NotYetValid && r.Kind == KindScopeNotEmbedded }},
		{"project scoped", New("pypi.org", []byte("id"), key, ProjectNames("a", "b"), ProjectNames("b", "c"), ProjectIDs("x")),
			func(r *Report) bool {
				return r.Kind == KindProjectScoped && len(r.ProjectNames) == 1 && r.ProjectNames[0] == "b" && r.ProjectIDs[0] == "x"
			}},
		{"attenuated user", New("pypi.org", []byte("id"), key, RequestUser("u"), ProjectNames("a")),
			func(r *Report) bool { return r.Kind == KindProjectScoped && r.UserID == "u" }},
		{"user wide", New("pypi.org", []byte("id"), key, RequestUser("u")),
			func(r *Report) bool { return r.Kind == KindUserWide && r.ExpiresAt == nil }},
		{"legacy user", New("pypi.org", []byte("id"), key, []byte(`{"permissions": "user", "version": 1}`)),
			func(r *Report) bool { return r.Kind == KindUserWide && r.LegacyUser }},
		{"no caveats", New("pypi.org", []byte("id"), key),
			func(r *Report) bool { return r.Kind == KindScopeNotEmbedded && r.Usable() }},
		{"unknown tag", New("pypi.org", []byte("id"), key, RequestUser("u"), []byte(`[12,"x"]`)),
			func(r *Report) bool {
				return r.Kind == KindUserWide && len(r.UnknownTags) == 1 && r.UnknownTags[0] == "12" && !r.Usable()
			}},
		{"only unknown", New("pypi.org", []byte("id"), key, []byte(`[12]`)),
			func(r *Report) bool { return r.Kind == KindUnknown }},
	}
	for _, c := range cases {
		r, err := Inspect(c.m.Token(), now)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !c.check(r) {
			t.Errorf("%s: report %+v", c.name, r)
		}
	}
	third := New("pypi.org", []byte("id"), key)
	third.Caveats = append(third.Caveats, Caveat{Location: "elsewhere", ID: []byte("cid"), VID: []byte("vid")})
	r, err := Inspect(third.Token(), now)
	if err != nil || len(r.Problems) != 1 || r.Usable() {
		t.Fatalf("third party: %v %+v", err, r)
	}
	if _, err := Inspect("py"+"pi-AAAA", now); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed: %v", err)
	}
}
