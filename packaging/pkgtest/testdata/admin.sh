#!/bin/sh
# The admin's day with the .deb (issue 15), on a booted Debian 12 whose
# PostgreSQL cluster listens on 5433, as Debian numbers a second one: the
# install leaves PostgreSQL alone while the config says SQLite; setup-db
# finds the cluster and names its port; the package scripts run setup-db
# once the config says engine: postgresql; an upgrade keeps every user's
# sessions and a removal ends them all, systemd's and direct ones, and says
# how many; the purge names the PostgreSQL role and database it keeps.
set -u
. /root/pkgtest/lib.sh
: >"$RES"

OLD=$(ls "$T"/old/*.deb)
NEW=$(ls "$T"/new/*.deb)
info=/var/lib/dpkg/info
pgq() { runuser -u postgres -- psql -X -p 5433 -tA -c "$1"; }
role_and_db() { eq "$(pgq "select count(*) from pg_roles where rolname = 'teleclaude'")/$(pgq "select count(*) from pg_database where datname = 'teleclaude'")" "$1"; }

sed -i 's/^port = 5432/port = 5433/' /etc/postgresql/15/main/postgresql.conf
check postgresql-on-5433 sh -c 'systemctl start postgresql.service && . /root/pkgtest/lib.sh && wait_for test -S /var/run/postgresql/.s.PGSQL.5433 && [ ! -e /var/run/postgresql/.s.PGSQL.5432 ]'

# --- Install: the config says SQLite, so PostgreSQL is left alone -------------
check install-exit-0 run install.log apt-get install -y "$OLD"
check install-left-postgresql-alone role_and_db 0/0
check template-shows-port sh -c 'grep -q "^# database: {engine: postgresql, .*port: 5432" /etc/teleclaude/config.yml'
check banner-names-config-check-and-doctor sh -c 'grep -q "teleclaude config check" $0 && grep -q "teleclaude doctor" $0' "$T/install.log"
check banner-says-the-socket-restarts-the-daemon file_has "$T/install.log" "the socket starts it again at the next telec call"

# --- setup-db by hand finds the cluster on 5433 and says port: 5433 ------------
check setup-db-finds-5433 run setupdb.log teleclaude setup-db
check setup-db-said-where file_has "$T/setupdb.log" "found PostgreSQL in /var/run/postgresql on port 5433"
check setup-db-advice-has-the-port file_has "$T/setupdb.log" "database: {engine: postgresql, host: /var/run/postgresql, port: 5433, dbname: teleclaude, user: teleclaude}"
check setup-db-made-role-and-database role_and_db 1/1

# --- The config asks for PostgreSQL: the package's configure runs setup-db -----
pgq "drop database teleclaude" >/dev/null
pgq "drop role teleclaude" >/dev/null
make_users
write_config "{engine: postgresql, host: /var/run/postgresql, port: 5433, dbname: teleclaude, user: teleclaude}"
write_secrets
cur=$(dpkg-query -W -f='${Version}' teleclaude)
check configure-runs-setup-db run configure.log "$info/teleclaude.postinst" configure "$cur"
check configure-made-role-and-database role_and_db 1/1
check daemon-on-postgresql-5433 sh -c 'systemctl start teleclaude.service && . /root/pkgtest/lib.sh && contains "$(as alice telec status --json)" "\"engine\": \"postgresql\""'

# --- Sessions: alice and bob through systemd, carol's host started directly ----
# (as a daemon without systemd starts hosts)
start_session() {
	out=$(as "$1" telec sessions start --project demo --agent shell --json) || { echo "$out"; return 1; }
	eq "$(systemctl is-active "teleclaude-sessions@$(id -u "$1").service")" active
}
check session-alice start_session alice
check session-bob start_session bob
# The host takes whoever owns its directory for its daemon; carol's own
# directory will do here.
cuid=$(id -u carol)
install -d -o carol -g carol -m 0700 "/run/teleclaude/users/$cuid"
setpriv --reuid=carol --regid="$(id -g carol)" --init-groups setsid \
	/usr/bin/teleclaude session-host --dir "/run/teleclaude/users/$cuid" </dev/null >/dev/null 2>&1 &
direct_session() {
	wait_for test -S "/run/teleclaude/users/$cuid/tmux.sock" || return 1
	as carol tmux -S "/run/teleclaude/users/$cuid/tmux.sock" new-session -d -s direct sleep 1000
}
check session-carol-direct-host direct_session
sessions() { cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' | grep -o "session-host --dir /run/teleclaude/users/[0-9][0-9]*" | sort -u | wc -l; }
check three-hosts-running eq "$(sessions)" 3

# --- Upgrade: every session keeps running ---------------------------------------
check upgrade-exit-0 run upgrade.log apt-get install -y "$NEW"
check upgrade-kept-the-sessions sh -c '. /root/pkgtest/lib.sh; for u in alice bob; do [ "$(systemctl is-active "teleclaude-sessions@$(id -u $u).service")" = active ] || exit 1; done; as carol tmux -S "/run/teleclaude/users/$0/tmux.sock" has-session -t direct' "$cuid"
check upgrade-ended-nothing lacks "$(cat "$T/upgrade.log")" "sessions of"
check upgrade-re-ran-setup-db file_has "$T/upgrade.log" "config.yml already points the daemon here"

# --- Remove: every session ended, /run/teleclaude gone, one line says so ------
check remove-exit-0 run remove.log apt-get remove -y teleclaude
check remove-said-how-many file_has "$T/remove.log" "ended 3 sessions of 3 users"
check remove-stopped-the-session-units sh -c '! systemctl list-units --plain --no-legend "teleclaude-sessions@*" | grep -q .'
no_hosts() {
	left=$(ps -eo user:20,args | grep -E "session-host|tmux|sleep 1000" | grep -v grep)
	[ -z "$left" ] || { echo "still running:"; echo "$left"; return 1; }
}
check remove-left-no-host-tmux-or-program no_hosts
check remove-removed-run-dir test ! -e /run/teleclaude

# --- Purge: says where the data is: PostgreSQL's role and database --------------
check purge-exit-0 run purge.log apt-get purge -y teleclaude
check purge-names-role-and-database file_has "$T/purge.log" "PostgreSQL database teleclaude (role teleclaude)"
check purge-gives-the-drop-command file_has "$T/purge.log" "dropdb -h /var/run/postgresql -p 5433 teleclaude"
check purge-does-not-claim-var-lib lacks "$(cat "$T/purge.log")" "database in /var/lib/teleclaude"
check purge-kept-role-and-database role_and_db 1/1

finish
