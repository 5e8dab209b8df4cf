#!/bin/sh
# with-postgres.sh CMD...: run CMD with a throwaway PostgreSQL server.
#
# Starts a private cluster (initdb into a temporary directory) on a free
# loopback port and a Unix socket inside that directory, exports
#   TELECLAUDE_TEST_PG_DSN=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   TELECLAUDE_TEST_PG_SOCKET_DIR=<the socket directory>
# runs CMD, then stops the server and removes the directory. Exits with
# CMD's status. If TELECLAUDE_TEST_PG_DSN is already set, it just runs CMD.
#
# Authentication is trust (superuser "postgres"): the server listens only
# on 127.0.0.1 and a private socket, and lives as long as CMD. The
# exceptions: members of the role tc_password_auth must give a password
# over TCP, so that tests can see a wrong password refused; and the
# database tc_peer_auth takes peer authentication on the socket, as a
# Debian server does, so that setup-db's tests see the real thing.
set -eu

if [ -n "${TELECLAUDE_TEST_PG_DSN:-}" ]; then
	exec "$@"
fi
if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ ! -x "$bindir/initdb" ]; then
	echo "with-postgres: no PostgreSQL server binaries (pg_config --bindir, /usr/lib/postgresql/*/bin); apt-get install postgresql" >&2
	exit 1
fi

# /tmp rather than $TMPDIR: a Unix socket path must stay under ~100 bytes.
dir=$(mktemp -d /tmp/tc-pg.XXXXXX)
data=$dir/data
as=""
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root.
	if ! id postgres >/dev/null 2>&1; then
		echo "with-postgres: running as root needs the OS user postgres (the postgresql package creates it)" >&2
		rmdir "$dir"
		exit 1
	fi
	chown postgres "$dir"
	as="runuser -u postgres --"
fi
# Others may connect through the socket (tests switch users).
chmod 0755 "$dir"

child=""
cleanup() {
	if [ -f "$data/postmaster.pid" ]; then
		(cd / && $as "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$dir"
}
# On a signal: pass it on to CMD once it runs (see below), else just exit;
# the EXIT trap stops the server either way.
on_signal() {
	if [ -n "$child" ]; then
		kill -"$1" "$child" 2>/dev/null || true
	else
		exit "$2"
	fi
}
trap cleanup EXIT
trap 'on_signal HUP 129' HUP
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# Run as the server's user from a directory it may enter.
as_pg() {
	(cd "$dir" && $as "$@")
}

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	else
		echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
	fi
}

if ! as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
	echo "with-postgres: initdb failed:" >&2
	cat "$dir/initdb.log" >&2
	exit 1
fi
# Written in place, so that the file keeps its owner.
cat >"$data/pg_hba.conf" <<'EOF'
# TYPE DATABASE     USER               ADDRESS        METHOD
local  tc_peer_auth all                               peer
local  all          all                               trust
host   all          +tc_password_auth  127.0.0.1/32   scram-sha-256
host   all          all                127.0.0.1/32   trust
EOF

# The port is free when we ask; another process may take it before the
# server binds, so try again a few times.
started=""
for attempt in 1 2 3 4 5; do
	port=$(free_port)
	if as_pg "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null 2>&1; then
		started=1
		break
	fi
	grep -q "could not bind" "$dir/server.log" 2>/dev/null || break
	echo "with-postgres: port $port was taken, trying another (attempt $attempt)" >&2
done
if [ -z "$started" ]; then
	echo "with-postgres: the PostgreSQL server did not start; its log:" >&2
	cat "$dir/server.log" >&2 || true
	exit 1
fi

"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
	-c "CREATE ROLE tc_password_auth NOLOGIN" >/dev/null

export TELECLAUDE_TEST_PG_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export TELECLAUDE_TEST_PG_SOCKET_DIR="$dir"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port and $dir" >&2
# CMD runs as a child so that a signal to this script reaches it at once
# (a shell runs traps only after its foreground command ends); fd 3 keeps
# the caller's stdin, which sh would give a background command as /dev/null.
exec 3<&0
"$@" <&3 3<&- &
child=$!
status=0
wait "$child" || status=$?
# A trapped signal interrupts wait; wait again for CMD's own status.
while kill -0 "$child" 2>/dev/null; do
	status=0
	wait "$child" || status=$?
done
exit "$status"
