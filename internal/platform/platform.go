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

// npm os values.
const (
	OSLinux   = "linux"
	OSDarwin  = "darwin"
	OSWindows = "win32"
)

// npm cpu values.
const (
	CPUX64   = "x64"
	CPUArm64 = "arm64"
	CPUArm   = "arm"
	CPUIA32  = "ia32"
)

// npm libc values (linux only).
const (
	LibcGlibc = "glibc"
	LibcMusl  = "musl"
)

var cpus = map[string]string{
	"x86_64": CPUX64, "x64": CPUX64, "amd64": CPUX64,
	"aarch64": CPUArm64, "arm64": CPUArm64,
	"armv7": CPUArm, "armv7l": CPUArm, "arm": CPUArm, "armv7a": CPUArm,
	"i686": CPUIA32, "i586": CPUIA32, "ia32": CPUIA32, "x86": CPUIA32,
}

var oses = map[string]string{
	"linux": OSLinux, "darwin": OSDarwin, "macos": OSDarwin,
	"windows": OSWindows, "win32": OSWindows,
}

// vendors are Rust triple vendor fields that carry no platform information.
var vendors = map[string]bool{"unknown": true, "pc": true, "apple": true}

// envs are ABI suffixes; the value is the npm libc they imply on linux.
var envs = map[string]string{
	"gnu": LibcGlibc, "gnueabihf": LibcGlibc, "gnueabi": LibcGlibc, "gnux32": LibcGlibc, "gnullvm": "",
	"musl": LibcMusl, "musleabihf": LibcMusl, "musleabi": LibcMusl,
	"msvc": "",
}

// NPM returns npm's os, cpu and libc ("" when npm needs none) for triple, or
// an error naming what it could not map.
func NPM(triple string) (os, cpu, libc string, err error) {
	t := strings.ToLower(strings.TrimSpace(triple))
	if t == "" {
		return "", "", "", fmt.Errorf("empty target triple")
	}
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
			if os != "" && os != oses[part] {
				return "", "", "", fmt.Errorf("target %q: two operating systems", triple)
			}
			os = oses[part]
		case vendors[part]:
		case hasKey(envs, part):
			if part == "msvc" {
				if os != "" && os != OSWindows {
					return "", "", "", fmt.Errorf("target %q: msvc is a windows ABI", triple)
				}
				os = OSWindows
			}
			if lc := envs[part]; lc != "" {
				libc = lc
			}
		default:
			return "", "", "", fmt.Errorf("target %q: %q is not a cpu, os or ABI npm can describe (npm os: linux, darwin, win32; cpu: x64, arm64, arm, ia32)", triple, part)
		}
	}
	if os == "" {
		return "", "", "", fmt.Errorf("target %q: no operating system (expected linux, darwin or windows/win32/msvc)", triple)
	}
	if cpu == "" {
		return "", "", "", fmt.Errorf("target %q: no cpu (expected x86_64/x64, aarch64/arm64, armv7 or i686)", triple)
	}
	if os != OSLinux {
		libc = ""
	}
	return os, cpu, libc, nil
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
