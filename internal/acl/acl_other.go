//go:build !linux

package acl

import "errors"

// ErrUnsupported is returned where this package has no implementation.
var ErrUnsupported = errors.New("POSIX ACLs are not supported on this platform")

// Set is not implemented on this platform.
func Set(string, Spec) error { return ErrUnsupported }

// SetDefault is not implemented on this platform.
func SetDefault(string, Spec) error { return ErrUnsupported }

// Get is not implemented on this platform.
func Get(string) (Spec, error) { return Spec{}, ErrUnsupported }

// GetDefault is not implemented on this platform.
func GetDefault(string) (Spec, error) { return Spec{}, ErrUnsupported }
