# shellcheck shell=sh
# config_check: a config the daemon would refuse leaves the package
# installed, and the admin learns what to fix (teleclaude config check
# lists it by line).

config_check() {
	if teleclaude config check --help >/dev/null 2>&1; then
		if ! out=$(teleclaude config check 2>&1); then
			say "warning: /etc/teleclaude has problems; the daemon will not start until they are fixed:"
			echo "$out" | sed 's/^/    /'
		fi
	fi
}
