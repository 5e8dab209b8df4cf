#!/bin/sh
# Sessions across a reboot (issue 15): the same root boots twice. The first
# boot installs the .deb, starts a session for alice and one for bob, and
# powers off with them running. The second boot is the reboot: /run is
# empty (no hosts, no tmux servers), and the very first answers of the
# daemon, to alice and bob through `telec sessions list` and `show`, must
# call those sessions lost, never running.
#
# The first request must reach the daemon before it says READY, or a
# daemon that settles statuses only after serving could win a race here.
# So a unit ordered before teleclaude.service (Type=exec: systemd starts
# the daemon as soon as that unit runs) asks at once: its connection waits
# in the socket unit's backlog and is the first the daemon answers. Had
# Reconcile not recorded the sessions lost before the API serves, the
# daemon would answer "running" from the database, its recorder marking
# them lost only at its first poll, a quarter second later.
set -u
. /root/pkgtest/lib.sh

ids() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
# status_of FILE ID: the status of session ID in a `sessions list --json`
# (alice, an admin, sees bob's too).
status_of() { python3 -c 'import json,sys; print(*[s["status"] for s in json.load(open(sys.argv[1])) if s["id"] == sys.argv[2]])' "$1" "$2"; }
# none_running FILE: no session of a `sessions list --json` is running.
none_running() { ! grep -q '"status": "running"' "$1" || { cat "$1"; return 1; }; }

if [ ! -e "$T/rebooting" ]; then
	# --- First boot: install, sessions for alice and bob, power off ----------
	: >"$RES"
	check install-exit-0 run install.log apt-get install -y "$(ls "$T"/new/*.deb)"
	make_users
	write_config
	write_secrets
	check daemon-started systemctl restart teleclaude.service
	start() {
		out=$(as "$1" telec sessions start --project demo --agent shell --json) || { echo "$out"; return 1; }
		printf '%s\n' "$out" | ids >"$T/id-$1" && [ -s "$T/id-$1" ]
	}
	check session-alice-started start alice
	check session-bob-started start bob
	running() {
		as "$1" telec sessions list --json >"$T/before-$1.json" || return 1
		eq "$(status_of "$T/before-$1.json" "$(cat "$T/id-$1")")" running
	}
	check before-reboot-alice-running running alice
	check before-reboot-bob-running running bob

	# The first questions after the reboot, asked by first-ask.service.
	cat >"$T/first-ask.sh" <<'EOS'
#!/bin/sh
. /root/pkgtest/lib.sh
# What the daemon's service was when the question went out: not yet active
# proves the answer is the daemon's first.
systemctl show -p ActiveState --value teleclaude.service >"$T/first-ask-state"
# telec gives up after 5 s without an answer; the daemon's start (it
# starts the users' hosts again) may take longer on a loaded machine.
for _i in 1 2 3 4 5 6; do
	as alice telec sessions list --json >"$T/after-alice.json" 2>"$T/after-alice.err" && break
done
as alice telec sessions show "$(cat "$T/id-alice")" --json >"$T/after-alice-show.json" 2>&1
as alice telec sessions list >"$T/after-alice.txt" 2>&1
as bob telec sessions list --json >"$T/after-bob.json" 2>&1
as bob telec sessions show "$(cat "$T/id-bob")" --json >"$T/after-bob-show.json" 2>&1
touch "$T/first-ask-done"
EOS
	cat >/etc/systemd/system/first-ask.service <<EOS
[Unit]
Description=The first questions to the daemon after the reboot
Before=teleclaude.service
After=teleclaude.socket
ConditionPathExists=$T/rebooting

[Service]
Type=exec
ExecStart=/bin/sh $T/first-ask.sh

[Install]
WantedBy=multi-user.target
EOS
	check first-ask-enabled systemctl enable first-ask.service
	touch "$T/rebooting"
	# The unit's ExecStopPost powers off; the sessions are still running.
	exit 0
fi

# --- Second boot: the reboot ------------------------------------------------
# first-ask.service ran before teleclaude.service; wait for its answers.
check first-ask-answered wait_for test -e "$T/first-ask-done"
check first-ask-before-the-daemon-was-ready sh -c 'st=$(cat $0); [ "$st" != active ] || { echo "teleclaude.service was already $st"; exit 1; }' "$T/first-ask-state"
lost_in_list() {
	eq "$(status_of "$T/after-$1.json" "$(cat "$T/id-$1")")" lost && none_running "$T/after-$1.json" ||
		{ cat "$T/after-$1.json" "$T/after-$1.err" 2>/dev/null; return 1; }
}
lost_in_show() {
	st=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["status"], bool(s.get("ended_at")))' "$T/after-$1-show.json") ||
		{ cat "$T/after-$1-show.json"; return 1; }
	eq "$st" "lost True"
}
check after-reboot-alice-list-says-lost lost_in_list alice
check after-reboot-alice-show-says-lost lost_in_show alice
check after-reboot-bob-list-says-lost lost_in_list bob
check after-reboot-bob-show-says-lost lost_in_show bob
check after-reboot-plain-list-not-running sh -c 'grep -q lost $0 && ! grep -q running $0 || { cat $0; exit 1; }' "$T/after-alice.txt"
check daemon-logged-them-lost sh -c '[ "$(journalctl -b -u teleclaude.service --no-pager -o cat | grep -c "recorded as lost")" -ge 2 ] || { journalctl -b -u teleclaude.service --no-pager | tail -n 30; exit 1; }'
finish
