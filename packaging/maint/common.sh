# shellcheck shell=sh
# Sourced (never run) by the deb postinst and the rpm %post, from
# /usr/share/teleclaude/maint: what both say and check after an install,
# written once. POSIX sh; the callers set -e.

say() { echo "teleclaude: $*"; }
