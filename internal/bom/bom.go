// Package bom writes and reads the bill of materials ("Bom") that a macOS
// Installer package carries beside its Payload: every path the package
// installs, with its type, mode, owner, size and cksum CRC. Installer keeps
// it as the receipt that `pkgutil --files` and `lsbom` read.
//
// Apple has never documented the format. What is written here follows the
// public descriptions of it (bomutils' bom.h, the stuckliste project's format
// reference, whose writer is checked against Apple's own lsbom on macOS):
//
//   - A "BOMStore": a 512-byte header, then blocks of data addressed by
//     index through a block table at the end of the file, and named blocks
//     ("vars") that give the entry points. All integers are big-endian.
//   - The "Paths" var is a tree: its nodes list (key, value) block pairs;
//     the key holds the path's id and the index of its metadata block, the
//     value its parent's id and its name. The root "." has id 1, parent 0.
//     The leaf nodes hold the pairs sorted by that key, (parent id, name),
//     name compared byte by byte, as in Apple's own Boms: readers find a
//     path by binary search, component by component, so an unsorted leaf
//     hides paths from them. Branch nodes point at each leaf and at the key
//     of its last pair.
//   - "BomInfo" counts the paths (plus one, as Apple's pkgbuild and
//     bomutils count) and sums the sizes of plain files and symlinks under
//     CPU type 0 and those of each architecture of universal programs under
//     that architecture's CPU type;
//     "HLIndex" (hard links), "VIndex" and "Size64" (sizes over 4 GiB) are
//     empty trees here, with the block sizes and VIndex fields of the Boms
//     pkgbuild writes, which bomutils' mkbom matches (VIndex's last byte 0,
//     Size64's blocks 4096 bytes; stuckliste's reference gives 1 and 128).
//
// A universal (fat) Mach-O program gets a record per architecture (CPU
// type and subtype, the slice's size and CRC), as pkgbuild writes it, when
// Entry.Arches lists them. Tree nodes fill their whole block, as Apple's do.
// The ids of paths are their order in the input; Apple's are in no
// documented order, and only the key order matters to readers.
package bom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
)

// File type bits of Entry.Mode, as in <sys/stat.h>.
const (
	TypeDir     = 0o040000
	TypeReg     = 0o100000
	TypeSymlink = 0o120000
	typeMask    = 0o170000
)

// Entry is one path of the bill of materials.
type Entry struct {
	Path     string // "." for the root, "./a/b" below it, as lsbom prints them
	Mode     uint32 // type bits | permission bits, e.g. 0o040755
	UID, GID uint32
	ModTime  uint32 // seconds since the epoch
	Size     uint32 // a file's size, a symlink's target length, 0 for a directory
	Checksum uint32 // Checksum of a file's data or a symlink's target; 0 for a directory
	Link     string // a symlink's target
	// Arches are the slices of a universal (fat) Mach-O file, in the order
	// of its fat header; nil for any other file.
	Arches []Arch
}

// Arch is one architecture's slice of a universal Mach-O file.
type Arch struct {
	CPUType, CPUSubtype uint32 // as in <mach/machine.h>
	Size                uint32 // the slice's length in bytes
	Checksum            uint32 // Checksum of the slice's bytes
}

// Record types in a metadata block.
const (
	recFile = 1
	recDir  = 2
	recLink = 3
)

const (
	headerLen = 512
	// flagsFull marks a metadata block with every field (not a "paths only"
	// Bom) for a file that is not a Mach-O binary; flagsUniversal adds the
	// binary type "universal", whose record lists the architectures.
	flagsFull      = 0x000F
	flagsUniversal = 0x200F
	// A tree node is 12 bytes of header and 8 bytes an entry, in a block
	// of the tree's block size.
	pathsBlockSize = 4096
	vtreeBlockSize = 128
	nodeHeaderLen  = 12
	perNode        = (pathsBlockSize - nodeHeaderLen) / 8 // pairs in a Paths node
)

// Names of the vars (named blocks).
const (
	varBomInfo = "BomInfo"
	varPaths   = "Paths"
	varHLIndex = "HLIndex"
	varVIndex  = "VIndex"
	varSize64  = "Size64"
)

type block struct{ off, len uint32 }

// store accumulates the blocks of a BOMStore after a reserved header.
type store struct {
	buf    bytes.Buffer
	blocks []block // blocks[0] is the null block
}

func (s *store) add(p []byte) uint32 {
	s.blocks = append(s.blocks, block{uint32(s.buf.Len()), uint32(len(p))})
	s.buf.Write(p)
	return uint32(len(s.blocks) - 1)
}

// be builds big-endian records.
type be []byte

func (b be) u8(v uint8) be   { return append(b, v) }
func (b be) u16(v uint16) be { return binary.BigEndian.AppendUint16(b, v) }
func (b be) u32(v uint32) be { return binary.BigEndian.AppendUint32(b, v) }
func (b be) str(s string) be { return append(append(b, s...), 0) }

// Write writes a Bom listing entries. The first entry must be the root "."
// and every other entry must come after its parent directory; entries keep
// their order, which gives their ids.
func Write(w io.Writer, entries []Entry) error {
	ids, err := check(entries)
	if err != nil {
		return err
	}
	s := &store{blocks: []block{{}}}
	s.buf.Write(make([]byte, headerLen))

	type path struct {
		parent uint32
		name   string
		pair   [2]uint32
	}
	paths := make([]path, len(entries))
	sizes := map[uint32]uint32{0: 0} // CPU type → bytes
	for i, e := range entries {
		meta := s.add(metadata(e))
		key := s.add(be{}.u32(uint32(i + 1)).u32(meta))
		parent, name := uint32(0), "."
		if e.Path != "." {
			dir, base := split(e.Path)
			parent, name = ids[dir], base
		}
		val := s.add(be{}.u32(parent).str(name))
		paths[i] = path{parent, name, [2]uint32{key, val}}
		if len(e.Arches) > 0 {
			for _, a := range e.Arches {
				sizes[a.CPUType] += a.Size
			}
		} else {
			sizes[0] += e.Size
		}
	}
	sort.Slice(paths, func(i, j int) bool {
		a, b := paths[i], paths[j]
		return a.parent < b.parent || a.parent == b.parent && a.name < b.name
	})
	pairs := make([][2]uint32, len(paths))
	for i, p := range paths {
		pairs[i] = p.pair
	}
	pathsTree, err := s.tree(pairs, pathsBlockSize)
	if err != nil {
		return err
	}
	cpus := make([]uint32, 0, len(sizes))
	for c := range sizes {
		cpus = append(cpus, c)
	}
	slices.Sort(cpus)
	info := be{}.u32(1).u32(uint32(len(entries) + 1)).u32(uint32(len(cpus)))
	for _, c := range cpus {
		info = info.u32(c).u32(0).u32(sizes[c]).u32(0)
	}
	infoBlock := s.add(info)
	hl, _ := s.tree(nil, pathsBlockSize)
	vtree, _ := s.tree(nil, vtreeBlockSize)
	vindex := s.add(be{}.u32(1).u32(vtree).u32(0).u8(0))
	size64, _ := s.tree(nil, pathsBlockSize)

	vars := be{}.u32(5)
	for _, v := range []struct {
		name string
		idx  uint32
	}{{varBomInfo, infoBlock}, {varPaths, pathsTree}, {varHLIndex, hl}, {varVIndex, vindex}, {varSize64, size64}} {
		vars = vars.u32(v.idx).u8(uint8(len(v.name)))
		vars = append(vars, v.name...)
	}
	varsOff := uint32(s.buf.Len())
	s.buf.Write(vars)

	index := be{}.u32(uint32(len(s.blocks)))
	nonNull := uint32(0)
	for _, b := range s.blocks {
		index = index.u32(b.off).u32(b.len)
		if b != (block{}) {
			nonNull++
		}
	}
	index = index.u32(2).u32(0).u32(0).u32(0).u32(0) // a free list of two empty blocks
	indexOff := uint32(s.buf.Len())
	s.buf.Write(index)

	out := s.buf.Bytes()
	hdr := append(be("BOMStore"), be{}.u32(1).u32(nonNull).u32(indexOff).u32(uint32(len(index))).u32(varsOff).u32(uint32(len(vars)))...)
	copy(out, hdr)
	_, err = w.Write(out)
	return err
}

// tree writes the nodes for (key, value) block pairs and the tree record
// that points at them, and returns the record's block. Up to fit pairs
// fit one leaf; more are spread over leaves under one branch node, whose
// entries point at each leaf and at that leaf's last value.
func (s *store) tree(pairs [][2]uint32, blockSize uint32) (uint32, error) {
	node := func(leaf bool, next, prev uint32, ps [][2]uint32) []byte {
		var isLeaf uint16
		if leaf {
			isLeaf = 1
		}
		b := be{}.u16(isLeaf).u16(uint16(len(ps))).u32(next).u32(prev)
		for _, p := range ps {
			b = b.u32(p[0]).u32(p[1])
		}
		return append(b, make([]byte, int(blockSize)-len(b))...)
	}
	fit := (int(blockSize) - nodeHeaderLen) / 8
	var root uint32
	if len(pairs) <= fit {
		root = s.add(node(true, 0, 0, pairs))
	} else {
		nLeaves := (len(pairs) + fit - 1) / fit
		if nLeaves > fit {
			return 0, fmt.Errorf("bom: %d paths is more than this writer supports (%d)", len(pairs), fit*fit)
		}
		// Leaves take consecutive block indices, so each knows its neighbours.
		first := uint32(len(s.blocks))
		branch := make([][2]uint32, 0, nLeaves)
		for i := range nLeaves {
			chunk := pairs[i*fit : min((i+1)*fit, len(pairs))]
			var next, prev uint32
			if i > 0 {
				prev = first + uint32(i) - 1
			}
			if i < nLeaves-1 {
				next = first + uint32(i) + 1
			}
			leaf := s.add(node(true, next, prev, chunk))
			branch = append(branch, [2]uint32{leaf, chunk[len(chunk)-1][1]})
		}
		root = s.add(node(false, 0, 0, branch))
	}
	rec := append(be("tree"), be{}.u32(1).u32(root).u32(blockSize).u32(uint32(len(pairs))).u8(0)...)
	return s.add(rec), nil
}

// metadata encodes an entry's metadata block: type, flags, the stat fields,
// then per type the checksum and link target, and eight zero bytes.
func metadata(e Entry) []byte {
	var rec uint8
	switch e.Mode & typeMask {
	case TypeDir:
		rec = recDir
	case TypeReg:
		rec = recFile
	case TypeSymlink:
		rec = recLink
	}
	flags := uint16(flagsFull)
	if len(e.Arches) > 0 {
		flags = flagsUniversal
	}
	b := be{}.u8(rec).u8(1).u16(flags).
		u16(uint16(e.Mode)).u32(e.UID).u32(e.GID).u32(e.ModTime).u32(e.Size).u8(1)
	switch rec {
	case recFile:
		b = b.u32(e.Checksum)
		if len(e.Arches) > 0 {
			b = b.u8(1).u32(uint32(len(e.Arches)))
			for _, a := range e.Arches {
				b = b.u32(a.CPUType).u32(a.CPUSubtype).u32(a.Size).u32(a.Checksum)
			}
		}
	case recLink:
		b = b.u32(e.Checksum).u32(uint32(len(e.Link) + 1)).str(e.Link)
	}
	return append(b, make([]byte, 8)...)
}

// split returns the directory and name of a checked path: "./a/b" gives
// "./a" and "b", "./a" gives "." and "a". (path.Dir would drop the "./".)
func split(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	return p[:i], p[i+1:]
}

// check validates entries and returns each path's id.
func check(entries []Entry) (map[string]uint32, error) {
	if len(entries) == 0 || entries[0].Path != "." {
		return nil, fmt.Errorf("bom: the first entry must be the root \".\"")
	}
	ids := make(map[string]uint32, len(entries))
	dirs := make(map[string]bool)
	for i, e := range entries {
		switch e.Mode & typeMask {
		case TypeDir:
			dirs[e.Path] = true
			if len(e.Arches) != 0 {
				return nil, fmt.Errorf("bom: %s: only a file has architectures", e.Path)
			}
			if e.Size != 0 || e.Checksum != 0 || e.Link != "" {
				return nil, fmt.Errorf("bom: %s: a directory has no size, checksum or link", e.Path)
			}
		case TypeReg:
			if e.Link != "" {
				return nil, fmt.Errorf("bom: %s: a file has no link target", e.Path)
			}
			if len(e.Arches) == 1 {
				return nil, fmt.Errorf("bom: %s: a universal file has two or more architectures", e.Path)
			}
			var sum uint64
			for _, a := range e.Arches {
				sum += uint64(a.Size)
			}
			if sum > uint64(e.Size) {
				return nil, fmt.Errorf("bom: %s: its architectures (%d bytes) are larger than the file (%d)", e.Path, sum, e.Size)
			}
		case TypeSymlink:
			if len(e.Arches) != 0 {
				return nil, fmt.Errorf("bom: %s: only a file has architectures", e.Path)
			}
			if e.Link == "" || int(e.Size) != len(e.Link) {
				return nil, fmt.Errorf("bom: %s: a symlink needs its target, and its size is the target's length", e.Path)
			}
		default:
			return nil, fmt.Errorf("bom: %s: unsupported file type %#o", e.Path, e.Mode&typeMask)
		}
		if e.Mode&^(typeMask|0o7777) != 0 {
			return nil, fmt.Errorf("bom: %s: mode %#o has stray bits", e.Path, e.Mode)
		}
		if i > 0 {
			rest, ok := strings.CutPrefix(e.Path, "./")
			if !ok || rest == "" || rest == "." || path.Clean(rest) != rest || rest == ".." || strings.HasPrefix(rest, "../") {
				return nil, fmt.Errorf("bom: path %q must be clean and start with \"./\"", e.Path)
			}
			if dir, _ := split(e.Path); !dirs[dir] {
				return nil, fmt.Errorf("bom: %s comes before its directory %s", e.Path, dir)
			}
		}
		if _, dup := ids[e.Path]; dup {
			return nil, fmt.Errorf("bom: %s is listed twice", e.Path)
		}
		ids[e.Path] = uint32(i + 1)
	}
	return ids, nil
}
