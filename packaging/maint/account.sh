# shellcheck shell=sh
# The service account. One that existed before the package is used as it
# is, never changed: check_account says what differs from what the package
# would have made. $1 is the fix for a login shell. Sets entry for the
# caller's own checks.

check_account() {
	entry=$(getent passwd teleclaude)
	shell=$(echo "$entry" | cut -d: -f7)
	uid=$(echo "$entry" | cut -d: -f3)
	case "$shell" in
	*/nologin | */false) ;;
	*) say "warning: the existing user teleclaude has the login shell $shell; the service needs none ($1)" ;;
	esac
	if [ "$uid" -ge 1000 ] 2>/dev/null; then
		say "warning: the user teleclaude has uid $uid, in the range of people's accounts: it was not made by this package. The service runs with it; a system uid (below 1000) is what it should have."
	fi
}
