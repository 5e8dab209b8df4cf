// Package cpio writes cpio archives in the POSIX.1 portable format ("odc",
// magic 070707): the format of the Payload and Scripts archives inside a
// macOS Installer package, where Apple's own pkgbuild writes it.
//
// Only writing is provided; tests read the archives back with bsdtar.
// Maintained Go cpio libraries (github.com/cavaliergopher/cpio, u-root's)
// write only the SVR4 "newc" format, which is why this package exists.
//
// Each header is 76 bytes of octal ASCII followed by the NUL-terminated name
// and then the data, with no padding anywhere:
//
//	magic[6] dev[6] ino[6] mode[6] uid[6] gid[6] nlink[6] rdev[6]
//	mtime[11] namesize[6] filesize[11]
package cpio

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// File type bits of Header.Mode, as in <sys/stat.h>.
const (
	TypeDir     = 0o040000
	TypeReg     = 0o100000
	TypeSymlink = 0o120000
	typeMask    = 0o170000
)

// Trailer is the name of the entry that ends every archive.
const Trailer = "TRAILER!!!"

// Header describes one entry.
type Header struct {
	Name     string // e.g. "./Library/Application Support"
	Mode     uint32 // type bits | permission bits
	UID, GID int
	ModTime  int64 // seconds since the epoch
	Size     int64 // bytes of data that follow; a symlink's data is its target
}

// Writer writes an odc archive. Call WriteHeader, then Write exactly
// Header.Size bytes, for each entry; Close writes the trailer.
type Writer struct {
	w       io.Writer
	ino     int
	pending int64
	closed  bool
	err     error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// ErrWriteTooLong is returned when more data is written than the header said.
var ErrWriteTooLong = errors.New("cpio: write longer than the header's size")

// WriteHeader starts a new entry. The previous entry must be complete.
func (w *Writer) WriteHeader(h *Header) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("cpio: write after close")
	}
	if w.pending != 0 {
		return fmt.Errorf("cpio: previous entry is %d bytes short", w.pending)
	}
	switch h.Mode & typeMask {
	case TypeDir:
		if h.Size != 0 {
			return fmt.Errorf("cpio: %s: a directory has no data", h.Name)
		}
	case TypeReg, TypeSymlink:
	default:
		return fmt.Errorf("cpio: %s: unsupported file type %#o", h.Name, h.Mode&typeMask)
	}
	if h.Name == "" || h.Name == Trailer {
		return fmt.Errorf("cpio: invalid entry name %q", h.Name)
	}
	// Distinct inode numbers with a link count of 1: readers pair up
	// entries sharing (dev, ino) as hard links, and we write none.
	w.ino++
	return w.header(h, w.ino, 1)
}

func (w *Writer) header(h *Header, ino, nlink int) error {
	fields := []struct {
		v     int64
		width int
		what  string
	}{
		{0, 6, "dev"},
		{int64(ino), 6, "inode"},
		{int64(h.Mode), 6, "mode"},
		{int64(h.UID), 6, "uid"},
		{int64(h.GID), 6, "gid"},
		{int64(nlink), 6, "nlink"},
		{0, 6, "rdev"},
		{h.ModTime, 11, "mtime"},
		{int64(len(h.Name) + 1), 6, "name size"},
		{h.Size, 11, "size"},
	}
	buf := make([]byte, 0, 76+len(h.Name)+1)
	buf = append(buf, "070707"...)
	for _, f := range fields {
		s := strconv.FormatInt(f.v, 8)
		if f.v < 0 || len(s) > f.width {
			return fmt.Errorf("cpio: %s: %s %d does not fit the odc format", h.Name, f.what, f.v)
		}
		for i := len(s); i < f.width; i++ {
			buf = append(buf, '0')
		}
		buf = append(buf, s...)
	}
	buf = append(buf, h.Name...)
	buf = append(buf, 0)
	if _, err := w.w.Write(buf); err != nil {
		w.err = err
		return err
	}
	w.pending = h.Size
	return nil
}

// Write writes data of the current entry.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(p)) > w.pending {
		return 0, ErrWriteTooLong
	}
	n, err := w.w.Write(p)
	w.pending -= int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Close writes the trailer entry. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.err == nil && w.pending != 0 {
		w.err = fmt.Errorf("cpio: last entry is %d bytes short", w.pending)
	}
	if w.err == nil {
		w.err = w.header(&Header{Name: Trailer}, 0, 1)
	}
	w.closed = true
	return w.err
}
