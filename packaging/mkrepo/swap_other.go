//go:build !linux

package main

import "errors"

// swapIn needs renameat2; the tools mkrepo runs are Debian's anyway.
func swapIn(stage, out string) error {
	return errors.New("mkrepo runs on Linux only")
}
