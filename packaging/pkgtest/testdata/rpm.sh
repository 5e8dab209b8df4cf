#!/bin/sh
# The .rpm on a booted Debian 12, installed with Debian's rpm (--nodeps: the
# rpm database knows nothing of the Debian packages). Its scriptlets must do
# what Fedora's guidelines say: %pre makes the user, %post applies the
# presets without starting anything (Fedora's default preset disables
# every unit a package does not list, and this one ships none), an upgrade
# restarts a running daemon, an erase stops and disables it, ends every
# user's sessions, and keeps the data and the user.
set -u
. /root/pkgtest/lib.sh
: >"$RES"

OLD=$(ls "$T"/old/*.rpm)
NEW=$(ls "$T"/new/*.rpm)
scripts=$T/rpm-scripts

# Fedora's last word on presets (99-default-disable.preset).
echo 'disable *' >/usr/lib/systemd/system-preset/99-default-disable.preset

# --- Install -------------------------------------------------------------------
check rpm-install-exit-0 run install.log rpm -i --nodeps "$OLD"
check rpm-user-and-group-no-shell-no-home check_account
check rpm-directories-owners-modes check_dirs
check rpm-units-in-usr-lib check_units_files
check rpm-config-noreplace sh -c 'rpm -q --configfiles teleclaude | sort | tr "\n" " " | grep -qx "/etc/teleclaude/config.yml /etc/teleclaude/secrets.yml "'
not_enabled() {
	eq "$(enabled teleclaude.service)" disabled && eq "$(enabled teleclaude.socket)" disabled &&
		eq "$(state teleclaude.service)" inactive
}
check rpm-units-not-enabled-by-the-package not_enabled
check rpm-next-steps-printed sh -c 'grep -q "Next steps" $0 && grep -q "usermod -aG teleclaude USER" $0' "$T/install.log"
check rpm-banner-says-how-to-enable file_has "$T/install.log" "systemctl enable --now teleclaude.socket teleclaude.service"
systemctl enable teleclaude.socket teleclaude.service
check rpm-verify-clean sh -c 'out=$(rpm -V --nodeps teleclaude) || { echo "$out"; exit 1; }'

# --- Running -------------------------------------------------------------------
make_users
write_config
write_secrets
check rpm-start-reaches-ready started_ready
check rpm-socket-user-cannot-read-secrets secrets_closed_to_socket_users
check rpm-roles-from-whoami roles_from_whoami
check rpm-outsider-gets-the-group-fix outsider_gets_group_fix
check rpm-socket-activation socket_activation

# --- The scriptlets run again in the installed state ---------------------------
# rpm runs them with a count: 1 after an install, 2 during an upgrade.
mkdir -p "$scripts"
rpm -q --qf '%{PREIN}' teleclaude >"$scripts/pre"
rpm -q --qf '%{POSTIN}' teleclaude >"$scripts/post"
rpm -q --qf '%{PREUN}' teleclaude >"$scripts/preun"
rpm -q --qf '%{POSTUN}' teleclaude >"$scripts/postun"
check rpm-scriptlets-read-back sh -c 'grep -q systemd-sysusers $0/pre && grep -q "preset teleclaude" $0/post' "$scripts"
# %post on a first install applies the presets, which disable the units
# here as on Fedora: once that is done, running it again changes nothing.
sh "$scripts/post" 1 >/dev/null 2>&1
before=$(state_snapshot)
check rpm-pre-twice twice sh "$scripts/pre" 1
check rpm-post-twice twice sh "$scripts/post" 1
check rpm-scriptlets-twice-changed-nothing same_state "$before"
systemctl enable teleclaude.socket teleclaude.service

# --- Upgrade with an edited config (rpm -U) -------------------------------------
# The edited secrets as packages before this one made them, root:teleclaude
# 0640, readable by every user of the socket: rpm leaves an edited config
# file as it is, and %post re-owns it, keeping what the admin wrote.
chown root:teleclaude /etc/teleclaude/secrets.yml
chmod 0640 /etc/teleclaude/secrets.yml
sum=$(sha256sum /etc/teleclaude/config.yml)
secsum=$(sha256sum /etc/teleclaude/secrets.yml)
pid=$(main_pid)
check rpm-upgrade-exit-0 run upgrade.log rpm -U --nodeps "$NEW"
check rpm-upgrade-kept-the-edited-config eq "$(sha256sum /etc/teleclaude/config.yml)" "$sum"
check rpm-upgrade-no-rpmnew test ! -e /etc/teleclaude/config.yml.rpmnew
check rpm-upgrade-reowned-the-secrets owner_mode /etc/teleclaude/secrets.yml "teleclaude:root 600"
check rpm-upgrade-kept-the-edited-secrets eq "$(sha256sum /etc/teleclaude/secrets.yml)" "$secsum"
check rpm-upgrade-no-secrets-rpmnew test ! -e /etc/teleclaude/secrets.yml.rpmnew
check rpm-upgrade-said-the-secrets-moved file_has "$T/upgrade.log" "it is now teleclaude:root 0600"
check rpm-upgrade-restarted-the-running-daemon sh -c '[ "$(systemctl show -p MainPID --value teleclaude.service)" != "$0" ] && [ "$(systemctl is-active teleclaude.service)" = active ]' "$pid"
check rpm-upgrade-runs-the-new-version sh -c '. /root/pkgtest/lib.sh; contains "$(as alice telec status --json)" "\"version\": \"v1.0.1\""'
check rpm-upgrade-kept-units-enabled sh -c '[ "$(systemctl is-enabled teleclaude.service)" = enabled ]'
check rpm-upgrade-socket-user-cannot-read-secrets secrets_closed_to_socket_users

# --- Upgrade (reinstall) while stopped: stays stopped --------------------------
systemctl stop teleclaude.service
check rpm-reinstall-while-stopped-exit-0 run reinstall.log rpm -U --replacepkgs --nodeps "$NEW"
check rpm-reinstall-while-stopped-stays-stopped eq "$(state teleclaude.service)" inactive
systemctl start teleclaude.service

# --- Erase: stopped and disabled; the edited config kept as .rpmsave, data and
# --- user kept --------------------------------------------------------------------
rpm -q --qf '%{PREUN}' teleclaude >"$scripts/preun"
rpm -q --qf '%{POSTUN}' teleclaude >"$scripts/postun"
check rpm-erase-scriptlets-read-back sh -c 'grep -q "disable --now" $0/preun && grep -q try-restart $0/postun' "$scripts"
check rpm-session-before-erase sh -c '. /root/pkgtest/lib.sh; as alice telec sessions start --project demo --agent shell'
check rpm-erase-exit-0 run erase.log rpm -e --nodeps teleclaude
check rpm-erase-ended-the-sessions file_has "$T/erase.log" "ended 1 session of 1 user"
check rpm-erase-stopped-the-session-units sh -c '! systemctl list-units --plain --no-legend "teleclaude-sessions@*" | grep -q .'
check rpm-erase-removed-run-dir test ! -e /run/teleclaude
check rpm-erase-says-where-the-data-is file_has "$T/erase.log" "SQLite database in /var/lib/teleclaude/teleclaude.db"
check rpm-erase-stopped sh -c '[ "$(systemctl is-active teleclaude.service)" = inactive ] && [ "$(systemctl is-active teleclaude.socket)" = inactive ]'
check rpm-erase-disabled sh -c '! ls /etc/systemd/system/*.wants/teleclaude* 2>/dev/null'
check rpm-erase-saved-edited-config file_has /etc/teleclaude/config.yml.rpmsave "Edited by the admin"
check rpm-erase-kept-database test -s /var/lib/teleclaude/teleclaude.db
check rpm-erase-kept-user getent passwd teleclaude
check rpm-preun-erase-twice twice sh "$scripts/preun" 0
check rpm-postun-erase-twice twice sh "$scripts/postun" 0

# --- Reinstall ---------------------------------------------------------------------
write_config
check rpm-reinstall-exit-0 run reinstall2.log rpm -i --nodeps "$NEW"
check rpm-reinstall-not-enabled-by-the-package not_enabled
check rpm-reinstall-serves sh -c 'systemctl enable --now teleclaude.socket teleclaude.service && . /root/pkgtest/lib.sh && [ "$(whoami_role alice)" = admin ]'

finish
