#!/bin/sh
# Checks the TeleClaude package on a real Mac, as root, the way an admin
# meets it: install, signature, the receipt's files, the running job, a
# second user reaching the daemon, an upgrade over itself, the uninstall.
# It changes the machine (a test user, the _teleclaude account): run it on a
# throwaway Mac or CI runner only.
#
#   sudo packaging/pkg/verify-on-mac.sh PKG            every step in order
#   sudo packaging/pkg/verify-on-mac.sh PKG STEP...    the named steps
#
# Set TELECLAUDE_EXPECT_SIGNED=1 when the package must be signed (and
# TELECLAUDE_EXPECT_NOTARIZED=1 when it must be notarized). The CI job
# (.github/workflows/macos-pkg.yml) runs the steps one by one, in STEPS's
# order; a test keeps the two the same.
set -eu

STEPS="install signature files launchd second_user upgrade uninstall"

LABEL=ai.instrukt.teleclaude
SVC=_teleclaude
BASE="/Library/Application Support/TeleClaude"
TESTUSER=tcverify
TESTUID=5011

say() { printf 'verify-on-mac: %s\n' "$*"; }
fail() {
	say "FAILED: $*" >&2
	exit 1
}

[ $# -ge 1 ] || {
	echo "usage: sudo $0 PKG [STEP...]; steps: $STEPS" >&2
	exit 2
}
PKG=$1
shift
[ -f "$PKG" ] || fail "no package at $PKG"
[ "$(id -u)" = 0 ] || fail "run it as root (sudo)"

# running: the job is loaded and has a process.
running() {
	launchctl print "system/$LABEL" 2>/dev/null | grep -q 'state = running'
}

# wait_running: up to 30 s for the daemon to come up.
wait_running() {
	n=0
	until running; do
		n=$((n + 1))
		if [ "$n" -gt 30 ]; then
			launchctl print "system/$LABEL" || true
			tail -n 50 /Library/Logs/TeleClaude/stderr.log || true
			fail "the daemon is not running 30 s after the install"
		fi
		sleep 1
	done
}

pid() { launchctl print "system/$LABEL" | awk '$1 == "pid" { print $3; exit }'; }

step_install() {
	installer -pkg "$PKG" -target / -verboseR
	pkgutil --pkg-info "$LABEL"
	ver=$(pkgutil --pkg-info "$LABEL" | awk '$1 == "version:" { print $2 }')
	case $ver in '' | *[!0-9A-Za-z.+-]*) fail "receipt version $ver" ;; esac
	say "installed, receipt version $ver"
}

step_signature() {
	out=$(pkgutil --check-signature "$PKG" || true)
	echo "$out"
	if echo "$out" | grep -q 'Status: no signature'; then
		[ "${TELECLAUDE_EXPECT_SIGNED:-0}" != 1 ] || fail "the package is not signed"
		say "unsigned package (TELECLAUDE_EXPECT_SIGNED is not 1): signature not checked"
		return 0
	fi
	echo "$out" | grep -q 'Status: signed by a developer certificate issued by Apple' ||
		fail "the signature does not lead to Apple"
	if [ "${TELECLAUDE_EXPECT_NOTARIZED:-0}" = 1 ]; then
		spctl --assess --type install --verbose=4 "$PKG" || fail "Gatekeeper refuses the package"
		xcrun stapler validate "$PKG" || fail "no notarization ticket stapled"
	fi
	for prog in teleclaude telec; do
		codesign --verify --strict --verbose=2 "$BASE/bin/$prog" || fail "$prog: bad code signature"
		codesign --display --verbose=2 "$BASE/bin/$prog" 2>&1 | grep -q 'flags=.*runtime' ||
			fail "$prog: no hardened runtime"
	done
}

# Apple's lsbom on our Bom, and pkgutil's receipt, against the disk: the
# Bom's tree must be in the order Apple's readers search it, or pkgutil
# --file-info misses paths.
step_files() {
	work=$(mktemp -d)
	pkgutil --expand "$PKG" "$work/x"
	lsbom -p fmugsc "$work/x/teleclaude.pkg/Bom" >"$work/bom"
	cat "$work/bom"
	pkgutil --files "$LABEL" | sort >"$work/receipt"
	awk -F'\t' '{ sub(/^\.\/?/, "", $1); if ($1 != "") print $1 }' "$work/bom" | sort >"$work/expected"
	diff -u "$work/expected" "$work/receipt" || fail "pkgutil --files differs from the Bom"
	while IFS= read -r f; do
		info=$(pkgutil --file-info "/$f")
		echo "$info" | grep -q "pkgid: $LABEL" || fail "pkgutil --file-info /$f does not name $LABEL: $info"
		[ -e "/$f" ] || [ -L "/$f" ] || fail "/$f is in the receipt but not on disk"
	done <"$work/receipt"
	# Mode, owner, size and CRC as lsbom prints them, against the disk.
	while IFS="$(printf '\t')" read -r path mode uid gid size crc; do
		p="/${path#./}"
		[ "$path" != . ] || continue
		got=$(stat -f '%p %u %g' "$p")
		[ "$got" = "$mode $uid $gid" ] || fail "$p: mode, uid, gid $got; the Bom says $mode $uid $gid"
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			[ "$(cksum <"$p" | awk '{ print $1, $2 }')" = "$crc $size" ] || fail "$p: CRC and size differ from the Bom's $crc $size"
		fi
	done <"$work/bom"
	file "$BASE/bin/teleclaude" | grep -q 'Mach-O universal binary with 2 architectures' || fail "teleclaude is not universal"
	rm -rf "$work"
	say "the receipt lists every file of the Bom, each on disk as the Bom says"
}

step_launchd() {
	wait_running
	launchctl print "system/$LABEL"
	plutil -lint "/Library/LaunchDaemons/$LABEL.plist"
	[ -f /etc/newsyslog.d/teleclaude.conf ] || fail "no newsyslog rule"
	newsyslog -n -f /etc/newsyslog.d/teleclaude.conf >/dev/null || fail "newsyslog does not read the rule"
	say "the daemon runs as pid $(pid)"
}

step_second_user() {
	if ! dscl . -read "/Users/$TESTUSER" >/dev/null 2>&1; then
		sysadminctl -addUser "$TESTUSER" -UID "$TESTUID" -password "$(openssl rand -hex 12)" -home /var/empty
	fi
	dseditgroup -o edit -a "$TESTUSER" -t user "$SVC"
	dscacheutil -flushcache
	out=$(sudo -u "$TESTUSER" /usr/local/bin/telec whoami) || fail "telec whoami as $TESTUSER failed: $out"
	echo "$out"
	echo "$out" | grep -q "$TESTUSER" || fail "whoami does not name $TESTUSER"
	say "$TESTUSER reaches the daemon through the $SVC group"
}

step_upgrade() {
	before=$(pid)
	echo "kept across the upgrade" >"$BASE/shared/verify-note"
	installer -pkg "$PKG" -target /
	wait_running
	after=$(pid)
	[ "$before" != "$after" ] || fail "the daemon was not restarted by the upgrade (pid $after)"
	grep -q kept "$BASE/shared/verify-note" || fail "the upgrade lost data"
	say "upgraded over itself: pid $before -> $after, data kept"
}

step_uninstall() {
	"$BASE/uninstall" --delete-data
	if launchctl print "system/$LABEL" >/dev/null 2>&1; then fail "the job is still loaded"; fi
	if pkgutil --pkgs | grep -qx "$LABEL"; then fail "the receipt is still there"; fi
	if dscl . -read "/Users/$SVC" >/dev/null 2>&1; then fail "the user $SVC is still there"; fi
	for p in "$BASE" "/Library/LaunchDaemons/$LABEL.plist" /etc/newsyslog.d/teleclaude.conf /usr/local/bin/telec; do
		if [ -e "$p" ] || [ -L "$p" ]; then fail "$p is still there"; fi
	done
	sysadminctl -deleteUser "$TESTUSER" >/dev/null 2>&1 || true
	say "uninstalled"
}

# shellcheck disable=SC2086 # STEPS is split into words on purpose
[ $# -gt 0 ] || set -- $STEPS
for step in "$@"; do
	case " $STEPS " in *" $step "*) ;; *) fail "unknown step $step; steps: $STEPS" ;; esac
	say "== $step"
	"step_$step"
done
say "all done: $*"
