package bom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
)

// Read parses a Bom and returns its paths in id order. It walks the file
// from its header as any reader must (block table, vars, the Paths tree and
// its nodes), shares no state with Write, and checks what it can: block
// bounds, tree records, that every leaf is in key order (parent id, name)
// and every branch entry names its leaf's last key, record types against
// modes, the trailing zeros of metadata blocks, and BomInfo's path count
// and size totals.
func Read(data []byte) ([]Entry, error) {
	b, err := Open(data)
	if err != nil {
		return nil, err
	}
	return b.Entries, nil
}

// Bom is a parsed Bom.
type Bom struct {
	Entries []Entry // in id order
	r       *reader
	paths   uint32 // the Paths tree record's block
}

// Open parses and checks a Bom (see Read).
func Open(data []byte) (*Bom, error) {
	r := &reader{data: data}
	if len(data) < headerLen || string(data[:8]) != "BOMStore" {
		return nil, errors.New("bom: not a BOMStore")
	}
	h := rd{b: data[8:32]}
	if v := h.u32(); v != 1 {
		return nil, fmt.Errorf("bom: version %d, want 1", v)
	}
	nonNull := h.u32()
	indexOff, indexLen, varsOff, varsLen := h.u32(), h.u32(), h.u32(), h.u32()
	index, err := r.span(indexOff, indexLen)
	if err != nil {
		return nil, fmt.Errorf("bom: block table: %w", err)
	}
	ix := rd{b: index}
	n := ix.u32()
	if uint64(n)*8+4 > uint64(len(index)) {
		return nil, fmt.Errorf("bom: block table of %d blocks overruns its %d bytes", n, len(index))
	}
	var counted uint32
	for range n {
		b := block{ix.u32(), ix.u32()}
		r.blocks = append(r.blocks, b)
		if b != (block{}) {
			counted++
		}
	}
	if counted != nonNull {
		return nil, fmt.Errorf("bom: header counts %d blocks, the table holds %d", nonNull, counted)
	}

	vars, err := r.span(varsOff, varsLen)
	if err != nil {
		return nil, fmt.Errorf("bom: vars: %w", err)
	}
	named := map[string]uint32{}
	vr := rd{b: vars}
	for range vr.u32() {
		idx := vr.u32()
		name := string(vr.take(int(vr.u8())))
		named[name] = idx
	}
	if vr.err != nil {
		return nil, fmt.Errorf("bom: vars: %w", vr.err)
	}
	for _, v := range []string{varBomInfo, varPaths, varHLIndex, varVIndex, varSize64} {
		if _, ok := named[v]; !ok {
			return nil, fmt.Errorf("bom: no %s var", v)
		}
	}

	pairs, err := r.tree(named[varPaths])
	if err != nil {
		return nil, fmt.Errorf("bom: Paths: %w", err)
	}
	for _, v := range []string{varHLIndex, varSize64} {
		if p, err := r.tree(named[v]); err != nil || len(p) != 0 {
			return nil, fmt.Errorf("bom: %s: want an empty tree (err %v, %d entries)", v, err, len(p))
		}
	}

	type rec struct {
		parent uint32
		name   string
		meta   uint32
	}
	byID := make(map[uint32]rec, len(pairs))
	var prev key
	for i, p := range pairs {
		kr := rd{b: r.blockOr(p[0])}
		id, meta := kr.u32(), kr.u32()
		k, err := r.key(p[1])
		if err != nil || kr.err != nil {
			return nil, fmt.Errorf("bom: path record %d is malformed", i)
		}
		if i > 0 && !prev.less(k) {
			return nil, fmt.Errorf("bom: the Paths leaf is not in key order: (%d, %q) comes after (%d, %q)", k.parent, k.name, prev.parent, prev.name)
		}
		prev = k
		if _, dup := byID[id]; dup || id == 0 || id > uint32(len(pairs)) {
			return nil, fmt.Errorf("bom: path id %d is out of range or repeated", id)
		}
		byID[id] = rec{k.parent, k.name, meta}
	}

	entries := make([]Entry, len(pairs))
	paths := map[uint32]string{}
	var resolve func(id uint32, depth int) (string, error)
	resolve = func(id uint32, depth int) (string, error) {
		if p, ok := paths[id]; ok {
			return p, nil
		}
		rc := byID[id]
		if rc.parent == 0 {
			paths[id] = rc.name
			return rc.name, nil
		}
		if _, ok := byID[rc.parent]; !ok || depth > len(pairs) {
			return "", fmt.Errorf("bom: %q names parent %d, which is not a path of the Bom", rc.name, rc.parent)
		}
		dir, err := resolve(rc.parent, depth+1)
		if err != nil {
			return "", err
		}
		paths[id] = dir + "/" + rc.name
		return paths[id], nil
	}
	for id := uint32(1); id <= uint32(len(pairs)); id++ {
		p, err := resolve(id, 0)
		if err != nil {
			return nil, err
		}
		e, err := r.metadata(byID[id].meta)
		if err != nil {
			return nil, fmt.Errorf("bom: %s: %w", p, err)
		}
		e.Path = p
		entries[id-1] = e
	}
	modes := make(map[string]uint32, len(entries))
	for _, e := range entries {
		modes[e.Path] = e.Mode
	}
	for _, e := range entries {
		if byID[1].parent != 0 || entries[0].Path != "." {
			return nil, errors.New("bom: path 1 is not the root \".\"")
		}
		if e.Path != "." {
			if dir, _ := split(e.Path); modes[dir]&typeMask != TypeDir {
				return nil, fmt.Errorf("bom: the parent of %s is not a directory", e.Path)
			}
		}
	}

	info, err := r.block(named[varBomInfo])
	if err != nil {
		return nil, err
	}
	ir := rd{b: info}
	version, count, nInfo := ir.u32(), ir.u32(), ir.u32()
	got := map[uint32]uint32{}
	for range nInfo {
		cpu := ir.u32()
		ir.u32()
		got[cpu] += ir.u32()
		ir.u32()
	}
	want := map[uint32]uint32{0: 0}
	for _, e := range entries {
		if len(e.Arches) == 0 {
			want[0] += e.Size
		}
		for _, a := range e.Arches {
			want[a.CPUType] += a.Size
		}
	}
	if ir.err != nil || version != 1 || count != uint32(len(entries))+1 || !maps.Equal(got, want) {
		return nil, fmt.Errorf("bom: BomInfo says %d paths and sizes %v (version %d), the tree holds %d+1 paths of %v", count, got, version, len(entries), want)
	}
	return &Bom{Entries: entries, r: r, paths: named[varPaths]}, nil
}

// key is a Paths key: a parent's id and a name.
type key struct {
	parent uint32
	name   string
}

func (a key) less(b key) bool {
	return a.parent < b.parent || a.parent == b.parent && a.name < b.name
}

func (r *reader) key(i uint32) (key, error) {
	b, err := r.block(i)
	if err != nil {
		return key{}, err
	}
	vr := rd{b: b}
	parent := vr.u32()
	name, ok := bytes.CutSuffix(vr.rest(), []byte{0})
	if vr.err != nil || !ok || bytes.IndexByte(name, 0) >= 0 {
		return key{}, errors.New("malformed path key")
	}
	return key{parent, string(name)}, nil
}

// Lookup finds path ("." or "./a/b") the way Installer's readers do: one
// component at a time, each by binary search down the Paths tree on
// (parent id, name). It relies on the key order that Open checked.
func (b *Bom) Lookup(path string) (Entry, bool) {
	parent := uint32(0)
	var meta uint32
	for _, name := range strings.Split(path, "/") {
		id, m, ok := b.find(key{parent, name})
		if !ok {
			return Entry{}, false
		}
		parent, meta = id, m
	}
	e, err := b.r.metadata(meta)
	if err != nil {
		return Entry{}, false
	}
	e.Path = path
	return e, true
}

// find searches the Paths tree for k and returns the path's id and its
// metadata block.
func (b *Bom) find(k key) (id, meta uint32, ok bool) {
	rec := rd{b: b.r.blockOr(b.paths)}
	rec.take(8)
	node := rec.u32()
	for depth := 0; depth < 8; depth++ {
		nr := rd{b: b.r.blockOr(node)}
		leaf, n := nr.u16(), int(nr.u16())
		nr.take(8)
		ents := nr.take(8 * n)
		if nr.err != nil {
			return 0, 0, false
		}
		at := func(i int) (uint32, uint32) {
			return binary.BigEndian.Uint32(ents[8*i:]), binary.BigEndian.Uint32(ents[8*i+4:])
		}
		keyAt := func(i int) key {
			_, v := at(i)
			kk, _ := b.r.key(v)
			return kk
		}
		// The first entry whose key is not less than k.
		i := sort.Search(n, func(i int) bool { return !keyAt(i).less(k) })
		if leaf != 1 {
			if i == n {
				return 0, 0, false
			}
			node, _ = at(i)
			continue
		}
		if i == n || keyAt(i) != k {
			return 0, 0, false
		}
		pk, _ := at(i)
		kr := rd{b: b.r.blockOr(pk)}
		id, meta = kr.u32(), kr.u32()
		return id, meta, kr.err == nil
	}
	return 0, 0, false
}

type reader struct {
	data   []byte
	blocks []block
}

func (r *reader) span(off, n uint32) ([]byte, error) {
	if uint64(off)+uint64(n) > uint64(len(r.data)) {
		return nil, fmt.Errorf("bytes %d+%d lie past the end (%d)", off, n, len(r.data))
	}
	return r.data[off : off+n], nil
}

// blockOr returns block i, or nothing when it is out of range.
func (r *reader) blockOr(i uint32) []byte {
	b, _ := r.block(i)
	return b
}

func (r *reader) block(i uint32) ([]byte, error) {
	if i == 0 || int(i) >= len(r.blocks) {
		return nil, fmt.Errorf("bom: block index %d out of range", i)
	}
	b := r.blocks[i]
	return r.span(b.off, b.len)
}

// tree returns the (key, value) block pairs of the tree whose record is
// block i, in order, descending through branch nodes.
func (r *reader) tree(i uint32) ([][2]uint32, error) {
	rec, err := r.block(i)
	if err != nil {
		return nil, err
	}
	tr := rd{b: rec}
	magic := string(tr.take(4))
	version, root, _, count := tr.u32(), tr.u32(), tr.u32(), tr.u32()
	if tr.err != nil || magic != "tree" || version != 1 {
		return nil, fmt.Errorf("block %d is not a tree record", i)
	}
	var pairs [][2]uint32
	var walk func(node uint32, depth int) error
	walk = func(node uint32, depth int) error {

		if depth > 8 {
			return errors.New("tree too deep")
		}
		b, err := r.block(node)
		if err != nil {
			return err
		}
		nr := rd{b: b}
		leaf, n := nr.u16(), nr.u16()
		nr.u32()
		nr.u32()
		for range n {
			k, v := nr.u32(), nr.u32()
			if nr.err != nil {
				return fmt.Errorf("node %d overruns its block", node)
			}
			if leaf == 1 {
				pairs = append(pairs, [2]uint32{k, v})
				continue
			}
			if err := walk(k, depth+1); err != nil {
				return err
			}
			// A branch entry carries its subtree's last key, which
			// lookups compare against: a copy of it, or the same block.
			if len(pairs) == 0 {
				return fmt.Errorf("branch node %d: its child %d is empty", node, k)
			}
			last, lastErr := r.key(pairs[len(pairs)-1][1])
			this, thisErr := r.key(v)
			if lastErr != nil || thisErr != nil || last != this {
				return fmt.Errorf("branch node %d does not name the last key of its child %d", node, k)
			}
		}
		return nr.err
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	if uint32(len(pairs)) != count {
		return nil, fmt.Errorf("tree record counts %d entries, its nodes hold %d", count, len(pairs))
	}
	return pairs, nil
}

func (r *reader) metadata(i uint32) (Entry, error) {
	b, err := r.block(i)
	if err != nil {
		return Entry{}, err
	}
	m := rd{b: b}
	rec, one, flags := m.u8(), m.u8(), m.u16()
	var e Entry
	e.Mode = uint32(m.u16())
	e.UID, e.GID, e.ModTime, e.Size = m.u32(), m.u32(), m.u32(), m.u32()
	one2 := m.u8()
	if one != 1 || one2 != 1 || flags != flagsFull && !(flags == flagsUniversal && rec == recFile) {
		return e, fmt.Errorf("metadata markers %d/%d and flags %#x, want 1/1 and %#x (or %#x for a universal file)", one, one2, flags, flagsFull, flagsUniversal)
	}
	wantRec := map[uint32]uint8{TypeReg: recFile, TypeDir: recDir, TypeSymlink: recLink}[e.Mode&typeMask]
	if rec != wantRec || wantRec == 0 {
		return e, fmt.Errorf("record type %d does not match mode %#o", rec, e.Mode)
	}
	switch rec {
	case recFile:
		e.Checksum = m.u32()
		if flags == flagsUniversal {
			if m.u8() != 1 {
				return e, errors.New("universal file record lacks its marker")
			}
			n := m.u32()
			if n < 2 || n > 64 {
				return e, fmt.Errorf("universal file record lists %d architectures", n)
			}
			for range n {
				e.Arches = append(e.Arches, Arch{m.u32(), m.u32(), m.u32(), m.u32()})
			}
		}
	case recLink:
		e.Checksum = m.u32()
		n := m.u32()
		link, ok := bytes.CutSuffix(m.take(int(n)), []byte{0})
		if !ok {
			return e, errors.New("link target is not NUL-terminated")
		}
		e.Link = string(link)
	}
	if tail := m.rest(); m.err != nil || !bytes.Equal(tail, make([]byte, 8)) {
		return e, fmt.Errorf("metadata block does not end in eight zero bytes (%x)", tail)
	}
	return e, nil
}

// rd reads big-endian fields; the first overrun sets err and later reads
// return zeros.
type rd struct {
	b   []byte
	err error
}

func (r *rd) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = errors.New("record overrun")
		}
		return make([]byte, max(n, 0))
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *rd) u8() uint8   { return r.take(1)[0] }
func (r *rd) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *rd) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *rd) rest() []byte {
	p := r.b
	r.b = nil
	return p
}
