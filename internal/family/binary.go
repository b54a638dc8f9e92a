package family

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"io"
	"os"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// BinaryInfo is what a payload's header says it is.
type BinaryInfo struct {
	OS     string // npm os: linux | darwin | win32
	CPU    string // npm cpu
	Shared bool   // a shared object / bundle / DLL (napi .node files are)
	Exec   bool   // an executable
}

// Inspect reads only the headers of path (a 2 GB file is not loaded).

// elfCPU maps an ELF machine to npm's cpu name (Node's process.arch).
var elfCPU = map[elf.Machine]string{
	elf.EM_X86_64:    platform.CPUX64,
	elf.EM_AARCH64:   platform.CPUArm64,
	elf.EM_ARM:       platform.CPUArm,
	elf.EM_386:       platform.CPUIA32,
	elf.EM_RISCV:     platform.CPURiscv64,
	elf.EM_S390:      platform.CPUS390x,
	elf.EM_PPC64:     platform.CPUPPC64,
	elf.EM_LOONGARCH: platform.CPULoong64,
}

func Inspect(path string) (*BinaryInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil {
		return nil, fmt.Errorf("%s: too short to be a binary", path)
	}
	switch {
	case string(magic) == "\x00asm":
		return &BinaryInfo{OS: platform.OSNone, CPU: platform.CPUWasm32, Shared: true, Exec: true}, nil
	case string(magic) == "\x7fELF":
		ef, err := elf.NewFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: bad ELF header: %w", path, err)
		}
		info := &BinaryInfo{OS: platform.OSLinux, Shared: ef.Type == elf.ET_DYN, Exec: ef.Type == elf.ET_EXEC || ef.Type == elf.ET_DYN}
		info.CPU = elfCPU[ef.Machine]
		if info.CPU == "" {
			info.CPU = ef.Machine.String()
		}
		// A PIE executable is ET_DYN too; an interpreter marks it executable.
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				info.Shared = false
			}
		}
		return info, nil
	case magic[0] == 'M' && magic[1] == 'Z':
		pf, err := pe.NewFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: bad PE header: %w", path, err)
		}
		info := &BinaryInfo{OS: platform.OSWindows}
		info.Shared = pf.Characteristics&pe.IMAGE_FILE_DLL != 0
		info.Exec = pf.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE != 0
		switch pf.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			info.CPU = platform.CPUX64
		case pe.IMAGE_FILE_MACHINE_ARM64:
			info.CPU = platform.CPUArm64
		case pe.IMAGE_FILE_MACHINE_I386:
			info.CPU = platform.CPUIA32
		case pe.IMAGE_FILE_MACHINE_ARMNT:
			info.CPU = platform.CPUArm
		default:
			info.CPU = fmt.Sprintf("machine %#x", pf.Machine)
		}
		return info, nil
	default:
		if ff, err := macho.NewFatFile(f); err == nil {
			// A universal binary: CheckPayload accepts it for any darwin member.
			info := &BinaryInfo{OS: platform.OSDarwin, Exec: true, CPU: platform.CPUUniversal}
			if len(ff.Arches) > 0 {
				info.Shared = ff.Arches[0].Type != macho.TypeExec
			}
			return info, nil
		}
		mf, err := macho.NewFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not an ELF, Mach-O or PE binary", path)
		}
		return &BinaryInfo{OS: platform.OSDarwin, CPU: machoCPU(mf.Cpu), Shared: mf.Type == macho.TypeDylib || mf.Type == macho.TypeBundle, Exec: mf.Type == macho.TypeExec}, nil
	}
}

func machoCPU(c macho.Cpu) string {
	switch c {
	case macho.CpuAmd64:
		return platform.CPUX64
	case macho.CpuArm64:
		return platform.CPUArm64
	case macho.Cpu386:
		return platform.CPUIA32
	case macho.CpuArm:
		return platform.CPUArm
	}
	return c.String()
}

// elfOS are the member operating systems whose binaries are ELF; the ELF
// header does not reliably say which (most leave OSABI at System V).
var elfOS = map[string]bool{platform.OSLinux: true, platform.OSAndroid: true, platform.OSFreeBSD: true,
	platform.OSOpenBSD: true, platform.OSNetBSD: true, platform.OSSunOS: true}

// CheckPayload refuses a payload built for another OS or CPU, or of the wrong
// kind (a napi .node must be a shared object; a bundled-cli binary an executable).
func CheckPayload(path, build string, m Member) error {
	info, err := Inspect(path)
	if err != nil {
		return diag.New(CodePayloadWrong, "%s (for %s) is not a native binary", path, m.Name).Wrap(err).
			WithHint("the build for %s must produce a binary for %s/%s", m.Triple, m.OS, m.CPU)
	}
	if m.OS == platform.OSAIX {
		return nil // XCOFF: not a format read here
	}
	osOK := info.OS == m.OS || (info.OS == platform.OSLinux && elfOS[m.OS])
	cpuOK := info.CPU == m.CPU || (info.CPU == platform.CPUUniversal && m.OS == platform.OSDarwin)
	if !osOK || !cpuOK {
		return diag.New(CodePayloadWrong, "%s is a %s/%s binary, but %s is for %s/%s", path, info.OS, info.CPU, m.Name, m.OS, m.CPU).
			WithHint("the artifact for target %s holds the wrong build; check the build matrix's target and runner", m.Triple)
	}
	if build == config.BuildNapi && !info.Shared {
		return diag.New(CodePayloadWrong, "%s is not a shared library; a napi .node file must be one", path)
	}
	if build == config.BuildBundledCLI && info.Shared && info.OS != platform.OSWindows {
		return diag.New(CodePayloadWrong, "%s is a shared library, not an executable", path)
	}
	return nil
}
