//go:build !linux && !darwin

package socket

func maxPathLen() int { return 103 }
