//go:build !linux && !darwin

package peercred

func fromFD(int) (Creds, error) { return Creds{}, ErrNotSupported }
