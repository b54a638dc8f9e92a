// Package platform maps build target triples to what npm and GitHub Actions
// call the same platform (SPEC §9 and §3 "runs_on").
//
// Both Rust triples (x86_64-unknown-linux-gnu, aarch64-apple-darwin,
// x86_64-pc-windows-msvc) and napi-rs short forms (linux-x64-gnu,
// darwin-arm64, win32-x64-msvc) are understood.
package platform

import (
	"fmt"
	"strings"
)

// npm os values: Node's process.platform, which npm matches a package's
// `os` against (npm/cli: npm-install-checks' checkPlatform compares with
// process.platform).
const (
	OSLinux   = "linux"
	OSDarwin  = "darwin"
	OSWindows = "win32"
	OSAndroid = "android"
	OSFreeBSD = "freebsd"
	OSOpenBSD = "openbsd"
	OSNetBSD  = "netbsd"
	OSSunOS   = "sunos"
	OSAIX     = "aix"
	// OSNone: a WebAssembly (WASI) member runs on every os; its package
	// declares no `os`.
	OSNone = ""
)

// npm cpu values: Node's process.arch.
const (
	CPUX64     = "x64"
	CPUArm64   = "arm64"
	CPUArm     = "arm"
	CPUIA32    = "ia32"
	CPURiscv64 = "riscv64"
	CPUS390x   = "s390x"
	CPUPPC64   = "ppc64"
	CPULoong64 = "loong64"
	CPUWasm32  = "wasm32"
	// CPUUniversal is napi-rs's universal-apple-darwin (darwin-universal):
	// one binary for both x64 and arm64.
	CPUUniversal = "universal"
)

// npm libc values (linux only).
const (
	LibcGlibc = "glibc"
	LibcMusl  = "musl"
)

// NodeOSes and NodeCPUs are every value Node reports (and npm therefore
// accepts) for process.platform and process.arch.
var (
	NodeOSes = []string{"aix", "android", "darwin", "freebsd", "linux", "netbsd", "openbsd", "sunos", "win32", "cygwin", "haiku"}
	NodeCPUs = []string{"arm", "arm64", "ia32", "loong64", "mips", "mipsel", "mips64", "mips64el", "ppc", "ppc64", "riscv64", "s390", "s390x", "x64", "wasm32"}
)

// cpus maps triple components (Rust's and napi-rs's) to Node's arch.
var cpus = map[string]string{
	"x86_64": CPUX64, "x64": CPUX64, "amd64": CPUX64,
	"aarch64": CPUArm64, "arm64": CPUArm64,
	"armv7": CPUArm, "armv7l": CPUArm, "arm": CPUArm, "armv7a": CPUArm, "armv6": CPUArm, "thumbv7neon": CPUArm,
	"i686": CPUIA32, "i586": CPUIA32, "ia32": CPUIA32, "x86": CPUIA32,
	"riscv64gc": CPURiscv64, "riscv64": CPURiscv64,
	"s390x": CPUS390x,
	// Node reports ppc64 for both byte orders (there is no ppc64le arch).
	"powerpc64le": CPUPPC64, "powerpc64": CPUPPC64, "ppc64le": CPUPPC64, "ppc64": CPUPPC64,
	"powerpc": "ppc", "ppc": "ppc",
	"loongarch64": CPULoong64, "loong64": CPULoong64,
	"mips": "mips", "mipsel": "mipsel", "mips64": "mips64", "mips64el": "mips64el",
	"s390":      "s390",
	"wasm32":    CPUWasm32,
	"universal": CPUUniversal,
}

var oses = map[string]string{
	"linux": OSLinux, "darwin": OSDarwin, "macos": OSDarwin,
	"windows": OSWindows, "win32": OSWindows,
	"android": OSAndroid, "freebsd": OSFreeBSD, "openbsd": OSOpenBSD, "netbsd": OSNetBSD,
	"sunos": OSSunOS, "solaris": OSSunOS, "illumos": OSSunOS, "aix": OSAIX,
}

// vendors are Rust triple vendor fields that carry no platform information.
var vendors = map[string]bool{"unknown": true, "pc": true, "apple": true, "sun": true, "ibm": true}

// envs are ABI suffixes; the value is the npm libc they imply on linux.
var envs = map[string]string{
	"gnu": LibcGlibc, "gnueabihf": LibcGlibc, "gnueabi": LibcGlibc, "gnux32": LibcGlibc, "gnuabi64": LibcGlibc, "gnullvm": "",
	"musl": LibcMusl, "musleabihf": LibcMusl, "musleabi": LibcMusl,
	"msvc": "", "eabi": "", "eabihf": "", "androideabi": "",
	// WebAssembly: napi-rs's wasm32-wasi / wasm32-wasip1-threads targets.
	"wasi": "", "wasip1": "", "wasip2": "", "threads": "", "preview1": "",
}

// NPM returns npm's os, cpu and libc ("" when npm needs none) for triple, or
// an error naming what it could not map. WebAssembly targets have no os.
func NPM(triple string) (os, cpu, libc string, err error) {
	t := strings.ToLower(strings.TrimSpace(triple))
	if t == "" {
		return "", "", "", fmt.Errorf("empty target triple")
	}
	wasi := false
	for _, part := range strings.Split(t, "-") {
		switch {
		case part == "":
			return "", "", "", fmt.Errorf("target %q: empty component", triple)
		case cpus[part] != "":
			if cpu != "" {
				return "", "", "", fmt.Errorf("target %q: two cpu components", triple)
			}
			cpu = cpus[part]
		case oses[part] != "":
			// Android triples say linux too (aarch64-linux-android):
			// Node reports android.
			if (os == OSAndroid && part == "linux") || (os == OSLinux && part == "android") {
				os = OSAndroid
				continue
			}
			if os != "" && os != oses[part] {
				return "", "", "", fmt.Errorf("target %q: two operating systems", triple)
			}
			os = oses[part]
		case vendors[part]:
		case hasKey(envs, part):
			switch part {
			case "msvc":
				if os != "" && os != OSWindows {
					return "", "", "", fmt.Errorf("target %q: msvc is a windows ABI", triple)
				}
				os = OSWindows
			case "androideabi":
				os = OSAndroid
			}
			if lc := envs[part]; lc != "" {
				libc = lc
			}
			wasi = wasi || strings.HasPrefix(part, "wasi")
		default:
			return "", "", "", fmt.Errorf("target %q: %q is not a cpu, os or ABI npm can describe (npm os: %s; cpu: %s)", triple, part, strings.Join(NodeOSes, ", "), strings.Join(NodeCPUs, ", "))
		}
	}
	if cpu == CPUWasm32 {
		if !wasi {
			return "", "", "", fmt.Errorf("target %q: only WASI WebAssembly targets (wasm32-wasip1-threads, napi's wasm32-wasi) make an npm platform package", triple)
		}
		return OSNone, cpu, "", nil
	}
	if cpu == CPUUniversal && os == "" {
		os = OSDarwin
	}
	if os == "" {
		return "", "", "", fmt.Errorf("target %q: no operating system (expected one of %s, or windows/msvc)", triple, strings.Join(NodeOSes, ", "))
	}
	if cpu == "" {
		return "", "", "", fmt.Errorf("target %q: no cpu (expected x86_64/x64, aarch64/arm64, armv7, i686, riscv64gc, s390x, powerpc64le, loongarch64, wasm32)", triple)
	}
	if cpu == CPUUniversal && os != OSDarwin {
		return "", "", "", fmt.Errorf("target %q: a universal binary is only built for darwin", triple)
	}
	if os != OSLinux {
		libc = ""
	}
	return os, cpu, libc, nil
}

// NPMCPUs is the package.json `cpu` list for a member's cpu: a universal
// darwin binary runs on both x64 and arm64.
func NPMCPUs(cpu string) []string {
	if cpu == CPUUniversal {
		return []string{CPUX64, CPUArm64}
	}
	return []string{cpu}
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// RunsOn is the GitHub-hosted runner label that builds triple natively:
// darwin → macos-latest, windows/msvc → windows-latest, aarch64 linux →
// ubuntu-24.04-arm, anything else → ubuntu-latest.
func RunsOn(triple string) string {
	t := strings.ToLower(triple)
	parts := strings.Split(t, "-")
	has := func(words ...string) bool {
		for _, p := range parts {
			for _, w := range words {
				if p == w {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("darwin", "apple", "macos"):
		return "macos-latest"
	case has("windows", "win32", "msvc"):
		return "windows-latest"
	case has("aarch64", "arm64") && has("linux"):
		return "ubuntu-24.04-arm"
	}
	return "ubuntu-latest"
}
