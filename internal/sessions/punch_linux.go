package sessions

import (
	"os"

	"golang.org/x/sys/unix"
)

// punchHole frees the pages of f before offset, keeping its size: the log
// lives on tmpfs, in memory, and what is in the transcript need not stay
// there. Without write access (or support) nothing is freed.
func punchHole(f *os.File, offset int64) {
	if end := offset &^ (1<<12 - 1); end > 0 {
		unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, end)
	}
}
