#!/bin/sh
# The .deb on a booted Debian 12: install, run, upgrade, remove, purge,
# reinstall, and the bad inputs of issue 5. Runs as a oneshot unit inside
# the container (see boot_test.go); results go to $RES (lib.sh).
set -u
. /root/pkgtest/lib.sh
: >"$RES"

OLD=$(ls "$T"/old/*.deb)
NEW=$(ls "$T"/new/*.deb)
NEW_VERSION=$(dpkg-deb -f "$NEW" Version)
info=/var/lib/dpkg/info

# --- First install, with no PostgreSQL running -------------------------------
check install-exit-0 run install.log apt-get install -y "$OLD"
check user-and-group-no-shell-no-home check_account
check directories-owners-modes check_dirs
check secrets-stat-override sh -c 'dpkg-statoverride --list /etc/teleclaude/secrets.yml | grep -qx "teleclaude root 600 /etc/teleclaude/secrets.yml"'
check units-in-usr-lib check_units_files
check units-not-conffiles sh -c 'c=$(dpkg-query -W -f="\${Conffiles}" teleclaude | awk "{print \$1}" | sort | tr "\n" " "); [ "$c" = "/etc/teleclaude/config.yml /etc/teleclaude/secrets.yml " ] || { echo "conffiles: $c"; exit 1; }'
check units-enabled-not-started enabled_not_started
check next-steps-printed sh -c 'f=$0/install.log; grep -q "Next steps" $f && grep -q "usermod -aG teleclaude USER" $f && grep -q "systemctl start teleclaude" $f && grep -q "telec whoami" $f' "$T"
check no-postgresql-prints-setup-db file_has "$T/install.log" "teleclaude setup-db"
check systemd-analyze-verify-clean analyze_verify
check systemd-analyze-security-at-most-1.5 analyze_security

# --- Running -----------------------------------------------------------------
make_users
write_config
write_secrets
check start-reaches-ready started_ready
check runs-as-teleclaude runs_as_service_user
check socket-user-cannot-read-secrets secrets_closed_to_socket_users
check socket-0660-teleclaude socket_owned
check roles-from-whoami roles_from_whoami
check reload-applies-roles reload_applies
check whoami-through-systemd-run whoami_via_systemd_run
check outsider-gets-the-group-fix outsider_gets_group_fix
check_sessions
check users-dir-own-tmpfs users_dir_own_tmpfs
check users-dir-full-leaves-run-alone users_dir_full_leaves_run
check flood-admin-whoami-answers flood_admin_whoami
check socket-activation socket_activation
check watchdog-pings watchdog_pings

# --- Maintainer scripts run again in the installed state ----------------------
cur=$(dpkg-query -W -f='${Version}' teleclaude)
before=$(state_snapshot)
check postinst-configure-twice twice "$info/teleclaude.postinst" configure "$cur"
check postinst-twice-changed-nothing same_state "$before"
check prerm-upgrade-twice twice "$info/teleclaude.prerm" upgrade "$NEW_VERSION"
check postrm-upgrade-twice twice "$info/teleclaude.postrm" upgrade "$NEW_VERSION"
check service-survives-upgrade-scripts eq "$(state teleclaude.service)" active

# --- Upgrade with an edited config, PostgreSQL now running --------------------
# The secrets as packages before this one left them: a stat override
# root teleclaude 0640, which let every user of the socket read them. The
# upgrade moves it to teleclaude root 0600 and keeps what the admin wrote.
dpkg-statoverride --remove /etc/teleclaude/secrets.yml
dpkg-statoverride --update --add root teleclaude 0640 /etc/teleclaude/secrets.yml
check older-secrets-open-to-socket-users sh -c '. /root/pkgtest/lib.sh; as alice cat /etc/teleclaude/secrets.yml'
check postgresql-starts pg_start
sum=$(sha256sum /etc/teleclaude/config.yml)
secsum=$(sha256sum /etc/teleclaude/secrets.yml)
pid=$(main_pid)
check upgrade-exit-0 run upgrade.log apt-get install -y "$NEW"
check upgrade-kept-the-edited-config eq "$(sha256sum /etc/teleclaude/config.yml)" "$sum"
check upgrade-moved-the-secrets-override sh -c 'dpkg-statoverride --list /etc/teleclaude/secrets.yml | grep -qx "teleclaude root 600 /etc/teleclaude/secrets.yml"'
check upgrade-reowned-the-secrets owner_mode /etc/teleclaude/secrets.yml "teleclaude:root 600"
check upgrade-kept-the-edited-secrets eq "$(sha256sum /etc/teleclaude/secrets.yml)" "$secsum"
check upgrade-said-the-secrets-moved file_has "$T/upgrade.log" "it is now teleclaude:root 0600"
check upgrade-restarted-the-running-daemon sh -c '[ "$(systemctl show -p MainPID --value teleclaude.service)" != "$0" ] && [ "$(systemctl is-active teleclaude.service)" = active ]' "$pid"
check upgrade-runs-the-new-version sh -c '. /root/pkgtest/lib.sh; contains "$(as alice telec status --json)" "\"version\": \"v1.0.1\""'
check upgrade-socket-user-cannot-read-secrets secrets_closed_to_socket_users
check_postgres

# --- Upgrade (reinstall) while stopped: stays stopped -------------------------
systemctl stop teleclaude.service
check upgrade-while-stopped-exit-0 run reinstall.log apt-get install -y --reinstall "$NEW"
check upgrade-while-stopped-stays-stopped eq "$(state teleclaude.service)" inactive
systemctl start teleclaude.service

# --- Broken config at upgrade time: installs, keeps the data, says what to do --
db=/var/lib/teleclaude/teleclaude.db
echo "people: [this is not yaml" >>/etc/teleclaude/config.yml
check broken-config-upgrade-exit-0 run broken.log apt-get install -y --reinstall "$NEW"
check broken-config-upgrade-tells-the-admin sh -c 'grep -q "did not come back" $0 && grep -q "journalctl -u teleclaude" $0' "$T/broken.log"
check broken-config-no-restart-loop eq "$(prop teleclaude.service NRestarts)" 0
check broken-config-database-kept test -s "$db"
write_config
systemctl reset-failed teleclaude.service
check fixed-config-serves-again sh -c 'systemctl start teleclaude.service && . /root/pkgtest/lib.sh && [ "$(whoami_role alice)" = admin ]'

# --- Remove: stopped, not to be started again, config and data kept -----------
mkdir -p "$T/scripts"
cp "$info/teleclaude.prerm" "$info/teleclaude.postrm" "$T/scripts/"
echo "the admin's own notes" >/etc/teleclaude/notes.txt
check remove-exit-0 run remove.log apt-get remove -y teleclaude
check remove-stopped-service-and-socket sh -c '[ "$(systemctl is-active teleclaude.service)" = inactive ] && [ "$(systemctl is-active teleclaude.socket)" = inactive ]'
# Debian masks the units of a removed package (deb-systemd-helper) until it
# is purged or reinstalled; the reinstall restores the enabled state.
check remove-masked-units sh -c '[ "$(systemctl is-enabled teleclaude.service)" = masked ] && [ "$(systemctl is-enabled teleclaude.socket)" = masked ]'
check remove-kept-config sh -c 'grep -q "Edited by the admin" /etc/teleclaude/config.yml && [ -f /etc/teleclaude/secrets.yml ]'
check remove-kept-database test -s "$db"
check remove-kept-user getent passwd teleclaude
check prerm-remove-twice twice sh "$T/scripts/teleclaude.prerm" remove
check postrm-remove-twice twice sh "$T/scripts/teleclaude.postrm" remove

# --- Purge: config gone, database and user kept ---------------------------------
dbinode=$(stat -c %i "$db")
check purge-exit-0 run purge.log apt-get purge -y teleclaude
check purge-removed-config sh -c '[ ! -e /etc/teleclaude/config.yml ] && [ ! -e /etc/teleclaude/secrets.yml ]'
check purge-kept-the-admins-other-files file_has /etc/teleclaude/notes.txt "own notes"
check purge-kept-database eq "$(stat -c %i "$db")" "$dbinode"
check purge-kept-user-and-group sh -c 'getent passwd teleclaude && getent group teleclaude'
check purge-removed-stat-override sh -c '! dpkg-statoverride --list /etc/teleclaude/secrets.yml'
check purge-removed-unit-state sh -c '! ls /etc/systemd/system/teleclaude* /etc/systemd/system/*.wants/teleclaude* 2>/dev/null'
check purge-said-what-is-kept file_has "$T/purge.log" "database in /var/lib/teleclaude"
check postrm-purge-twice twice sh "$T/scripts/teleclaude.postrm" purge

# --- Bad input, then reinstall: a changed teleclaude account, the admin's own
# --- /etc/teleclaude, and an install interrupted after unpacking ----------------
mkdir -p /home/tcold
usermod -s /bin/bash -d /home/tcold teleclaude
olduid=$(id -u teleclaude)
write_config
sed -i 's/^# Edited by the admin (package test)./# The admin'"'"'s own config, there before the package./' /etc/teleclaude/config.yml
check interrupted-unpack run unpack.log dpkg --unpack "$NEW"
check interrupted-state-is-unpacked eq "$(dpkg-query -W -f='${db:Status-Abbrev}' teleclaude)" "iU "
# dpkg asks about the admin's config.yml; the answer given is the default
# (Enter: keep yours).
check configure-a-finishes run configure.log sh -c 'printf "\n" | dpkg --configure -a'
check configure-a-installed eq "$(dpkg-query -W -f='${db:Status-Abbrev}' teleclaude)" "ii "
check admins-config-kept file_has /etc/teleclaude/config.yml "there before the package"
check packaged-config-beside-it test -f /etc/teleclaude/config.yml.dpkg-dist
check existing-user-left-as-it-is sh -c '[ "$(getent passwd teleclaude | cut -d: -f7)" = /bin/bash ] && [ "$(id -u teleclaude)" = "$0" ]' "$olduid"
check existing-user-warned file_has "$T/configure.log" "has the login shell /bin/bash"
check reinstall-enabled-again sh -c '[ "$(systemctl is-enabled teleclaude.service)" = enabled ] && [ "$(systemctl is-enabled teleclaude.socket)" = enabled ]'
check reinstall-serves-on-the-old-database sh -c 'systemctl start teleclaude.service && . /root/pkgtest/lib.sh && [ "$(whoami_role alice)" = admin ] && [ "$(stat -c %i /var/lib/teleclaude/teleclaude.db)" = "$0" ]' "$dbinode"

finish
