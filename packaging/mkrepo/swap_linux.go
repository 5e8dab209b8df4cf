package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// swapIn puts stage at out in one step: a rename onto a missing out, or an
// exchange with the old one, which is then removed.
func swapIn(stage, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		return os.Rename(stage, out)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, out, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("swap the new repository into %s: %w", out, err)
	}
	return os.RemoveAll(stage) // now the old one
}
