//go:build !unix

package store

import "errors"

// lockFile is not implemented where flock is missing; the product runs on
// Linux and macOS, and this keeps other platforms compiling.
func lockFile(path, holder string) (func() error, error) {
	return nil, errors.New("the instance lock needs a Unix system (open with WithoutLock to read only)")
}
