//go:build linux

package pkgtest

import "testing"

// TestBootedAdminDay boots the root and runs testdata/admin.sh in it: the
// booted points of issue 15 (PostgreSQL on 5433, setup-db only when the
// config asks for PostgreSQL, removal that ends every session, a purge
// that names where the data is).
func TestBootedAdminDay(t *testing.T) {
	t.Parallel()
	p := packages(t)
	bootScenario(t, "admin.sh", p.oldDebHere, p.newDeb)
}
