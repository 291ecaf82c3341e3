#!/usr/bin/env bash
# Usage: ensure-gateway.sh PACKAGE BINARY TEST_FILE
#
# The edge end-to-end tests put a real gateway from Debian (nginx, caddy) in front of a test
# upstream. Installs PACKAGE when BINARY is missing and we are root, without letting the package
# start the system's service (the test starts its own, on loopback ports, with a generated
# configuration); otherwise says how to install it and fails.
set -euo pipefail
package="$1" binary="$2" test_file="$3"
if [ -x "$binary" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "$package is missing: installing it with apt-get (needed by $test_file)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Debian starts a package's service on install unless policy-rc.d says no (101): say no for
  # the length of the install, unless something already does.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=yes
  fi
  trap '[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update
  apt-get install -y --no-install-recommends "$package"
  exit 0
fi
cat >&2 <<MSG
$test_file needs Debian's $package at $binary.
Install it as root, then run the tests again:

    sudo apt-get update && sudo apt-get install -y $package
MSG
exit 1
