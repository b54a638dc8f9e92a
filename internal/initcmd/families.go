package initcmd

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// memberInfo is a package.json that declares one platform (os and cpu).
type memberInfo struct {
	os, cpu, libc string
}

func readMemberInfo(root, rel string) (memberInfo, bool) {
	ni, err := readNPMInfo(filepath.Join(root, filepath.FromSlash(rel), "package.json"))
	if err != nil {
		return memberInfo{}, false
	}
	one := func(k string) string {
		l, _ := ni.Raw[k].([]any)
		if len(l) != 1 {
			return ""
		}
		s, _ := l[0].(string)
		return s
	}
	m := memberInfo{os: one("os"), cpu: one("cpu"), libc: one("libc")}
	return m, m.cpu != "" && (m.os != "" || m.cpu == platform.CPUWasm32)
}

// tripleFor is the Rust target triple for an npm platform.
func tripleFor(m memberInfo) string {
	arch := map[string]string{"x64": "x86_64", "arm64": "aarch64", "ia32": "i686", "arm": "armv7", "riscv64": "riscv64gc",
		"s390x": "s390x", "ppc64": "powerpc64le", "loong64": "loongarch64", "wasm32": "wasm32"}[m.cpu]
	if arch == "" {
		return ""
	}
	switch m.os {
	case "linux":
		abi := "gnu"
		if m.libc == platform.LibcMusl {
			abi = "musl"
		}
		if m.cpu == "arm" {
			abi += "eabihf"
		}
		return arch + "-unknown-linux-" + abi
	case "darwin":
		return arch + "-apple-darwin"
	case "win32":
		return arch + "-pc-windows-msvc"
	case "android":
		if m.cpu == "arm" {
			return "armv7-linux-androideabi"
		}
		return arch + "-linux-android"
	case "freebsd", "openbsd", "netbsd":
		return arch + "-unknown-" + m.os
	case "":
		if m.cpu == "wasm32" {
			return "wasm32-wasip1-threads"
		}
	}
	return ""
}

// linkFamilies finds npm CLIs with per-platform packages (biome's
// @biomejs/biome with @biomejs/cli-linux-x64 and friends as
// optionalDependencies): the platform packages are published with the
// family, so they are left out as packages of their own, and the top-level
// package becomes build = "bundled-cli" with one target per platform and a
// member_name that reproduces their published names.
func linkFamilies(root string, found []Found, skipped []Skipped) ([]Found, []Skipped) {
	byName := map[string]int{}
	for i, f := range found {
		if f.Kind == config.KindNPM {
			byName[f.RegistryName] = i
		}
	}
	drop := map[int]bool{}
	for i := range found {
		f := &found[i]
		if f.Kind != config.KindNPM || f.Build == config.BuildNapi {
			continue
		}
		var members []int
		for _, d := range f.deps {
			if d.Kind != manifest.DepOptional {
				continue
			}
			j, ok := byName[d.Name]
			if !ok || j == i {
				continue
			}
			if _, ok := readMemberInfo(root, found[j].Path); ok {
				members = append(members, j)
			}
		}
		if len(members) < 2 {
			continue
		}
		sort.Ints(members)
		var targets []string
		tmpl := ""
		ok := true
		for _, j := range members {
			m, _ := readMemberInfo(root, found[j].Path)
			tr := tripleFor(m)
			if tr == "" {
				ok = false
				break
			}
			t := memberTemplate(found[j].RegistryName, f.RegistryName, tr, m)
			if t == "" || (tmpl != "" && t != tmpl) {
				ok = false
				break
			}
			tmpl = t
			targets = append(targets, tr)
		}
		if !ok || tmpl == "" {
			continue
		}
		f.Build = config.BuildBundledCLI
		f.Targets = targets
		f.MemberName = tmpl
		for _, j := range members {
			drop[j] = true
			skipped = append(skipped, Skipped{found[j].Path + "/package.json", "a platform package of the family " + f.RegistryName + " (published with it, as " + tmpl + ")"})
		}
	}
	if len(drop) == 0 {
		return found, skipped
	}
	// depends_on names may point at dropped members: relink after.
	var out []Found
	for i, f := range found {
		if !drop[i] {
			f.DependsOn = nil
			out = append(out, f)
		}
	}
	return out, skipped
}

// memberTemplate turns a member's published name into a member_name
// template (npm name, os, cpu and libc or napi ABI suffix replaced by their
// placeholders) and checks that it renders the name back.
func memberTemplate(name, npmName, triple string, m memberInfo) string {
	osName, cpu, libc, err := platform.NPM(triple)
	if err != nil {
		return ""
	}
	mem := family.Member{Triple: triple, OS: osName, CPU: cpu, Libc: libc}
	base := name
	if strings.HasPrefix(base, npmName+"-") {
		base = "{npmname}" + base[len(npmName):]
	}
	osWord := m.os
	if osWord == "" {
		osWord = "wasi"
	}
	for _, style := range []string{"{libc}", "{abi}"} {
		t := base
		switch style {
		case "{libc}":
			t = strings.TrimSuffix(t, "-musl") + style
		case "{abi}":
			for _, suf := range []string{"-gnueabihf", "-musleabihf", "-gnu", "-musl", "-msvc", "-eabi"} {
				if strings.HasSuffix(t, suf) {
					t = strings.TrimSuffix(t, suf)
					break
				}
			}
			t += style
		}
		i := strings.LastIndex(t, "-"+osWord+"-"+m.cpu)
		if i < 0 {
			continue
		}
		t = t[:i] + "-{os}-{cpu}" + t[i+len("-"+osWord+"-"+m.cpu):]
		if family.MemberName(t, npmName, mem) == name {
			return t
		}
	}
	return ""
}
