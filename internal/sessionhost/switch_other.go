//go:build !linux

package sessionhost

import (
	"fmt"
	"os"
)

// CanSwitch: without Linux capabilities, only root may switch users.
func CanSwitch() error {
	if os.Geteuid() == 0 {
		return nil
	}
	return fmt.Errorf("%w: it runs as uid %d, not root", ErrCannotSwitch, os.Getuid())
}
