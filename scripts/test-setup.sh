#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing, so that
# `npm test` and `npm run test:full` pass on a fresh machine:
#   libonnx-testdata  ONNX's own backend test suite, the reference the op and QDQ tests compare against
#   chromium          headless browser that renders report.html in the report test
# When both are installed it only asks dpkg and exits. Otherwise it runs
# apt-get update and apt-get install (as root, else through sudo without a
# password prompt) and on failure prints one line saying what to install.
set -uo pipefail

packages=(libonnx-testdata chromium)

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

missing=()
for pkg in "${packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
(( ${#missing[@]} )) || exit 0

fail() {
  echo "test-setup: cannot install Debian packages ${missing[*]} ($1); install them by hand: sudo apt-get install ${missing[*]}" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found"
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  fail "not root, and sudo is missing or wants a password"
fi

echo "test-setup: installing ${missing[*]} with apt-get" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt_get() { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq "$@" >"$log" 2>&1; }
# apt's last error line (or its last line), to quote in the one-line failure
last_error() { { grep -E '^(E|Err):' "$log" || cat "$log"; } | tail -n 1 | tr -s '[:space:]' ' ' | sed 's/ *$//'; }

apt_get update || fail "apt-get update failed: $(last_error)"
apt_get install -y "${missing[@]}" || fail "apt-get install failed: $(last_error)"
for pkg in "${missing[@]}"; do
  installed "$pkg" || fail "$pkg is still not installed after apt-get install"
done
