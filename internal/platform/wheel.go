package platform

import (
	"fmt"
	"strings"
)

// wheelArch is the architecture word wheels use for an npm cpu on an os.
func wheelArch(os, cpu string) []string {
	switch os {
	case OSLinux:
		return map[string][]string{CPUX64: {"x86_64"}, CPUArm64: {"aarch64"}, CPUIA32: {"i686"}, CPUArm: {"armv7l"},
			CPURiscv64: {"riscv64"}, CPUS390x: {"s390x"}, CPUPPC64: {"ppc64le", "ppc64"}, CPULoong64: {"loongarch64"}}[cpu]
	case OSDarwin:
		return map[string][]string{CPUX64: {"x86_64", "universal2", "intel"}, CPUArm64: {"arm64", "universal2"}, CPUUniversal: {"universal2"}}[cpu]
	case OSWindows:
		return map[string][]string{CPUX64: {"amd64"}, CPUArm64: {"arm64"}, CPUIA32: {"win32"}}[cpu]
	}
	return nil
}

// WheelFits reports whether a wheel's platform tag (possibly a compressed
// set like `manylinux_2_17_x86_64.manylinux2014_x86_64`) runs on triple:
// manylinux for gnu, musllinux for musl, macosx for darwin (universal2
// counts for both CPUs), win_* for Windows. A pure `any` wheel fits no
// target: a maturin target row must hold that target's native wheel.
func WheelFits(triple, platformTag string) (bool, error) {
	os, cpu, libc, err := NPM(triple)
	if err != nil {
		return false, err
	}
	arches := wheelArch(os, cpu)
	for _, tag := range strings.Split(platformTag, ".") {
		for _, arch := range arches {
			switch os {
			case OSLinux:
				prefix := "manylinux"
				if libc == LibcMusl {
					prefix = "musllinux"
				}
				if strings.HasPrefix(tag, prefix) && strings.HasSuffix(tag, "_"+arch) {
					return true, nil
				}
			case OSDarwin:
				if strings.HasPrefix(tag, "macosx_") && strings.HasSuffix(tag, "_"+arch) {
					return true, nil
				}
			case OSWindows:
				if tag == "win_"+arch || (arch == "win32" && tag == "win32") {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// WheelExpect describes the platform tags that fit triple, for messages.
func WheelExpect(triple string) string {
	os, cpu, libc, err := NPM(triple)
	if err != nil {
		return "?"
	}
	arch := strings.Join(wheelArch(os, cpu), "|")
	switch os {
	case OSLinux:
		if libc == LibcMusl {
			return fmt.Sprintf("musllinux_*_%s", arch)
		}
		return fmt.Sprintf("manylinux*_%s", arch)
	case OSDarwin:
		return fmt.Sprintf("macosx_*_%s", arch)
	}
	return "win_" + arch
}
