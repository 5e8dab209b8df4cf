#!/bin/sh
# The APT repository on a booted Debian 12: apt refuses a tampered, a
# foreign-signed and an unsigned repository, then installs teleclaude by
# name from the signed one, runs a session, and upgrades to a newer release
# published in its place with the session running on. Runs as a oneshot
# unit inside the container (TestRepoApt); the repositories are in $T/www
# (v1, v2 and the bad ones), served on 127.0.0.1 by a server started here,
# at the URL they were made for: http://127.0.0.1:8080/current/.
set -u
. /root/pkgtest/lib.sh
: >"$RES"

W=$T/www
URL=http://127.0.0.1:8080/current

# Only the TeleClaude repository: the container has no network, and what
# the package depends on is installed already.
mv /etc/apt/sources.list /etc/apt/sources.list.off 2>/dev/null
rm -f /etc/apt/sources.list.d/*

# publish NAME: the web server's directory now holds that build of the
# repository, as a release rsyncs dist/repo into place.
publish() { ln -sfn "$1" "$W/current"; }

serve() {
	python3 -m http.server --bind 127.0.0.1 --directory "$W" 8080 >"$T/http.log" 2>&1 &
	wait_for /usr/lib/apt/apt-helper download-file http://127.0.0.1:8080/v1/BUILD /tmp/probe
}

fresh_update() {
	rm -rf /var/lib/apt/lists/*
	apt-get update 2>&1
}

# refused NAME PATTERN: apt-get update fails on that repository with a
# message matching PATTERN (grep -E), and apt knows no teleclaude afterwards.
refused() {
	publish "$1"
	out=$(fresh_update)
	rc=$?
	printf '%s\n' "$out"
	[ $rc -ne 0 ] || { echo "apt-get update accepted the $1 repository (exit 0); apt said:"; printf '%s\n' "$out"; return 1; }
	printf '%s\n' "$out" | grep -Eq "$2" || { echo "apt's message does not match '$2'"; return 1; }
	if apt-cache show teleclaude >/dev/null 2>&1; then
		echo "apt knows teleclaude from the $1 repository:"
		apt-cache policy teleclaude
		return 1
	fi
}

# Both checks of a verified update: exit 0, no GPG warning, and the
# InRelease kept (apt keeps only what it verified).
verified_update() {
	out=$(fresh_update)
	rc=$?
	printf '%s\n' "$out"
	[ $rc -eq 0 ] || { echo "apt-get update failed (exit $rc)"; return 1; }
	lacks "$out" "W:" || return 1
	lacks "$out" "E:" || return 1
	ls /var/lib/apt/lists/127.0.0.1:8080_current_deb_dists_stable_InRelease || return 1
}

from_repo() {
	pol=$(apt-cache policy teleclaude)
	echo "$pol"
	contains "$pol" "http://127.0.0.1:8080/current/deb stable/main" || return 1
	contains "$pol" "Candidate: $1"
}

# A session that stays up across the upgrade: its id goes to $T/sid, its
# host's main pid to $T/hostpid.
start_session() {
	out=$(as alice telec sessions start --project demo --agent shell --json) || { echo "$out"; return 1; }
	id=$(printf '%s\n' "$out" | sed -n 's/^  "id": "\(.*\)",$/\1/p')
	[ -n "$id" ] || { echo "no id in: $out"; return 1; }
	echo "$id" >"$T/sid"
	prop "teleclaude-sessions@$(id -u alice).service" MainPID >"$T/hostpid"
	as alice telec sessions send "$id" 'echo before-$((6*7))' || return 1
	wait_for sh -c ". /root/pkgtest/lib.sh; as alice telec sessions transcript $id | grep -q '^before-42'"
}

session_survived() {
	id=$(cat "$T/sid")
	eq "$(prop "teleclaude-sessions@$(id -u alice).service" MainPID)" "$(cat "$T/hostpid")" || { echo "the session host was restarted"; return 1; }
	as alice telec sessions send "$id" 'echo after-$((6*7))' || return 1
	wait_for sh -c ". /root/pkgtest/lib.sh; as alice telec sessions transcript $id | grep -q '^after-42'" ||
		{ as alice telec sessions transcript "$id"; return 1; }
	as alice telec sessions transcript "$id" | grep -q '^before-42' || { echo "the transcript lost what came before"; return 1; }
}

check http-server-on-loopback serve
# The user's setup, as the README says, from the files the release ships.
cp "$W/v1/teleclaude-archive-keyring.gpg" /usr/share/keyrings/
cp "$W/v1/teleclaude.sources" /etc/apt/sources.list.d/

# --- Refused -------------------------------------------------------------------
# The changed Packages.gz has another size, which apt checks first.
check refuses-packages-changed-after-signing refused tampered "Hash Sum mismatch|File has unexpected size"
check refuses-inrelease-of-another-key refused otherkey "NO_PUBKEY [0-9A-F]{16}"
check refuses-unsigned-repository refused unsigned "is not signed"

# --- Installed by name -----------------------------------------------------------
publish v1
check apt-update-verifies-the-signature verified_update
check candidate-from-the-repository from_repo 1.0.0-1
check apt-get-install-by-name run install.log apt-get install -y teleclaude
check installed-old-version eq "$(dpkg-query -W -f='${Version}' teleclaude)" 1.0.0-1
make_users
write_config
write_secrets
check repo-start-reaches-ready started_ready
check repo-session-as-owner sessions_as_owner alice
check session-running-before-upgrade start_session

# --- A newer release published in its place -------------------------------------
publish v2
check apt-update-sees-the-new-release verified_update
check candidate-is-the-new-release from_repo 1.0.1-1
pid=$(main_pid)
check apt-get-upgrade run upgrade.log apt-get upgrade -y
check upgraded-to-new-version eq "$(dpkg-query -W -f='${Version}' teleclaude)" 1.0.1-1
check upgrade-restarted-the-daemon sh -c '[ "$(systemctl show -p MainPID --value teleclaude.service)" != "$0" ] && [ "$(systemctl is-active teleclaude.service)" = active ]' "$pid"
check upgrade-runs-the-new-version sh -c '. /root/pkgtest/lib.sh; contains "$(as alice telec status --json)" "\"version\": \"v1.0.1\""'
check session-survived-the-upgrade session_survived

finish
