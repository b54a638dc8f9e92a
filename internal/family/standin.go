package family

import (
	"encoding/binary"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// StandIn returns the smallest file whose header says it is a payload for m:
// an ELF, Mach-O or PE header for m's OS and CPU, a shared object for napi and
// an executable for bundled-cli. Rehearsal uses it when no artifacts exist; it
// runs nowhere.
func StandIn(m Member, build string) []byte {
	shared := build == config.BuildNapi
	switch m.OS {
	case platform.OSDarwin:
		cpu := map[string]uint32{platform.CPUX64: 0x01000007, platform.CPUArm64: 0x0100000c, platform.CPUIA32: 7, platform.CPUArm: 12}[m.CPU]
		typ := uint32(2) // MH_EXECUTE
		if shared {
			typ = 8 // MH_BUNDLE
		}
		b := make([]byte, 32)
		binary.LittleEndian.PutUint32(b[0:], 0xfeedfacf)
		binary.LittleEndian.PutUint32(b[4:], cpu)
		binary.LittleEndian.PutUint32(b[12:], typ)
		return b
	case platform.OSWindows:
		machine := map[string]uint16{platform.CPUX64: 0x8664, platform.CPUArm64: 0xaa64, platform.CPUIA32: 0x14c, platform.CPUArm: 0x1c4}[m.CPU]
		b := make([]byte, 0x40)
		b[0], b[1] = 'M', 'Z'
		binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
		b = append(b, 'P', 'E', 0, 0)
		coff := make([]byte, 20)
		binary.LittleEndian.PutUint16(coff[0:], machine)
		ch := uint16(0x0002)
		if shared {
			ch |= 0x2000
		}
		binary.LittleEndian.PutUint16(coff[18:], ch)
		b = append(b, coff...)
		return append(b, make([]byte, 512)...)
	default:
		machine := map[string]uint16{platform.CPUX64: 62, platform.CPUArm64: 183, platform.CPUArm: 40, platform.CPUIA32: 3}[m.CPU]
		b := make([]byte, 64)
		copy(b, "\x7fELF")
		b[4], b[5], b[6] = 2, 1, 1
		typ := uint16(2) // ET_EXEC
		if shared {
			typ = 3 // ET_DYN
		}
		binary.LittleEndian.PutUint16(b[16:], typ)
		binary.LittleEndian.PutUint16(b[18:], machine)
		binary.LittleEndian.PutUint32(b[20:], 1)
		binary.LittleEndian.PutUint16(b[52:], 64)
		return b
	}
}
