package platform

import (
	"strings"
	"testing"
)

func TestNPM(t *testing.T) {
	tests := []struct {
		triple, os, cpu, libc string
	}{
		{"x86_64-unknown-linux-gnu", "linux", "x64", "glibc"},
		{"aarch64-unknown-linux-gnu", "linux", "arm64", "glibc"},
		{"x86_64-unknown-linux-musl", "linux", "x64", "musl"},
		{"aarch64-unknown-linux-musl", "linux", "arm64", "musl"},
		{"armv7-unknown-linux-gnueabihf", "linux", "arm", "glibc"},
		{"armv7-unknown-linux-musleabihf", "linux", "arm", "musl"},
		{"i686-unknown-linux-gnu", "linux", "ia32", "glibc"},
		{"aarch64-apple-darwin", "darwin", "arm64", ""},
		{"x86_64-apple-darwin", "darwin", "x64", ""},
		{"x86_64-pc-windows-msvc", "win32", "x64", ""},
		{"aarch64-pc-windows-msvc", "win32", "arm64", ""},
		{"i686-pc-windows-msvc", "win32", "ia32", ""},
		{"x86_64-pc-windows-gnu", "win32", "x64", ""},
		{"linux-x64-gnu", "linux", "x64", "glibc"},
		{"linux-arm64-musl", "linux", "arm64", "musl"},
		{"linux-arm-gnueabihf", "linux", "arm", "glibc"},
		{"darwin-arm64", "darwin", "arm64", ""},
		{"darwin-x64", "darwin", "x64", ""},
		{"win32-x64-msvc", "win32", "x64", ""},
		{"win32-ia32-msvc", "win32", "ia32", ""},
		{"linux-x64", "linux", "x64", ""},
		{"X86_64-Unknown-Linux-GNU", "linux", "x64", "glibc"},
		// Every os/cpu Node reports (npm matches os/cpu against them).
		{"aarch64-linux-android", "android", "arm64", ""},
		{"armv7-linux-androideabi", "android", "arm", ""},
		{"android-arm64", "android", "arm64", ""},
		{"android-arm-eabi", "android", "arm", ""},
		{"x86_64-unknown-freebsd", "freebsd", "x64", ""},
		{"freebsd-x64", "freebsd", "x64", ""},
		{"x86_64-unknown-openbsd", "openbsd", "x64", ""},
		{"x86_64-pc-solaris", "sunos", "x64", ""},
		{"powerpc64-ibm-aix", "aix", "ppc64", ""},
		{"riscv64gc-unknown-linux-gnu", "linux", "riscv64", "glibc"},
		{"linux-riscv64-gnu", "linux", "riscv64", "glibc"},
		{"s390x-unknown-linux-gnu", "linux", "s390x", "glibc"},
		{"powerpc64le-unknown-linux-gnu", "linux", "ppc64", "glibc"},
		{"linux-ppc64-gnu", "linux", "ppc64", "glibc"},
		{"loongarch64-unknown-linux-gnu", "linux", "loong64", "glibc"},
		{"mips64el-unknown-linux-gnuabi64", "linux", "mips64el", "glibc"},
		{"wasm32-wasip1-threads", "", "wasm32", ""},
		{"wasm32-wasi-preview1-threads", "", "wasm32", ""},
		{"wasm32-wasi", "", "wasm32", ""},
		{"universal-apple-darwin", "darwin", "universal", ""},
		{"darwin-universal", "darwin", "universal", ""},
		{"aarch64-pc-windows-gnullvm", "win32", "arm64", ""},
	}
	for _, tt := range tests {
		os, cpu, libc, err := NPM(tt.triple)
		if err != nil {
			t.Errorf("NPM(%q): %v", tt.triple, err)
			continue
		}
		if os != tt.os || cpu != tt.cpu || libc != tt.libc {
			t.Errorf("NPM(%q) = %q %q %q, want %q %q %q", tt.triple, os, cpu, libc, tt.os, tt.cpu, tt.libc)
		}
	}
}

func TestNPMErrors(t *testing.T) {
	tests := []struct{ triple, want string }{
		{"", "empty"},
		{"wasm32-unknown-unknown", `WASI`},
		{"aarch64-apple-ios", `"ios"`},
		{"x86_64-unknown", "no operating system"},
		{"linux-gnu", "no cpu"},
		{"universal-unknown-linux-gnu", "only built for darwin"},
		{"x86_64--linux", "empty component"},
		{"x86_64-aarch64-linux", "two cpu"},
		{"x86_64-apple-darwin-msvc", "windows ABI"},
		{"sparc64-unknown-linux-gnu", `"sparc64"`},
	}
	for _, tt := range tests {
		_, _, _, err := NPM(tt.triple)
		if err == nil {
			t.Errorf("NPM(%q): no error", tt.triple)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NPM(%q) error %q, want it to mention %s", tt.triple, err, tt.want)
		}
	}
}

func TestRunsOn(t *testing.T) {
	tests := map[string]string{
		"x86_64-unknown-linux-gnu":      "ubuntu-latest",
		"aarch64-unknown-linux-gnu":     "ubuntu-24.04-arm",
		"aarch64-unknown-linux-musl":    "ubuntu-24.04-arm",
		"linux-arm64-gnu":               "ubuntu-24.04-arm",
		"aarch64-apple-darwin":          "macos-latest",
		"x86_64-apple-darwin":           "macos-latest",
		"darwin-arm64":                  "macos-latest",
		"x86_64-pc-windows-msvc":        "windows-latest",
		"aarch64-pc-windows-msvc":       "windows-latest",
		"win32-x64-msvc":                "windows-latest",
		"noarch":                        "ubuntu-latest",
		"armv7-unknown-linux-gnueabihf": "ubuntu-latest",
	}
	for triple, want := range tests {
		if got := RunsOn(triple); got != want {
			t.Errorf("RunsOn(%q) = %q, want %q", triple, got, want)
		}
	}
}
