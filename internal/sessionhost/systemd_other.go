//go:build !linux

package sessionhost

import (
	"context"
	"errors"
)

func startUnit(context.Context, *Host, Owner) error {
	return errors.New("systemd session units exist only on Linux")
}
