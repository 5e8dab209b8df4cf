#!/bin/sh
# The main job, end to end: start a single-user daemon on embedded SQLite in
# the background, talk to it with telec, stop it. Data stays in
# ~/.teleclaude, so a second run shows the same database.
set -eu
bin=${1:-bin}
export TELECLAUDE_SYSTEM_MODE=0

log=$(mktemp)
"$bin/teleclaude" serve >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT

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

echo "\$ telec whoami"
"$bin/telec" whoami
echo
echo "\$ telec status"
"$bin/telec" status
echo
echo "\$ telec whoami --json"
"$bin/telec" whoami --json
echo "\$ telec status --json"
"$bin/telec" status --json

kill -TERM "$pid"
wait "$pid" || { echo "daemon exited with $?" >&2; cat "$log" >&2; exit 1; }
trap 'rm -f "$log"' EXIT
echo
echo "daemon log:"
cat "$log"
