// Package termtext makes text from a remote server safe to print on a
// terminal: escape sequences (which can recolour, retitle, or turn text into a
// hyperlink pointing elsewhere) and other control characters are removed.
package termtext

import (
	"strings"
	"unicode/utf8"
)

// Clean returns s without terminal escape sequences (CSI, OSC, DCS and the
// other ESC-introduced forms, 7- and 8-bit), C0/C1 control characters, DEL,
// and the Unicode bidirectional overrides that reorder what is shown.
func Clean(s string) string {
	var b strings.Builder
	// Invalid UTF-8 bytes 0x80-0x9f are read as the C1 controls an 8-bit
	// terminal takes them for; other invalid bytes are dropped.
	rs := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if s[i] < 0xa0 {
				rs = append(rs, rune(s[i]))
			}
			i++
			continue
		}
		rs = append(rs, r)
		i += n
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f:
			i = skipSequence(rs, i)
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		case bidi(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Changed reports whether Clean would alter s.
func Changed(s string) bool { return Clean(s) != s }

// skipSequence returns the index of the last rune of the escape sequence
// starting at i.
func skipSequence(rs []rune, i int) int {
	r := rs[i]
	kind := r
	if r == 0x1b {
		if i+1 >= len(rs) {
			return i
		}
		i++
		switch rs[i] {
		case '[':
			kind = 0x9b
		case ']':
			kind = 0x9d
		case 'P':
			kind = 0x90
		case 'X':
			kind = 0x98
		case '^':
			kind = 0x9e
		case '_':
			kind = 0x9f
		default:
			// Two-character sequence (ESC c, ESC 7, …), possibly with
			// intermediate bytes.
			for i < len(rs) && rs[i] >= 0x20 && rs[i] <= 0x2f {
				i++
			}
			return i
		}
	}
	if kind == 0x9b { // CSI: parameters and intermediates, then a final byte
		for i+1 < len(rs) {
			i++
			if rs[i] >= 0x40 && rs[i] <= 0x7e {
				return i
			}
			if rs[i] < 0x20 || rs[i] > 0x3f && rs[i] < 0x40 {
				return i
			}
		}
		return i
	}
	// String sequences (OSC, DCS, SOS, PM, APC) end at BEL or ST (ESC \ or 0x9c).
	for i+1 < len(rs) {
		i++
		switch {
		case rs[i] == 0x07 || rs[i] == 0x9c:
			return i
		case rs[i] == 0x1b && i+1 < len(rs) && rs[i+1] == '\\':
			return i + 1
		}
	}
	return i
}

func bidi(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}
