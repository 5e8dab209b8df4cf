# Helpers for the scenarios (deb.sh, rpm.sh) that run inside the booted
# Debian root. Each check appends one line to $RES, which the Go test on the
# host turns into a subtest:
#   PASS name | FAIL name: what went wrong | SKIP name: why
# The scenario ends with DONE; a missing DONE means it stopped half-way.
# Everything the checks print goes to the log ($T/log, shown on failure).

T=/root/pkgtest
RES=$T/results
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin

# check NAME CMD...: PASS when CMD (a program or a function) succeeds, FAIL
# with the last lines of its output when it does not.
check() {
	_name=$1
	shift
	echo "== $_name"
	if _out=$("$@" 2>&1); then
		echo "PASS $_name" >>"$RES"
	else
		echo "FAIL $_name: $(printf '%s' "$_out" | tail -n 12 | tr '\n' '|')" >>"$RES"
	fi
	printf '%s\n' "$_out"
}

skip() { echo "SKIP $1: $2" >>"$RES"; }
finish() { echo DONE >>"$RES"; }

# run LOG CMD...: runs CMD with its output in $T/LOG (and the log), and
# returns its exit status.
run() {
	_log=$T/$1
	shift
	"$@" >"$_log" 2>&1
	_rc=$?
	echo "-- $* (exit $_rc):"
	cat "$_log"
	return $_rc
}

eq() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
contains() {
	case "$1" in
	*"$2"*) ;;
	*) echo "'$2' is not in: $1"; return 1 ;;
	esac
}
lacks() {
	case "$1" in
	*"$2"*) echo "'$2' should not be in: $1"; return 1 ;;
	esac
}
file_has() { grep -q -- "$2" "$1" || { echo "'$2' not in $1:"; cat "$1"; return 1; }; }
owner_mode() { eq "$(stat -c '%U:%G %a' "$1")" "$2"; }
is_socket() { [ -S "$1" ] || { echo "$1 is not a socket"; ls -la "$1"; return 1; }; }
state() { systemctl is-active "$1" 2>/dev/null; }
enabled() { systemctl is-enabled "$1" 2>/dev/null; }
main_pid() { systemctl show -p MainPID --value teleclaude.service; }
prop() { systemctl show -p "$2" --value "$1"; }

# as USER CMD...: CMD as USER with the user's groups, as a login would give
# them; the environment is a plain one.
as() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$(id -g "$_u")" --init-groups env -i PATH=/usr/bin:/bin HOME="/home/$_u" USER="$_u" "$@"
}

# wait_for CMD...: polls CMD for up to 20 seconds (a wait, not a timing).
wait_for() {
	_i=0
	until "$@" >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -gt 200 ] && { echo "timed out waiting for: $*"; return 1; }
		sleep 0.1
	done
}

json_field() { sed -n "s/.*\"$1\": *\"\\{0,1\\}\\([^\",]*\\)\"\\{0,1\\}.*/\\1/p" | head -n 1; }

# The config the checks give the daemon: two people, one project.
write_config() {
	_db=${1:-}
	[ -n "$_db" ] || _db="{engine: sqlite, path: /var/lib/teleclaude/teleclaude.db}"
	mkdir -p /srv/demo
	cat >/etc/teleclaude/config.yml <<EOF
# Edited by the admin (package test).
computer: {name: pkgtest}
people:
  - {name: alice, role: admin, os_username: alice}
  - {name: bob, role: member, os_username: bob}
  - {name: dora, role: member, os_username: dora}
projects:
  - {name: demo, path: /srv/demo}
agents:
  shell: {command: ["/bin/sh"]}
database: $_db
socket: {path: /run/teleclaude/teleclaude.sock, group: teleclaude, mode: "0660"}
sessions: {min_uid: 1000, default_agent: shell}
logging: {level: debug, format: text}
EOF
}

# The admin's secrets, written into the packaged file: it keeps its owner
# and mode.
write_secrets() {
	cat >/etc/teleclaude/secrets.yml <<EOF
# Edited by the admin (package test).
agent_env: {PKGTEST_KEY: "pkgtest-s3cret"}
EOF
}

make_users() {
	for u in alice bob carol; do
		id "$u" >/dev/null 2>&1 || useradd -m -s /bin/sh "$u"
	done
	usermod -aG teleclaude alice
	usermod -aG teleclaude bob
}

whoami_role() { as "$1" telec whoami --json | json_field role; }

# Checks shared by both formats: the account, the directories, the units.
check_account() {
	entry=$(getent passwd teleclaude) || { echo "no user teleclaude"; return 1; }
	getent group teleclaude >/dev/null || { echo "no group teleclaude"; return 1; }
	uid=$(echo "$entry" | cut -d: -f3)
	[ "$uid" -lt 1000 ] || { echo "uid $uid is not a system uid"; return 1; }
	eq "$(echo "$entry" | cut -d: -f6)" /nonexistent || return 1
	case "$(echo "$entry" | cut -d: -f7)" in
	*/nologin) ;;
	*) echo "login shell: $entry"; return 1 ;;
	esac
	[ ! -e /nonexistent ] || { echo "/nonexistent exists"; return 1; }
}

check_dirs() {
	owner_mode /etc/teleclaude "root:root 755" &&
		owner_mode /etc/teleclaude/config.yml "root:root 644" &&
		owner_mode /etc/teleclaude/secrets.yml "teleclaude:root 600" &&
		owner_mode /var/lib/teleclaude "teleclaude:teleclaude 711" &&
		owner_mode /var/lib/teleclaude/shared "teleclaude:teleclaude 755" &&
		owner_mode /var/log/teleclaude "teleclaude:teleclaude 700" &&
		owner_mode /run/teleclaude "teleclaude:teleclaude 755" &&
		owner_mode /run/teleclaude/users "teleclaude:teleclaude 711"
}

check_units_files() {
	for u in teleclaude.service teleclaude.socket teleclaude-sessions@.service run-teleclaude-users.mount; do
		[ -f "/usr/lib/systemd/system/$u" ] || { echo "no /usr/lib/systemd/system/$u"; return 1; }
		[ ! -e "/etc/systemd/system/$u" ] || { echo "/etc/systemd/system/$u exists"; return 1; }
	done
	[ -f /usr/lib/sysusers.d/teleclaude.conf ] && [ -f /usr/lib/tmpfiles.d/teleclaude.conf ] &&
		[ -f /usr/share/polkit-1/rules.d/50-teleclaude.rules ]
}

enabled_not_started() {
	eq "$(enabled teleclaude.service)" enabled &&
		eq "$(enabled teleclaude.socket)" enabled &&
		eq "$(state teleclaude.service)" inactive &&
		eq "$(state teleclaude.socket)" inactive
}

# systemd-analyze verify prints nothing for units it finds clean.
analyze_verify() {
	out=$(systemd-analyze verify teleclaude.socket teleclaude.service teleclaude-sessions@1000.service run-teleclaude-users.mount 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ -z "$out" ] || { echo "exit $rc: $out"; return 1; }
}

# The exposure figure goes to $T/security (the host logs it); the goal is
# 1.5 or less.
analyze_security() {
	systemd-analyze security --no-pager teleclaude.service >"$T/security" 2>&1
	# Every service of this system, for comparison.
	systemd-analyze security --no-pager >"$T/security-all" 2>&1
	score=$(sed -n 's/.*Overall exposure level for teleclaude.service: \([0-9.]*\).*/\1/p' "$T/security")
	[ -n "$score" ] || { cat "$T/security"; return 1; }
	awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || { echo "exposure $score > 1.5"; cat "$T/security"; return 1; }
}

started_ready() {
	systemctl start teleclaude.service || { journalctl -u teleclaude --no-pager | tail -n 20; return 1; }
	# Type=notify: start returns once READY=1 came, i.e. the socket accepts
	# and the database is migrated.
	eq "$(state teleclaude.service)" active &&
		contains "$(prop teleclaude.service StatusText)" "serving on /run/teleclaude/teleclaude.sock" &&
		eq "$(prop teleclaude.service NRestarts)" 0
}

runs_as_service_user() {
	pid=$(main_pid)
	eq "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$(id -u teleclaude)"
}

socket_owned() {
	is_socket /run/teleclaude/teleclaude.sock && owner_mode /run/teleclaude/teleclaude.sock "teleclaude:teleclaude 660"
}

# Socket activation: with the service stopped, the socket stays (the trap
# of a socket in the service's RuntimeDirectory=), and a connection starts
# the daemon again.
socket_activation() {
	systemctl stop teleclaude.service || return 1
	eq "$(state teleclaude.service)" inactive || return 1
	eq "$(state teleclaude.socket)" active || return 1
	socket_owned || return 1
	owner_mode /run/teleclaude "teleclaude:teleclaude 755" || return 1
	[ -d /run/teleclaude/users ] || { echo "/run/teleclaude/users is gone"; return 1; }
	out=$(as alice telec status --json) || { echo "telec status: $out"; return 1; }
	contains "$out" '"mode": "system"' || return 1
	eq "$(state teleclaude.service)" active || return 1
	journalctl -u teleclaude.service --no-pager | grep -q "using the socket passed by systemd" ||
		{ echo "the daemon did not use the socket systemd passed"; return 1; }
}

# The daemon pings the watchdog; with a 2 s watchdog it must survive a few
# intervals without being restarted.
watchdog_pings() {
	mkdir -p /run/systemd/system/teleclaude.service.d
	printf '[Service]\nWatchdogSec=2s\n' >/run/systemd/system/teleclaude.service.d/watchdog.conf
	systemctl daemon-reload && systemctl restart teleclaude.service || return 1
	eq "$(prop teleclaude.service WatchdogUSec)" 2s || return 1
	sleep 7
	r=0
	eq "$(state teleclaude.service)" active && eq "$(prop teleclaude.service NRestarts)" 0 || r=1
	rm -r /run/systemd/system/teleclaude.service.d
	systemctl daemon-reload && systemctl restart teleclaude.service || r=1
	return $r
}

# wait_role USER ROLE: polls whoami until USER has ROLE (a reload applies
# to new connections once the daemon has read the file).
wait_role() {
	_i=0
	until [ "$(whoami_role "$1" 2>/dev/null)" = "$2" ]; do
		_i=$((_i + 1))
		[ $_i -gt 200 ] && { echo "$1 is not $2:"; as "$1" telec whoami --json; return 1; }
		sleep 0.1
	done
}

roles_from_whoami() { wait_role alice admin && wait_role bob member; }

# SIGHUP through systemctl reload: a changed role applies without a restart.
reload_applies() {
	pid=$(main_pid)
	sed -i 's/{name: bob, role: member/{name: bob, role: contributor/' /etc/teleclaude/config.yml
	systemctl reload teleclaude.service && wait_role bob contributor || return 1
	sed -i 's/{name: bob, role: contributor/{name: bob, role: member/' /etc/teleclaude/config.yml
	systemctl reload teleclaude.service && wait_role bob member || return 1
	eq "$(main_pid)" "$pid"
}

# The same, through systemd-run as a login-like service would run it.
whoami_via_systemd_run() {
	out=$(systemd-run --quiet --wait --pipe -p User=bob telec whoami --json) || { echo "$out"; return 1; }
	contains "$out" '"role": "member"'
}

# Users reach the socket through the teleclaude group; that group must not
# reach the secrets. The daemon still reads them: it says so in its log (and
# would not start at all on a secrets file it cannot read), with no warning
# about their permissions.
secrets_closed_to_socket_users() {
	id -nG alice | tr ' ' '\n' | grep -qx teleclaude || { echo "alice is not in the teleclaude group"; return 1; }
	as alice telec whoami --json >/dev/null || { echo "alice cannot use the socket"; return 1; }
	if out=$(as alice cat /etc/teleclaude/secrets.yml 2>&1); then
		echo "alice, a user of the socket, read the secrets: $out"
		return 1
	fi
	contains "$out" "Permission denied" || return 1
	eq "$(state teleclaude.service)" active || return 1
	wait_for secrets_read || { echo "the daemon did not log reading the secrets:"; daemon_log | tail -n 20; return 1; }
	lacks "$(daemon_log)" "fix: chown" || return 1
}

# daemon_log is the log of the running daemon's start, and nothing before it.
daemon_log() { journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(prop teleclaude.service InvocationID)"; }
secrets_read() { daemon_log | grep -q "secrets read from /etc/teleclaude/secrets.yml"; }

outsider_gets_group_fix() {
	out=$(as carol telec whoami 2>&1)
	rc=$?
	eq "$rc" 3 && contains "$out" "permission denied" && contains "$out" "usermod -aG teleclaude carol"
}

# A session USER starts runs in teleclaude-sessions@<their uid>.service,
# the host, tmux and the session's own program all as them and none as
# the service user; what they type reaches the program and its output their
# transcript. The polkit rule lets the service user start that unit for
# them, and no unit for a system uid.
sessions_as_owner() {
	_who=$1
	out=$(as "$_who" telec sessions start --project demo --agent shell --json) || { echo "$out"; return 1; }
	id=$(printf '%s\n' "$out" | sed -n 's/^  "id": "\(.*\)",$/\1/p')
	[ -n "$id" ] || { echo "no id in: $out"; return 1; }
	uid=$(id -u "$_who")
	unit="teleclaude-sessions@$uid.service"
	eq "$(systemctl is-active "$unit")" active || { systemctl status --no-pager "$unit"; return 1; }
	procs=$(grep -l "/$unit\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3)
	[ "$(echo "$procs" | wc -w)" -ge 3 ] || { echo "the unit holds only: $procs"; return 1; }
	for p in $procs; do
		_puid=$(awk '/^Uid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue # gone meanwhile (a short-lived helper)
		eq "$_puid" "$uid" || { echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"; return 1; }
	done
	as "$_who" telec sessions send "$id" 'echo hello-$((6*7))' || return 1
	wait_for sh -c ". /root/pkgtest/lib.sh; as $_who telec sessions transcript $id | grep -q '^hello-42'" || return 1
	list=$(as "$_who" telec sessions list --json) && contains "$list" '"project": "demo"' || return 1
	as "$_who" telec sessions end "$id" >/dev/null
}

# dora's account is in the directory, not in /etc/passwd: libnss-extrausers
# stands in for LDAP or SSSD (NSS reads /var/lib/extrausers). Her uid is of
# the kind Active Directory gives, above the packaged polkit rule's range.
# She is in the local teleclaude group, as an admin adds directory users.
DIR_UID=1668400001
directory_account() {
	mkdir -p /var/lib/extrausers /home/dora
	echo "dora:x:$DIR_UID:$DIR_UID:Dora (directory):/home/dora:/bin/sh" >/var/lib/extrausers/passwd
	echo "alice:x:$((DIR_UID + 1)):$DIR_UID:Not the local alice:/nonexistent:/bin/sh" >>/var/lib/extrausers/passwd
	echo "dora:x:$DIR_UID:" >/var/lib/extrausers/group
	sed -i -e 's/^passwd:.*/& extrausers/' -e 's/^group:.*/& extrausers/' /etc/nsswitch.conf
	chown "$DIR_UID:$DIR_UID" /home/dora
	if grep -q '^dora:' /etc/passwd; then echo "dora is in /etc/passwd"; return 1; fi
	eq "$(id -u dora)" "$DIR_UID"
}

# Before she is in the group, telec and doctor tell her the fix that works
# for a directory account: usermod refuses accounts not in /etc/passwd.
directory_outsider_fix() {
	out=$(as dora telec whoami 2>&1)
	eq "$?" 3 && contains "$out" "gpasswd -a dora teleclaude" || return 1
	out=$(as dora teleclaude doctor --json 2>&1)
	contains "$out" "gpasswd -a dora teleclaude" || return 1
	gpasswd -a dora teleclaude
}

# A directory account named like a local one (alice, the admin) is not
# her: the name of the uid must lead back to it, or the caller is public.
directory_namesake_is_public() {
	out=$(setpriv --reuid=$((DIR_UID + 1)) --regid="$DIR_UID" --groups="$(getent group teleclaude | cut -d: -f3)" \
		env -i PATH=/usr/bin:/bin HOME=/ USER=alice telec whoami --json) || { echo "$out"; return 1; }
	contains "$out" '"role": "public"'
}

# The polkit rule keeps directory uids out until the admin adds the
# packaged example with the directory's range; then it lets them in, and
# at once (polkitd watches its rules). pkcheck asks polkit exactly what
# systemd asks it when the daemon starts dora's unit.
directory_polkit_refused() {
	out=$(as dora telec sessions start --project demo --agent shell 2>&1) && { echo "started: $out"; return 1; }
	echo "$out"
	contains "$out" "teleclaude-sessions@$DIR_UID.service" &&
		contains "$out" "uids 1000-59999 only" &&
		contains "$out" /usr/share/doc/teleclaude/examples/49-teleclaude-directory.rules
}
directory_polkit_example() {
	f=/usr/share/doc/teleclaude/examples/49-teleclaude-directory.rules
	sed "s/^\( *\)var FIRST = .*/\1var FIRST = $DIR_UID, LAST = $DIR_UID;/" "$f" >/etc/polkit-1/rules.d/49-teleclaude-directory.rules || return 1
	grep -q "var FIRST = $DIR_UID, LAST = $DIR_UID;" /etc/polkit-1/rules.d/49-teleclaude-directory.rules || { echo "the range was not set"; return 1; }
	setpriv --reuid=teleclaude --regid=teleclaude --clear-groups sleep 60 &
	_p=$!
	wait_for pkcheck --action-id org.freedesktop.systemd1.manage-units --process "$_p" \
		--detail unit "teleclaude-sessions@$DIR_UID.service" --detail verb start
	_rc=$?
	kill "$_p"
	return $_rc
}

# sessions.tmux reaches the hosts systemd starts, though a unit start
# takes no arguments: the daemon writes it to /run/teleclaude/sessions.env,
# the unit's EnvironmentFile. The configured program here is a wrapper
# that notes who ran it; the sessions' environment does not carry it.
sessions_tmux_setting() {
	mkdir -m 0777 /var/lib/tmuxlog
	printf '#!/bin/sh\necho "$(id -u) $1" >>/var/lib/tmuxlog/log\nexec /usr/bin/tmux "$@"\n' >/usr/local/bin/tmux-logged
	chmod 755 /usr/local/bin/tmux-logged
	uid=$(id -u alice)
	systemctl stop "teleclaude-sessions@$uid.service"
	sed -i 's|^sessions: {|sessions: {tmux: /usr/local/bin/tmux-logged, |' /etc/teleclaude/config.yml
	systemctl restart teleclaude.service || return 1
	file_has /run/teleclaude/sessions.env "TELECLAUDE_TMUX='/usr/local/bin/tmux-logged'" || return 1
	sessions_as_owner alice || return 1
	grep -q "^$uid " /var/lib/tmuxlog/log || { echo "alice's host did not run the configured tmux:"; cat /var/lib/tmuxlog/log; return 1; }
	out=$(as alice telec sessions start --project demo --agent shell --json) || { echo "$out"; return 1; }
	id=$(printf '%s\n' "$out" | sed -n 's/^  "id": "\(.*\)",$/\1/p')
	as alice telec sessions send "$id" 'env | grep -c TELECLAUDE_TMUX' || return 1
	wait_for sh -c ". /root/pkgtest/lib.sh; as alice telec sessions transcript $id | grep -qx 0" || { as alice telec sessions transcript "$id"; return 1; }
	as alice telec sessions end "$id" >/dev/null
	write_config
	systemctl stop "teleclaude-sessions@$uid.service"
	systemctl restart teleclaude.service
}

polkit_refuses_system_uids() {
	for u in 0 65534; do
		out=$(runuser -u teleclaude -- systemctl start "teleclaude-sessions@$u.service" 2>&1) &&
			{ echo "the service user started a session host for uid $u"; return 1; }
		contains "$out" "Access denied" || contains "$out" "Interactive authentication required" || return 1
	done
}

check_sessions() {
	check sessions-start-as-owner sessions_as_owner alice
	check sessions-tmux-setting-reaches-the-host sessions_tmux_setting
	check directory-account directory_account
	check directory-outsider-gets-the-gpasswd-fix directory_outsider_fix
	check directory-user-role-from-whoami eq "$(whoami_role dora)" member
	check directory-namesake-of-a-local-admin-is-public directory_namesake_is_public
	check directory-uid-refused-by-packaged-polkit-rule directory_polkit_refused
	check directory-polkit-example-lets-in directory_polkit_example
	check directory-user-sessions-as-owner sessions_as_owner dora
	check polkit-refuses-system-uids polkit_refuses_system_uids
}

# Users' session directories are on a tmpfs of their own, the service
# user's, 0711, bounded, and closed to devices, setuid and execution.
users_dir_own_tmpfs() {
	out=$(findmnt -n -o FSTYPE,OPTIONS /run/teleclaude/users) || { echo "/run/teleclaude/users is not a mount point:"; findmnt -R /run; return 1; }
	contains "$out" tmpfs && contains "$out" size= && contains "$out" noexec && contains "$out" nosuid && contains "$out" nodev || return 1
	owner_mode /run/teleclaude/users "teleclaude:teleclaude 711"
}

# A user filling their own session directory fills the users' tmpfs (made
# small here, as an admin's drop-in would) and never /run.
users_dir_full_leaves_run() {
	d=/run/teleclaude/users/$(id -u alice)
	[ -d "$d" ] || { echo "no $d (alice's sessions made it)"; return 1; }
	mount -o remount,size=16M /run/teleclaude/users || return 1
	before=$(df --output=avail /run | tail -n 1)
	if as alice dd if=/dev/zero of="$d/fill" bs=1M count=64 2>"$T/dd.err"; then
		rm -f "$d/fill"
		echo "alice wrote 64 MiB into a users tmpfs of 16 MiB"
		return 1
	fi
	after=$(df --output=avail /run | tail -n 1)
	rm -f "$d/fill"
	mount -o remount,size=10% /run/teleclaude/users
	grep -q "No space left" "$T/dd.err" || { cat "$T/dd.err"; return 1; }
	[ $((before - after)) -lt 1024 ] || { echo "/run lost $((before - after)) KiB to alice's file"; return 1; }
}

# The flood of issue 12 against the shipped unit: bob holds 200
# connections that drip their bodies; alice's (an admin's) whoami is
# answered within 3 seconds, bob holds no more than his share (32), and the
# daemon's descriptors grow by no more than that share.
flood_admin_whoami() {
	install -m 0755 /root/pkgtest/bin/flood /usr/local/bin/tc-flood || return 1
	pid=$(main_pid)
	fd_before=$(ls /proc/"$pid"/fd | wc -l)
	as bob /usr/local/bin/tc-flood /run/teleclaude/teleclaude.sock 200 20s >"$T/flood.out" 2>&1 &
	fpid=$!
	wait_for grep -q opened "$T/flood.out" || { kill "$fpid"; cat "$T/flood.out"; return 1; }
	fd_during=$(ls /proc/"$pid"/fd | wc -l)
	t0=$(date +%s%N)
	out=$(timeout 10 sh -c '. /root/pkgtest/lib.sh; as alice telec whoami --json' 2>&1)
	rc=$?
	took=$((($(date +%s%N) - t0) / 1000000))
	wait "$fpid"
	cat "$T/flood.out"
	echo "admin whoami during the flood: exit $rc in $took ms; daemon descriptors $fd_before before, $fd_during during"
	[ $rc -eq 0 ] && contains "$out" '"role": "admin"' || return 1
	[ "$took" -lt 3000 ] || { echo "too slow"; return 1; }
	held=$(sed -n 's/^held=\([0-9]*\) .*/\1/p' "$T/flood.out")
	[ -n "$held" ] && [ "$held" -le 32 ] || { echo "bob held $held connections"; return 1; }
	[ $((fd_during - fd_before)) -le 48 ] || { echo "the daemon's descriptors grew by $((fd_during - fd_before))"; return 1; }
}

pg_start() {
	systemctl start postgresql.service &&
		wait_for test -S /var/run/postgresql/.s.PGSQL.5432
}

pg_query() { runuser -u postgres -- psql -X -tA -c "$1"; }

pg_role_and_db() {
	eq "$(pg_query "select count(*) from pg_roles where rolname = 'teleclaude'")" 1 &&
		eq "$(pg_query "select count(*) from pg_database where datname = 'teleclaude'")" 1
}

# The daemon on PostgreSQL through the local socket, with peer
# authentication: no password in the config, the secrets, the unit's
# environment or the role.
daemon_on_postgres() {
	write_config "{engine: postgresql, host: /var/run/postgresql, dbname: teleclaude, user: teleclaude}"
	systemctl restart teleclaude.service || { journalctl -u teleclaude --no-pager | tail -n 20; return 1; }
	out=$(as alice telec status --json) || { echo "$out"; return 1; }
	contains "$out" '"engine": "postgresql"' || return 1
	grep -v '^[[:space:]]*#' /etc/teleclaude/secrets.yml | grep -qi password && { echo "a password in secrets.yml"; return 1; }
	grep -qi password /etc/teleclaude/config.yml && { echo "a password in config.yml"; return 1; }
	lacks "$(prop teleclaude.service Environment)" PASSWORD || return 1
	eq "$(pg_query "select rolpassword is null from pg_authid where rolname = 'teleclaude'")" t || return 1
	grep -Eq '^local[[:space:]]+all[[:space:]]+all[[:space:]]+peer' /etc/postgresql/15/main/pg_hba.conf ||
		{ echo "pg_hba.conf has no local peer line"; return 1; }
}

# The package's scripts touch PostgreSQL only when the config asks for it:
# under SQLite the upgrade with PostgreSQL running made nothing; once the
# config says engine: postgresql, configure makes the role and database.
no_role_and_db() {
	eq "$(pg_query "select count(*) from pg_roles where rolname = 'teleclaude'")" 0 &&
		eq "$(pg_query "select count(*) from pg_database where datname = 'teleclaude'")" 0
}

check_postgres() {
	check sqlite-config-left-postgresql-alone no_role_and_db
	write_config "{engine: postgresql, host: /var/run/postgresql, dbname: teleclaude, user: teleclaude}"
	check postinst-configure-with-postgresql-config run pgconfigure.log /var/lib/dpkg/info/teleclaude.postinst configure "$(dpkg-query -W -f='${Version}' teleclaude)"
	check postinst-created-role-and-database pg_role_and_db
	check daemon-on-postgresql-with-peer-auth daemon_on_postgres
	# Back to SQLite for the rest.
	write_config
	systemctl restart teleclaude.service
}

# A maintainer script run again in the state it left must change nothing.
state_snapshot() {
	{
		getent passwd teleclaude
		getent group teleclaude
		stat -c '%n %U:%G %a' /etc/teleclaude /etc/teleclaude/* /var/lib/teleclaude /var/lib/teleclaude/shared \
			/var/log/teleclaude /run/teleclaude /run/teleclaude/users 2>&1
		enabled teleclaude.service
		enabled teleclaude.socket
		state teleclaude.service
		state teleclaude.socket
		for _l in /etc/systemd/system/*.wants/teleclaude*; do
			[ -e "$_l" ] || [ -L "$_l" ] && echo "$_l"
		done
	}
}

same_state() {
	now=$(state_snapshot)
	[ "$now" = "$1" ] || { echo "state changed:"; echo "before:"; echo "$1"; echo "after:"; echo "$now"; return 1; }
}

twice() {
	for _i in 1 2; do
		"$@" || { echo "run $_i of $* failed"; return 1; }
	done
}
