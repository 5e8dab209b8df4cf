//go:build !(linux || darwin)

package migrate

import "errors"

var errReadOnlyFS = errors.New("read-only file system")

// sqliteLockHolder is not implemented here; the product runs on Linux and
// macOS, and this keeps other platforms compiling.
func sqliteLockHolder(string) (string, error) {
	return "", errors.New("checking SQLite locks needs Linux or macOS")
}

func chownLike(string, string) error { return nil }
