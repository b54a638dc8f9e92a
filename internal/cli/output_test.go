package cli

import (
	"bytes"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

func TestDecorateColourAndASCII(t *testing.T) {
	const text = "✓ config loaded\n✗ auth — missing\nerror: it failed [PIOT_X]\nhint: fix it\n"
	for _, tc := range []struct {
		name     string
		terminal bool
		env      env.Env
		want     string
	}{
		{"pipe: untouched", false, env.Env{}, text},
		{"pipe with NO_COLOR: untouched", false, env.Env{"NO_COLOR": "1"}, text},
		{"terminal: colour", true, env.Env{"LANG": "en_US.UTF-8"},
			"\033[32m✓\033[0m config loaded\n\033[1m\033[31m✗\033[0m auth — missing\n\033[1m\033[31merror:\033[0m it failed [PIOT_X]\n\033[36mhint:\033[0m fix it\n"},
		{"terminal, NO_COLOR: no colour", true, env.Env{"NO_COLOR": "1"}, text},
		{"TERM=dumb: no colour, ASCII", true, env.Env{"TERM": "dumb"}, "ok config loaded\nx auth - missing\nerror: it failed [PIOT_X]\nhint: fix it\n"},
		{"C locale on a terminal: ASCII, colour", true, env.Env{"LC_ALL": "C", "NO_COLOR": "1"}, "ok config loaded\nx auth - missing\nerror: it failed [PIOT_X]\nhint: fix it\n"},
		{"PUTITOUTTHERE_ASCII in a pipe", false, env.Env{"PUTITOUTTHERE_ASCII": "1"}, "ok config loaded\nx auth - missing\nerror: it failed [PIOT_X]\nhint: fix it\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			w := decorate(&b, tc.terminal, tc.env)
			n, err := w.Write([]byte(text))
			if err != nil || n != len(text) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			if b.String() != tc.want {
				t.Errorf("got  %q\nwant %q", b.String(), tc.want)
			}
		})
	}
}
