package termtext

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"ABCD-1234":                       "ABCD-1234",
		"https://github.com/login/device": "https://github.com/login/device",
		"\x1b]8;;https://evil.example/\x1b\\https://github.com/login/device\x1b]8;;\x1b\\": "https://github.com/login/device",
		"\x1b]8;;https://evil.example/\ahttps://github.com\x1b]8;;\a":                      "https://github.com",
		"\x1b[31mred\x1b[0m":       "red",
		"a\x1b[2J\x1b[Hb":          "ab",
		"oct\u202ecat":             "octcat",
		"x\x9b31my":                "xy",
		"line\rover\nnext\x00\x7f": "lineovernext",
		"\x1bc reset":              " reset",
		"münchen":                  "münchen",
		"tail\x1b":                 "tail",
		"\x1b]0;title":             "",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("\x1b]8;;x\x1b\\y")
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || bidi(r) {
				t.Fatalf("Clean(%q) kept %U", s, r)
			}
		}
	})
}
