// Package pkgtest tests the Linux packages for real. It builds them with
// packaging/mkpkgs, lints them (lintian, rpmlint), installs the .deb into a
// plain chroot, and boots a Debian 12 root with systemd-nspawn in which a
// oneshot unit installs, runs, upgrades and removes the .deb (and, in a
// second boot, the .rpm with Debian's rpm), checking what issue 5 asks for.
//
// The root is made once with debootstrap and cached outside the checkout
// (/var/cache/teleclaude-test, or TELECLAUDE_TEST_CACHE); each test runs on
// an overlay of it that is thrown away. That needs root: as another user
// those tests skip, and under CI=true they fail instead, as every test here
// does when a tool it needs is missing.
package pkgtest
