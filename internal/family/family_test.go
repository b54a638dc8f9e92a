package family

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// Minimal headers: enough for debug/elf, debug/pe and debug/macho to name the
// OS, CPU and file type.
func elfFile(t *testing.T, machine uint16, typ uint16, interp bool) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // 64-bit, little endian, version
	binary.LittleEndian.PutUint16(b[16:], typ)
	binary.LittleEndian.PutUint16(b[18:], machine)
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint16(b[52:], 64) // ehsize
	if interp {
		binary.LittleEndian.PutUint64(b[32:], 64) // phoff
		binary.LittleEndian.PutUint16(b[54:], 56) // phentsize
		binary.LittleEndian.PutUint16(b[56:], 1)  // phnum
		ph := make([]byte, 56)
		binary.LittleEndian.PutUint32(ph[0:], 3) // PT_INTERP
		b = append(b, ph...)
	}
	return b
}

func peFile(machine uint16, dll bool) []byte {
	b := make([]byte, 0x40)
	b[0], b[1] = 'M', 'Z'
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	b = append(b, 'P', 'E', 0, 0)
	coff := make([]byte, 20)
	binary.LittleEndian.PutUint16(coff[0:], machine)
	ch := uint16(0x0002) // executable image
	if dll {
		ch |= 0x2000
	}
	binary.LittleEndian.PutUint16(coff[18:], ch)
	b = append(b, coff...)
	return append(b, make([]byte, 512)...)
}

func machoFile(cpu uint32, typ uint32) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], 0xfeedfacf)
	binary.LittleEndian.PutUint32(b[4:], cpu)
	binary.LittleEndian.PutUint32(b[12:], typ)
	return b
}

func write(t *testing.T, dir, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func familyPkg() *config.Package {
	return &config.Package{Name: "cli", Kind: config.KindNPM, NPM: "@acme/cli", Build: config.BuildBundledCLI, Targets: []config.Target{
		{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "x86_64-unknown-linux-musl"},
		{Triple: "aarch64-apple-darwin"}, {Triple: "x86_64-pc-windows-msvc"},
	}}
}

func TestMembers(t *testing.T) {
	ms, err := Members(familyPkg())
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, m := range ms {
		got = append(got, m.Name+" "+m.Key()+" "+m.Artifact)
	}
	want := []string{
		"@acme/cli-x86_64-unknown-linux-gnu linux-x64-gnu cli-x86_64-unknown-linux-gnu",
		"@acme/cli-x86_64-unknown-linux-musl linux-x64-musl cli-x86_64-unknown-linux-musl",
		"@acme/cli-aarch64-apple-darwin darwin-arm64 cli-aarch64-apple-darwin",
		"@acme/cli-x86_64-pc-windows-msvc win32-x64 cli-x86_64-pc-windows-msvc",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("members:\n%s", strings.Join(got, "\n"))
	}
	bad := familyPkg()
	bad.Targets = append(bad.Targets, config.Target{Triple: "sparc64-unknown-linux-gnu"})
	if _, err := Members(bad); err == nil {
		t.Fatal("an unmappable triple must be an error")
	}
}

func TestCheckPayload(t *testing.T) {
	dir := t.TempDir()
	ms, _ := Members(familyPkg())
	linux, musl, mac, win := ms[0], ms[1], ms[2], ms[3]
	cases := []struct {
		name  string
		data  []byte
		build string
		m     Member
		ok    bool
	}{
		{"linux x64 exe", elfFile(t, uint16(62), 2, false), config.BuildBundledCLI, linux, true},
		{"linux pie exe", elfFile(t, uint16(62), 3, true), config.BuildBundledCLI, musl, true},
		{"arm64 elf in x64 slot", elfFile(t, uint16(183), 2, false), config.BuildBundledCLI, linux, false},
		{"windows exe in linux slot", peFile(0x8664, false), config.BuildBundledCLI, linux, false},
		{"windows x64 exe", peFile(0x8664, false), config.BuildBundledCLI, win, true},
		{"darwin arm64", machoFile(0x0100000c, 2), config.BuildBundledCLI, mac, true},
		{"darwin x64 in arm64 slot", machoFile(0x01000007, 2), config.BuildBundledCLI, mac, false},
		{"napi shared object", elfFile(t, uint16(62), 3, false), config.BuildNapi, linux, true},
		{"napi exe is refused", elfFile(t, uint16(62), 2, false), config.BuildNapi, linux, false},
		{"text file", []byte("#!/bin/sh\necho hi\n"), config.BuildBundledCLI, linux, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, dir, strings.Repeat("x", i+1), c.data, 0o755)
			err := CheckPayload(p, c.build, c.m)
			if (err == nil) != c.ok {
				t.Fatalf("CheckPayload = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestStage(t *testing.T) {
	dir := t.TempDir()
	ms, _ := Members(familyPkg())
	bin := write(t, dir, "art/acme", elfFile(t, 62, 2, false), 0o755)
	out := filepath.Join(dir, "stage")
	if err := Stage(ms[0], config.BuildBundledCLI, bin, out, "1.2.3", map[string]any{"license": "MIT"}); err != nil {
		t.Fatal(err)
	}
	var pj map[string]any
	data, _ := os.ReadFile(filepath.Join(out, "package.json"))
	if err := json.Unmarshal(data, &pj); err != nil {
		t.Fatal(err)
	}
	if pj["name"] != "@acme/cli-x86_64-unknown-linux-gnu" || pj["version"] != "1.2.3" || pj["main"] != "acme" || pj["license"] != "MIT" {
		t.Fatalf("package.json = %s", data)
	}
	if l := pj["libc"].([]any); l[0] != "glibc" {
		t.Fatalf("libc = %v", l)
	}
	fi, err := os.Stat(filepath.Join(out, "acme"))
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("binary must keep its executable bit: %v %v", fi, err)
	}
	// Wrong architecture is refused before anything is staged.
	arm := write(t, dir, "art2/acme", elfFile(t, 183, 2, false), 0o755)
	if err := Stage(ms[0], config.BuildBundledCLI, arm, filepath.Join(dir, "stage2"), "1.2.3", nil); err == nil {
		t.Fatal("wrong-architecture payload must be refused")
	}
	if _, err := os.Stat(filepath.Join(dir, "stage2")); err == nil {
		t.Fatal("nothing may be staged for a refused payload")
	}
}

// The launcher really runs under Node: it resolves the installed member,
// passes arguments and the exit code through, and names the missing package.
func TestLauncherUnderNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("fixture is for linux/x64")
	}
	dir := t.TempDir()
	ms, _ := Members(familyPkg())
	launcher := write(t, dir, "node_modules/@acme/cli/bin/acme.js", []byte(Launcher("acme", "acme", ms)), 0o755)
	run := func() (string, int) {
		cmd := exec.Command(node, launcher, "one", "two words")
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run()
	if code != 1 || !strings.Contains(out, "@acme/cli-x86_64-unknown-linux-") || !strings.Contains(out, "not installed") {
		t.Fatalf("missing member: code %d, output %q", code, out)
	}
	for _, m := range ms[:2] { // glibc and musl members: the launcher picks by libc
		write(t, dir, "node_modules/"+m.Name+"/package.json", []byte(`{"name":"`+m.Name+`","version":"1.0.0"}`), 0o644)
		write(t, dir, "node_modules/"+m.Name+"/acme", []byte("#!/bin/sh\necho \""+m.Key()+":$1:$2\"\nexit 7\n"), 0o755)
	}
	out, code = run()
	if code != 7 || !strings.Contains(out, ":one:two words") {
		t.Fatalf("installed member: code %d, output %q", code, out)
	}
}

func TestStandInPassesItsOwnCheck(t *testing.T) {
	dir := t.TempDir()
	ms, _ := Members(familyPkg())
	for i, m := range ms {
		for _, build := range []string{config.BuildBundledCLI, config.BuildNapi} {
			p := write(t, dir, m.Key()+build+strings.Repeat("_", i), StandIn(m, build), 0o755)
			if err := CheckPayload(p, build, m); err != nil {
				t.Errorf("%s %s: %v", m.Name, build, err)
			}
			// ...and is refused in any other member's slot.
			other := ms[(i+2)%len(ms)]
			if other.OS != m.OS || other.CPU != m.CPU {
				if err := CheckPayload(p, build, other); err == nil {
					t.Errorf("%s stand-in accepted for %s", m.Name, other.Name)
				}
			}
		}
	}
}

// Families as they exist: every os/cpu npm accepts, and member names that
// real families already publish under.
func TestMembersEveryPlatformAndMemberName(t *testing.T) {
	p := &config.Package{Name: "biome", Kind: config.KindNPM, NPM: "@biomejs/biome", Build: config.BuildBundledCLI,
		MemberName: "@biomejs/cli-{os}-{cpu}{libc}", Targets: []config.Target{
			{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "x86_64-unknown-linux-musl"}, {Triple: "aarch64-apple-darwin"},
			{Triple: "x86_64-pc-windows-msvc"}, {Triple: "aarch64-linux-android"}, {Triple: "x86_64-unknown-freebsd"},
			{Triple: "riscv64gc-unknown-linux-gnu"}, {Triple: "s390x-unknown-linux-gnu"}, {Triple: "powerpc64le-unknown-linux-gnu"},
			{Triple: "wasm32-wasip1-threads"}, {Triple: "universal-apple-darwin"},
		}}
	ms, err := Members(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name)
	}
	want := "@biomejs/cli-linux-x64 @biomejs/cli-linux-x64-musl @biomejs/cli-darwin-arm64 @biomejs/cli-win32-x64 @biomejs/cli-android-arm64 @biomejs/cli-freebsd-x64 @biomejs/cli-linux-riscv64 @biomejs/cli-linux-s390x @biomejs/cli-linux-ppc64 @biomejs/cli-wasi-wasm32 @biomejs/cli-darwin-universal"
	if strings.Join(got, " ") != want {
		t.Fatalf("names:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	napi := &config.Package{Name: "tok", Kind: config.KindNPM, NPM: "tokenizers", Build: config.BuildNapi,
		MemberName: "{npmname}-{os}-{cpu}{abi}", Targets: []config.Target{{Triple: "aarch64-linux-android"}, {Triple: "armv7-linux-androideabi"}, {Triple: "x86_64-unknown-linux-gnu"}}}
	ms, err = Members(napi)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, m := range ms {
		got = append(got, m.Name)
	}
	if strings.Join(got, " ") != "tokenizers-android-arm64 tokenizers-android-arm-eabi tokenizers-linux-x64-gnu" {
		t.Fatalf("napi names: %v", got)
	}
	dup := &config.Package{Name: "x", Kind: config.KindNPM, NPM: "x", Build: config.BuildNapi, MemberName: "x-{os}-{cpu}",
		Targets: []config.Target{{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "x86_64-unknown-linux-musl"}}}
	if _, err := Members(dup); err == nil || !strings.Contains(err.Error(), "{libc}") {
		t.Fatalf("err = %v", err)
	}
}
