package run

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// chunks records every write the stream receives.
type chunks struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (c *chunks) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.buf.Write(p)
}

// A token a tool prints in two pieces (two reads of the pipe) is masked whole
// in the streamed output.
func TestStreamRedactsTokenSplitAcrossReads(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tok := "cio_split_canary_0123456789abcdefABCDEF"
	secret.Register(tok)
	t.Cleanup(secret.Reset)
	var got chunks
	x := Exec{Base: env.FromOS(), Stream: &got}
	script := `printf 'uploading with %s' "$A"; sleep 0.2; printf '%s done\n' "$B"; printf 'err %s' "$A" >&2; sleep 0.2; printf '%s\n' "$B" >&2`
	_, err := x.Run(t.Context(), Cmd{Name: "sh", Args: []string{"-c", script}, Env: []string{"A=" + tok[:17], "B=" + tok[17:]}})
	if err != nil {
		t.Fatal(err)
	}
	out := got.buf.String()
	if strings.Contains(out, tok[:17]) || strings.Contains(out, tok[17:]) {
		t.Fatalf("stream leaks part of the token: %q", out)
	}
	if strings.Count(out, secret.Mask) != 2 {
		t.Fatalf("stream = %q, want the token masked twice", out)
	}
}

// Real cargo output: a token straddling the 32 KiB read boundary of the pipe.
func TestStreamRedactsRealCargoOutputAtReadBoundary(t *testing.T) {
	if _, err := exec.LookPath("cargo"); err != nil {
		t.Skip("cargo is not installed")
	}
	tok := "cio_cargo_canary_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"
	secret.Register(tok)
	t.Cleanup(secret.Reset)
	dir := t.TempDir()
	write := func(pad int) {
		toml := "[package]\nname = \"canary\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"" +
			strings.Repeat("p", pad) + tok + "\"\n"
		os.MkdirAll(filepath.Join(dir, "src"), 0o755)
		os.WriteFile(filepath.Join(dir, "src", "lib.rs"), nil, 0o644)
		os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte(toml), 0o644)
	}
	args := []string{"metadata", "--no-deps", "--format-version", "1", "--offline"}
	e := env.FromOS()
	write(40000)
	probe, err := exec.Command("cargo", append(args, "--manifest-path", filepath.Join(dir, "Cargo.toml"))...).Output()
	if err != nil {
		t.Skipf("cargo metadata: %v", err)
	}
	at := bytes.Index(probe, []byte(tok))
	// Move the token so that it starts 10 bytes before the 64 KiB mark (two
	// full 32 KiB reads).
	write(40000 + (65536 - 10 - at))
	var got chunks
	x := Exec{Base: e, Stream: &got}
	res, err := x.Run(t.Context(), Cmd{Dir: dir, Name: "cargo", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Stdout, tok) || strings.Contains(got.buf.String(), tok[:20]) || strings.Contains(got.buf.String(), tok[len(tok)-20:]) {
		t.Fatalf("cargo output leaks the token")
	}
	if !strings.Contains(got.buf.String(), strings.Repeat("p", 100)+secret.Mask) {
		t.Fatalf("token not masked in the stream")
	}
}
