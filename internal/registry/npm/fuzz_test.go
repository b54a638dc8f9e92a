package npm

import (
	"strings"
	"testing"
)

// FuzzParseError: whatever npm (or something pretending to be npm) prints,
// the failure becomes a coded error with a message; never a panic.
func FuzzParseError(f *testing.F) {
	f.Add("npm error code E403\nnpm error 403 403 Forbidden - PUT http://127.0.0.1/x - You cannot publish over the previously published versions: 1.0.0.\n")
	f.Add("npm ERR! code E404\nnpm ERR! 404 Not Found - PUT http://h/@s%2fx - Not found\n")
	f.Add(`{"error":{"code":"E409","summary":"Conflict","detail":"tlog"}}`)
	f.Add("npm error code\nnpm error " + strings.Repeat("- ", 100))
	f.Fuzz(func(t *testing.T, stderr string) {
		e := ParseError(stderr)
		if e == nil || e.Code == "" || !strings.HasPrefix(e.Code, "PIOT_") {
			t.Fatalf("ParseError(%q) = %+v", stderr, e)
		}
		_ = e.Error()
		_ = e.Diag()
	})
}
