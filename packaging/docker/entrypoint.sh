#!/bin/sh
# Container entry point: the database password comes as a Docker secret
# (a file), the daemon takes it from the environment; it never sits in the
# compose file or the image.
set -e
if [ -n "${TELECLAUDE_DB_PASSWORD_FILE:-}" ]; then
	TELECLAUDE_DB_PASSWORD=$(cat "$TELECLAUDE_DB_PASSWORD_FILE")
	export TELECLAUDE_DB_PASSWORD
	unset TELECLAUDE_DB_PASSWORD_FILE
fi
exec /usr/bin/teleclaude "$@"
