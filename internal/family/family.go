// Package family builds npm platform package families (SPEC §9): one package
// per target ({npmname}-{triple}, scope kept) holding a native payload, and a
// top-level package whose optionalDependencies name every member. For
// bundled-cli it also writes the Node launcher the top-level `bin` runs.
package family

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/fsx"
	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// Codes raised here.
const (
	CodePayloadMissing = "PIOT_FAMILY_PAYLOAD_MISSING"
	CodePayloadWrong   = "PIOT_FAMILY_PAYLOAD_WRONG_PLATFORM"
)

// Member is one platform package of a family.
type Member struct {
	Triple string `json:"triple"`
	Name   string `json:"name"` // {npmname}-{triple}, or the package's member_name
	OS     string `json:"os"`   // "" for a WebAssembly (WASI) member, which runs anywhere
	CPU    string `json:"cpu"`
	Libc   string `json:"libc,omitempty"`
	// Artifact is the artifact folder name: {config name}-{triple}.
	Artifact string `json:"artifact"`
}

// Key is the launcher's lookup key: os-cpu[-libc], in Node's words
// (process.platform, process.arch; gnu|musl).
func (m Member) Key() string {
	if m.OS == platform.OSNone {
		return m.CPU // wasm32: the launcher's last resort, not a platform
	}
	k := m.OS + "-" + m.CPU
	switch m.Libc {
	case platform.LibcGlibc:
		k += "-gnu"
	case platform.LibcMusl:
		k += "-musl"
	}
	return k
}

// Members lists the family of an npm napi/bundled-cli package, in target order.
func Members(p *config.Package) ([]Member, error) {
	var out []Member
	for _, t := range p.Targets {
		osName, cpu, libc, err := platform.NPM(t.Triple)
		if err != nil {
			return nil, err
		}
		m := Member{
			Triple: t.Triple, Name: p.RegistryName() + "-" + t.Triple,
			OS: osName, CPU: cpu, Libc: libc, Artifact: p.Name + "-" + t.Triple,
		}
		if p.MemberName != "" {
			m.Name = MemberName(p.MemberName, p.RegistryName(), m)
		}
		out = append(out, m)
	}
	seen := map[string]string{}
	for _, m := range out {
		if other, dup := seen[m.Name]; dup {
			return nil, fmt.Errorf("member_name %q gives targets %s and %s the same package name %s; add {libc} or {triple}", p.MemberName, other, m.Triple, m.Name)
		}
		seen[m.Name] = m.Triple
	}
	return out, nil
}

// MemberName renders a member_name template for m: {os} and {cpu} in npm's
// words ("wasm32" has os "wasi" in napi-rs's names), {libc} as "-musl" or
// "-gnu" when it tells two linux members apart... as real families spell it:
// biome's @biomejs/cli-linux-x64 (glibc) and @biomejs/cli-linux-x64-musl, so
// {libc} is "-musl" for musl and "" otherwise; {abi} is the napi-rs ABI
// suffix ("-gnu", "-musl", "-msvc", "-eabi", …, "" when none); {triple} as
// written; {npmname} the package's npm name.
func MemberName(tmpl, npmName string, m Member) string {
	osName := m.OS
	if osName == platform.OSNone {
		osName = "wasi"
	}
	libc := ""
	if m.Libc == platform.LibcMusl {
		libc = "-musl"
	}
	return strings.NewReplacer("{os}", osName, "{cpu}", m.CPU, "{libc}", libc, "{abi}", abiOf(m.Triple),
		"{triple}", m.Triple, "{npmname}", npmName).Replace(tmpl)
}

// abiOf is the ABI suffix napi-rs puts in its platform package names.
func abiOf(triple string) string {
	t := strings.ToLower(triple)
	for _, abi := range []string{"gnueabihf", "musleabihf", "androideabi", "gnu", "musl", "msvc", "eabi"} {
		if strings.HasSuffix(t, "-"+abi) {
			if abi == "androideabi" {
				abi = "eabi"
			}
			return "-" + abi
		}
	}
	return ""
}

// OptionalDependencies is the top-level package's optionalDependencies: every
// member at version.
func OptionalDependencies(members []Member, version string) map[string]string {
	deps := map[string]string{}
	for _, m := range members {
		deps[m.Name] = version
	}
	return deps
}

// Payload finds the member's payload file in dir: for napi the single `.node`
// file; for bundled-cli the binary named bin (bin.exe on Windows), or the only
// regular file.
func Payload(dir, build, bin string, m Member) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", diag.New(CodePayloadMissing, "artifact folder %s for %s is missing", dir, m.Name).
			WithHint("the build job for target %s must upload its %s into artifacts/%s/", m.Triple, payloadWord(build), m.Artifact)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, e.Name())
		}
	}
	if build == config.BuildNapi {
		var nodes []string
		for _, f := range files {
			if strings.HasSuffix(f, ".node") {
				nodes = append(nodes, f)
			}
		}
		if len(nodes) != 1 {
			return "", diag.New(CodePayloadMissing, "%s: want exactly one .node file for %s, found %d", dir, m.Name, len(nodes))
		}
		return filepath.Join(dir, nodes[0]), nil
	}
	want := bin
	if m.OS == platform.OSWindows {
		want += ".exe"
	}
	for _, f := range files {
		if f == want {
			return filepath.Join(dir, f), nil
		}
	}
	if len(files) == 1 {
		return filepath.Join(dir, files[0]), nil
	}
	return "", diag.New(CodePayloadMissing, "%s: no binary %q for %s (found %s)", dir, want, m.Name, strings.Join(files, ", "))
}

func payloadWord(build string) string {
	if build == config.BuildNapi {
		return ".node file"
	}
	return "binary"
}

// Stage writes the member's package into outDir: package.json (name, version,
// os, cpu, libc, files, main) and the payload with its mode kept (executable
// bit for binaries). It checks the payload's format first.
func Stage(m Member, build, payload, outDir, version string, extra map[string]any) error {
	if err := CheckPayload(payload, build, m); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	base := filepath.Base(payload)
	if err := fsx.CopyFile(payload, filepath.Join(outDir, base)); err != nil {
		return err
	}
	pj := map[string]any{
		"name":    m.Name,
		"version": version,
		"cpu":     platform.NPMCPUs(m.CPU),
		"files":   []string{base},
		"main":    base,
	}
	if m.OS != platform.OSNone {
		pj["os"] = []string{m.OS}
	}
	if m.Libc != "" {
		pj["libc"] = []string{m.Libc}
	}
	if build == config.BuildNapi {
		pj["main"] = base
	}
	for k, v := range extra {
		if _, taken := pj[k]; !taken {
			pj[k] = v
		}
	}
	data, err := json.MarshalIndent(pj, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, "package.json"), append(data, '\n'), 0o644)
}

// LauncherPackages maps launcher keys to member names, sorted for stable output.
func LauncherPackages(members []Member) [][2]string {
	var out [][2]string
	for _, m := range members {
		out = append(out, [2]string{m.Key(), m.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Launcher renders the Node script the top-level package's `bin` runs: it
// picks the member for this platform (glibc vs musl on Linux), and runs its
// binary with the arguments, passing the exit code and signals through.
func Launcher(cmd, binFile string, members []Member) string {
	var b strings.Builder
	b.WriteString("{\n")
	for i, kv := range LauncherPackages(members) {
		sep := ","
		if i == len(members)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %q: %q%s\n", kv[0], kv[1], sep)
	}
	b.WriteString("}")
	return fmt.Sprintf(launcherTemplate, cmd, b.String(), binFile)
}

const launcherTemplate = `#!/usr/bin/env node
// Runs the prebuilt %[1]s binary from the platform package that npm installed
// as an optional dependency. Generated by putitoutthere.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");

const PACKAGES = %[2]s;
const BIN = %[3]q;

function libc() {
  if (process.platform !== "linux") return "";
  try {
    const report = process.report && process.report.getReport();
    if (report && report.header && report.header.glibcVersionRuntime) return "gnu";
  } catch (_) {}
  try {
    if (fs.readFileSync("/usr/bin/ldd", "utf8").includes("musl")) return "musl";
  } catch (_) {}
  return fs.existsSync("/etc/alpine-release") ? "musl" : "gnu";
}

const base = process.platform + "-" + process.arch;
const l = libc();
const key = l ? base + "-" + l : base;
const pkg = PACKAGES[key] || PACKAGES[base];
if (!pkg) {
  console.error("%[1]s: no prebuilt binary for " + key + "; available: " + Object.keys(PACKAGES).join(", "));
  process.exit(1);
}
const file = BIN + (process.platform === "win32" ? ".exe" : "");
let bin;
try {
  bin = require.resolve(pkg + "/" + file);
} catch (_) {
  console.error("%[1]s: the platform package " + pkg + " is not installed. It is an optional dependency: reinstall without --omit=optional / --no-optional.");
  process.exit(1);
}
const child = spawn(bin, process.argv.slice(2), { stdio: "inherit", windowsHide: false });
const forward = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGBREAK"];
for (const sig of forward) {
  try { process.on(sig, () => { try { child.kill(sig); } catch (_) {} }); } catch (_) {}
}
child.on("error", (err) => {
  console.error("%[1]s: could not run " + bin + ": " + err.message);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    for (const sig of forward) { try { process.removeAllListeners(sig); } catch (_) {} }
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code === null ? 1 : code);
});
`
