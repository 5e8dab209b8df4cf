// Package machofat joins thin Mach-O programs into one universal ("fat")
// file, as lipo -create does, so that one macOS package serves Apple
// silicon and Intel Macs alike.
//
// A universal file is a big-endian header (magic 0xcafebabe, the number of
// slices), one record per slice (CPU type and subtype, offset, size,
// alignment as a power of two), then each thin program unchanged at its
// aligned offset. The slices are not modified, so a code signature inside
// one (the Go linker's ad-hoc signature on arm64, or a Developer ID one)
// stays valid.
package machofat

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
	"slices"
)

// Slice is one thin program to join.
type Slice struct {
	Name string // for error messages
	Data []byte
}

// align is the power of two a slice's offset is rounded to: the page size
// of the CPU (16 KiB on arm64, 4 KiB on x86_64), as lipo chooses it.
func align(cpu macho.Cpu) uint32 {
	if cpu == macho.CpuAmd64 || cpu == macho.Cpu386 {
		return 12
	}
	return 14
}

// Join returns the universal file holding the slices, which must be thin
// Mach-O executables for different CPUs. Like lipo, it orders them by
// alignment, then CPU type (x86_64 before arm64).
func Join(in ...Slice) ([]byte, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("machofat: a universal file needs two or more programs, got %d", len(in))
	}
	type part struct {
		cpu    macho.Cpu
		subcpu uint32
		align  uint32
		data   []byte
	}
	parts := make([]part, 0, len(in))
	for _, s := range in {
		f, err := macho.NewFile(bytes.NewReader(s.Data))
		if err != nil {
			return nil, fmt.Errorf("machofat: %s is not a thin Mach-O program: %v", s.Name, err)
		}
		if f.Type != macho.TypeExec {
			return nil, fmt.Errorf("machofat: %s is a Mach-O %v, not an executable", s.Name, f.Type)
		}
		for _, p := range parts {
			if p.cpu == f.Cpu {
				return nil, fmt.Errorf("machofat: two programs for %v", f.Cpu)
			}
		}
		parts = append(parts, part{f.Cpu, f.SubCpu, align(f.Cpu), s.Data})
	}
	slices.SortStableFunc(parts, func(a, b part) int {
		if a.align != b.align {
			return int(a.align) - int(b.align)
		}
		return int(a.cpu) - int(b.cpu)
	})
	out := binary.BigEndian.AppendUint32(nil, macho.MagicFat)
	out = binary.BigEndian.AppendUint32(out, uint32(len(parts)))
	off := uint64(8 + 20*len(parts))
	offsets := make([]uint64, len(parts))
	for i, p := range parts {
		a := uint64(1) << p.align
		off = (off + a - 1) &^ (a - 1)
		offsets[i] = off
		off += uint64(len(p.data))
	}
	if off > 1<<32-1 {
		return nil, fmt.Errorf("machofat: %d bytes is more than a (32-bit) universal file holds", off)
	}
	for i, p := range parts {
		for _, v := range []uint32{uint32(p.cpu), p.subcpu, uint32(offsets[i]), uint32(len(p.data)), p.align} {
			out = binary.BigEndian.AppendUint32(out, v)
		}
	}
	for i, p := range parts {
		out = append(out, make([]byte, int(offsets[i])-len(out))...)
		out = append(out, p.data...)
	}
	return out, nil
}
