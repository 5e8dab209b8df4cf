// Package e2e runs the built programs as real OS users against a real
// daemon on a real socket. It creates its users and groups, so it needs
// root (CI runs as root; elsewhere the tests skip, and under CI=true they
// fail rather than skip).
package e2e
