#!/usr/bin/env bash
# The forward-auth end-to-end test behind Caddy (test/edge/caddy.test.ts) and nothing else needs
# Debian's caddy (/usr/bin/caddy, with forward_auth). Installs it when it is missing and we are
# root, without letting the package start the system's caddy service (the test starts its own, on
# loopback ports, with a generated Caddyfile and its own data directory); otherwise says how to
# install it and fails.
set -euo pipefail
if [ -x /usr/bin/caddy ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "caddy is missing: installing it with apt-get (needed by test/edge/caddy.test.ts)" >&2
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
  apt-get install -y --no-install-recommends caddy
  exit 0
fi
cat >&2 <<'MSG'
The forward-auth end-to-end test behind Caddy needs Debian's caddy at /usr/bin/caddy.
Install it as root, then run the tests again:

    sudo apt-get update && sudo apt-get install -y caddy
MSG
exit 1
