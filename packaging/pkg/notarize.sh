#!/bin/sh
# Notarizes a signed TeleClaude package with Apple's notary service and
# staples the ticket to it, from any platform, through rcodesign
# (apple-codesign): the release step after `make pkg` has signed it.
#
#   TELECLAUDE_NOTARY_API_KEY=key.json packaging/pkg/notarize.sh PKG
#
# key.json is an App Store Connect API key, as `rcodesign
# encode-app-store-connect-api-key` writes it. Without the variable the
# package is left as it is, and this says so: a build without credentials
# (a developer's, a pull request's) is not a failure.
set -eu

say() { printf 'notarize: %s\n' "$*"; }

[ $# -eq 1 ] || {
	echo "usage: $0 PKG" >&2
	exit 2
}
pkg=$1
[ -f "$pkg" ] || {
	say "no package at $pkg" >&2
	exit 1
}
if [ -z "${TELECLAUDE_NOTARY_API_KEY:-}" ]; then
	say "skipped: TELECLAUDE_NOTARY_API_KEY is not set, so $pkg is not notarized (Gatekeeper will block a downloaded copy; see packaging/pkg/README.md)"
	exit 0
fi
[ -r "$TELECLAUDE_NOTARY_API_KEY" ] || {
	say "TELECLAUDE_NOTARY_API_KEY names $TELECLAUDE_NOTARY_API_KEY, which cannot be read" >&2
	exit 1
}
command -v rcodesign >/dev/null 2>&1 || {
	say "rcodesign is not on PATH; install apple-codesign (cargo install apple-codesign, or its release binary)" >&2
	exit 1
}
say "submitting $pkg to Apple's notary service and waiting for its verdict"
rcodesign notary-submit --api-key-file "$TELECLAUDE_NOTARY_API_KEY" --wait --staple "$pkg"
say "notarized and stapled: $pkg"
