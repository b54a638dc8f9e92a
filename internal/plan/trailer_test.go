package plan

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseTrailer(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		want    *Trailer // nil: no trailer
		wantErr string   // substring of the error
	}{
		{name: "none", msg: "fix: the parser\n\nbody text\n"},
		{name: "empty message", msg: ""},
		{name: "patch", msg: "fix\n\nrelease: patch\n", want: &Trailer{Bump: "patch", Line: "release: patch", LineNo: 3}},
		{name: "case-insensitive key and value", msg: "x\n\nRelease: MINOR", want: &Trailer{Bump: "minor", Line: "Release: MINOR", LineNo: 3}},
		{name: "no space after colon", msg: "release:major", want: &Trailer{Bump: "major", Line: "release:major", LineNo: 1}},
		{name: "surrounding whitespace", msg: "x\n   release:   skip   \n", want: &Trailer{Bump: "skip", Line: "release:   skip", LineNo: 2}},
		{name: "crlf", msg: "x\r\n\r\nrelease: minor\r\n", want: &Trailer{Bump: "minor", Line: "release: minor", LineNo: 3}},
		{name: "list", msg: "x\n\nrelease: minor [a, b]", want: &Trailer{Bump: "minor", Packages: []string{"a", "b"}, HasList: true, Line: "release: minor [a, b]", LineNo: 3}},
		{name: "list without spaces", msg: "release: major [a,b,c]", want: &Trailer{Bump: "major", Packages: []string{"a", "b", "c"}, HasList: true, Line: "release: major [a,b,c]", LineNo: 1}},
		{name: "list glued to bump", msg: "release: patch[@org/x]", want: &Trailer{Bump: "patch", Packages: []string{"@org/x"}, HasList: true, Line: "release: patch[@org/x]", LineNo: 1}},
		{name: "skip list", msg: "release: skip [a]", want: &Trailer{Bump: "skip", Packages: []string{"a"}, HasList: true, Line: "release: skip [a]", LineNo: 1}},
		{name: "last line wins", msg: "release: major\nrelease: patch", want: &Trailer{Bump: "patch", Line: "release: patch", LineNo: 2}},
		{name: "later valid line supersedes malformed", msg: "release: minro\nrelease: minor", want: &Trailer{Bump: "minor", Line: "release: minor", LineNo: 2}},
		{name: "prose is not a trailer", msg: "Release: this fixes the crash"},
		{name: "prose starting with a bump word", msg: "release: patch the crash in the parser"},
		{name: "prose after a trailer keeps the trailer", msg: "release: minor\nRelease: this fixes the crash", want: &Trailer{Bump: "minor", Line: "release: minor", LineNo: 1}},
		{name: "other key", msg: "release notes: minor"},
		{name: "released", msg: "released: minor"},
		{name: "quoted line", msg: "> release: minor"},
		{name: "key with space before colon", msg: "release : minor", want: &Trailer{Bump: "minor", Line: "release : minor", LineNo: 1}},
		{name: "typo", msg: "x\n\nrelease: minro", wantErr: `line 3 ` + "`release: minro`" + `: unknown value "minro"`},
		{name: "version instead of bump", msg: "release: 1.2.3", wantErr: `unknown value "1.2.3"`},
		{name: "empty value is prose", msg: "Release:\nhttps://example.com/notes"},
		{name: "unclosed list", msg: "release: minor [a, b", wantErr: "unclosed package list"},
		{name: "list without commas", msg: "release: minor [a b]", wantErr: "not comma-separated"},
		{name: "empty list", msg: "release: minor []", wantErr: "empty package list"},
		{name: "empty item", msg: "release: minor [a,,b]", wantErr: "empty name"},
		{name: "nested brackets", msg: "release: minor [[a]]", wantErr: "malformed package list"},
		{name: "bad bump before list", msg: "release: mnior [a]", wantErr: `unknown value "mnior"`},
		{name: "last malformed line wins", msg: "release: minor\nrelease: mjaor", wantErr: "line 2"},
		{name: "non-utf8", msg: "fix \xff\xfe\n\nrelease: minor\n", want: &Trailer{Bump: "minor", Line: "release: minor", LineNo: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrailer(tt.msg)
			if tt.wantErr != "" {
				var te *TrailerError
				if !errors.As(err, &te) {
					t.Fatalf("ParseTrailer(%q) error = %v, want a *TrailerError", tt.msg, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTrailer(%q) error = %q, want it to contain %q", tt.msg, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTrailer(%q): %v", tt.msg, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTrailer(%q) mismatch (-want +got):\n%s", tt.msg, diff)
			}
			if HasTrailerLine(tt.msg) != (tt.want != nil) {
				t.Errorf("HasTrailerLine(%q) = %v", tt.msg, !(tt.want != nil))
			}
		})
	}
}

// FuzzParseTrailer checks the parser never panics and that what it returns is
// self-consistent. Corpus: testdata/fuzz/FuzzParseTrailer.
func FuzzParseTrailer(f *testing.F) {
	for _, s := range []string{
		"release: minor", "release: minor [a, b]", "Release: this fixes it", "release: minro",
		"release: skip [a", "x\n\nrelease: major\n", "release:\xff", "release: patch [a b]", "release:[",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		tr, err := ParseTrailer(msg)
		if err != nil {
			var te *TrailerError
			if !errors.As(err, &te) || tr != nil {
				t.Fatalf("error %v with trailer %v", err, tr)
			}
			if te.LineNo < 1 {
				t.Fatalf("line number %d", te.LineNo)
			}
			return
		}
		if tr == nil {
			return
		}
		if !isBump(tr.Bump) {
			t.Fatalf("bump %q", tr.Bump)
		}
		if tr.HasList != (len(tr.Packages) > 0) {
			t.Fatalf("HasList %v with packages %q", tr.HasList, tr.Packages)
		}
		for _, p := range tr.Packages {
			if p == "" || strings.ContainsAny(p, " \t,[]") {
				t.Fatalf("package name %q", p)
			}
		}
		// Re-parsing the canonical form gives the same trailer.
		canon := "release: " + tr.Bump
		if tr.HasList {
			canon += " [" + strings.Join(tr.Packages, ", ") + "]"
		}
		again, err := ParseTrailer(canon)
		if err != nil || again == nil || again.Bump != tr.Bump || !cmp.Equal(again.Packages, tr.Packages) {
			if utf8.ValidString(canon) {
				t.Fatalf("canonical %q reparsed as %v, %v", canon, again, err)
			}
		}
	})
}
