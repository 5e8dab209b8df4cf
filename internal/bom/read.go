package bom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Read parses a Bom and returns its paths in id order. It walks the file
// from its header as any reader must (block table, vars, the Paths tree and
// its nodes), shares no state with Write, and checks what it can: block
// bounds, tree records, record types against modes, the trailing zeros of
// metadata blocks, and BomInfo's path count and size total.
func Read(data []byte) ([]Entry, error) {
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

	entries := make([]Entry, len(pairs))
	paths := map[uint32]string{0: ""}
	for i, p := range pairs {
		key, err := r.block(p[0])
		if err != nil {
			return nil, err
		}
		kr := rd{b: key}
		id, meta := kr.u32(), kr.u32()
		val, err := r.block(p[1])
		if err != nil {
			return nil, err
		}
		vr := rd{b: val}
		parent := vr.u32()
		name, ok := bytes.CutSuffix(vr.rest(), []byte{0})
		if kr.err != nil || vr.err != nil || !ok || bytes.IndexByte(name, 0) >= 0 {
			return nil, fmt.Errorf("bom: path record %d is malformed", i)
		}
		if id != uint32(i+1) {
			return nil, fmt.Errorf("bom: path %d has id %d", i+1, id)
		}
		dir, known := paths[parent]
		if !known {
			return nil, fmt.Errorf("bom: %q names parent %d, which does not come before it", name, parent)
		}
		if parent == 0 {
			paths[id] = string(name)
		} else {
			paths[id] = dir + "/" + string(name)
		}
		e, err := r.metadata(meta)
		if err != nil {
			return nil, fmt.Errorf("bom: %s: %w", paths[id], err)
		}
		e.Path = paths[id]
		entries[i] = e
	}

	info, err := r.block(named[varBomInfo])
	if err != nil {
		return nil, err
	}
	ir := rd{b: info}
	version, count, nInfo := ir.u32(), ir.u32(), ir.u32()
	var sum, want uint32
	for range nInfo {
		ir.u32()
		ir.u32()
		sum += ir.u32()
		ir.u32()
	}
	for _, e := range entries {
		want += e.Size
	}
	if ir.err != nil || version != 1 || count != uint32(len(entries)) || sum != want {
		return nil, fmt.Errorf("bom: BomInfo says %d paths of %d bytes (version %d), the tree holds %d of %d", count, sum, version, len(entries), want)
	}
	return entries, nil
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
			} else if err := walk(k, depth+1); err != nil {
				return err
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
	if one != 1 || one2 != 1 || flags != flagsFull {
		return e, fmt.Errorf("metadata markers %d/%d and flags %#x, want 1/1 and %#x", one, one2, flags, flagsFull)
	}
	wantRec := map[uint32]uint8{TypeReg: recFile, TypeDir: recDir, TypeSymlink: recLink}[e.Mode&typeMask]
	if rec != wantRec || wantRec == 0 {
		return e, fmt.Errorf("record type %d does not match mode %#o", rec, e.Mode)
	}
	switch rec {
	case recFile:
		e.Checksum = m.u32()
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
