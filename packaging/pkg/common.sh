# shellcheck shell=sh disable=SC2034 # the variables are for the scripts that source this
# What preinstall and postinstall share; they source it, it is never run.
# Installer runs both as root with $1 the package, $2 the install location
# and $3 the target volume, and logs what they print to /var/log/install.log.

LABEL=ai.instrukt.teleclaude
SVC=_teleclaude # the service user and its group
# A free id in 350-394 for both. Apple's own daemons keep below 300 and to
# 300-304 (_amavisd and friends); macOS makes groups on demand at 395-399
# (com.apple.access_ftp, _screensharing, com.apple.access_ssh, ...), so the
# range ends below them; people's accounts start at 501.
ID_FIRST=350
ID_LAST=394

SCRIPT=${0##*/}
say() { printf 'teleclaude %s: %s\n' "$SCRIPT" "$*"; }
die() {
	say "error: $*" >&2
	exit 1
}

umask 022

# set_root TARGET sets the paths under the target volume. Installer offers
# only the startup disk (the Distribution allows enable_localSystem alone),
# and the user and the launchd job made here belong to the running system,
# so another target is refused; the tests install into a scratch tree with
# TELECLAUDE_PKG_TESTING=1.
set_root() {
	target=${1:-/}
	if [ "$target" != / ] && [ "${TELECLAUDE_PKG_TESTING:-}" != 1 ]; then
		die "TeleClaude installs on the startup disk only, not on $target"
	fi
	ROOT=${target%/}
	BASE="$ROOT/Library/Application Support/TeleClaude"
	LOGS="$ROOT/Library/Logs/TeleClaude"
	PLIST="$ROOT/Library/LaunchDaemons/$LABEL.plist"
	LINK="$ROOT/usr/local/bin/telec"
}

# ds_get RECORD KEY prints a one-word attribute of a directory record, or
# nothing when the record or the key does not exist.
ds_get() {
	dscl . -read "$1" "$2" 2>/dev/null | awk -v k="$2:" '$1 == k { print $2; exit }'
}

# owner_of PATH prints the numeric owner of PATH.
owner_of() {
	# shellcheck disable=SC2012 # ls -n is the portable way to a numeric owner
	ls -ldn "$1" | awk '{ print $3 }'
}

# loaded reports whether launchd has the job.
loaded() {
	launchctl print "system/$LABEL" >/dev/null 2>&1
}
