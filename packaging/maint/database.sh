# shellcheck shell=sh
# The database the config names, and PostgreSQL's role and database for it.

# teleclaude_db FIELD: the effective database setting (engine, path, host,
# port, dbname, user) from `teleclaude config check --json`; empty when the
# program or a valid config is missing.
teleclaude_db() {
	teleclaude config check --json 2>/dev/null |
		sed -n "/^  \"database\": {/,/^  }/s/^    \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1
}

# teleclaude_setup_db: the PostgreSQL role and database, only when the
# config says engine: postgresql (setup-db --if-configured checks again,
# and that it is this machine's server); with SQLite, PostgreSQL is none of
# the package's business.
teleclaude_setup_db() {
	teleclaude setup-db --help >/dev/null 2>&1 || return 0
	[ "$(teleclaude_db engine)" = postgresql ] || return 0
	if ! teleclaude setup-db --if-configured; then
		say "warning: teleclaude setup-db failed (above); once that is fixed, run: sudo teleclaude setup-db"
	fi
}
