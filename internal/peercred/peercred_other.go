//go:build !linux && !darwin

package peercred

import "github.com/instruktai/teleclaude/internal/identity"

func fromFD(int) (identity.Creds, error) { return identity.Creds{}, ErrNotSupported }
