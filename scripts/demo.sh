#!/bin/sh
# The main job, end to end: start a single-user daemon on embedded SQLite in
# the background, talk to it with telec (who am I, the daemon's status, a
# shell session in the home directory, its transcript), stop it. Data stays
# in ~/.teleclaude, so a second run shows the same database.
set -eu
bin=${1:-bin}
export TELECLAUDE_SYSTEM_MODE=0

log=$(mktemp)
# A run directory of the demo's own (socket, session host, tmux server), so
# that the end of the demo can stop everything it started: a session host
# and its tmux server outlive the daemon by design.
run=$(mktemp -d)
export TELECLAUDE_RUN_DIR="$run"
cleanup() {
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for sock in "$run"/users/*/tmux.sock; do
		[ -S "$sock" ] && tmux -S "$sock" kill-server 2>/dev/null
	done
	# The host runs `teleclaude session-host --dir $run/users/UID`; $run is
	# this demo's alone.
	for host in $(pgrep -f -- "session-host --dir $run/" || true); do
		kill "$host" 2>/dev/null
	done
	rm -rf "$run" "$log"
}
"$bin/teleclaude" serve >"$log" 2>&1 &
pid=$!
trap cleanup EXIT

# Wait until the daemon answers (it is ready once the socket accepts).
i=0
until "$bin/telec" status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "the daemon did not come up; its log:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.1
done

show() {
	echo "\$ telec $*"
	"$bin/telec" "$@"
	echo
}

show whoami
show status
show whoami --json
show status --json

if command -v tmux >/dev/null 2>&1; then
	echo "\$ telec sessions start --project home --agent shell --title demo"
	id=$("$bin/telec" sessions start --project home --agent shell --title demo --json |
		sed -n 's/^  "id": "\(.*\)",$/\1/p')
	echo "started session $id"
	echo
	show sessions send "$id" 'echo "hello from a TeleClaude session in $PWD"'
	# Output reaches the transcript within about a second of the shell
	# running it; a shell still starting up runs it when it is ready (on a
	# slow machine that took over 1.5 s), so wait for it, up to 15 s.
	for _ in $(seq 75); do
		"$bin/telec" sessions transcript "$id" 2>/dev/null | grep -q '^hello from a TeleClaude session' && break
		sleep 0.2
	done
	show sessions transcript "$id"
	show sessions list
	show sessions end "$id"
else
	echo "(tmux is not installed: skipping the session part of the demo)"
	echo
fi

kill -TERM "$pid"
wait "$pid" || { echo "daemon exited with $?" >&2; cat "$log" >&2; exit 1; }
echo "daemon log:"
cat "$log"
echo
echo "(the demo's session host and tmux server are stopped with it)"
