#!/bin/sh
# with-postgres.sh CMD...: run CMD with a throwaway PostgreSQL server.
#
# Starts a private cluster (initdb into a temporary directory) on a free
# loopback port and a Unix socket inside that directory, exports
# TELECLAUDE_TEST_PG_DSN (superuser "postgres", trust auth: it only listens
# on 127.0.0.1 and a private socket) and TELECLAUDE_TEST_PG_SOCKET_DIR, runs
# CMD, then stops the server and removes the directory. Exits with CMD's
# status. If TELECLAUDE_TEST_PG_DSN is already set, it just runs CMD.
set -eu

if [ -n "${TELECLAUDE_TEST_PG_DSN:-}" ]; then
	exec "$@"
fi

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ ! -x "$bindir/initdb" ]; then
	echo "with-postgres: no PostgreSQL server binaries (apt-get install postgresql)" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/tc-pg.XXXXXX)
chmod 0755 "$dir"
as=""
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root.
	chown postgres "$dir"
	as="runuser -u postgres --"
fi

cleanup() {
	$as "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A free port: ask the kernel for one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)

$as "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
	cat "$dir/initdb.log" >&2
	exit 1
}
if ! $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
	-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null; then
	echo "with-postgres: the server did not start; its log:" >&2
	cat "$dir/server.log" >&2
	exit 1
fi

export TELECLAUDE_TEST_PG_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export TELECLAUDE_TEST_PG_SOCKET_DIR="$dir"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
status=0
"$@" || status=$?
exit $status
