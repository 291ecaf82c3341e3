#!/usr/bin/env bash
# The forward-auth end-to-end test (test/edge/nginx.test.ts) puts Debian's nginx (/usr/sbin/nginx,
# with its auth_request module) in front of a test upstream. Installs nginx when it is missing and
# we are root, without letting the package start the system's nginx service (the test starts its
# own, on loopback ports, with a generated configuration); otherwise says how to install it and
# fails.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "nginx is missing: installing it with apt-get (needed by test/edge/nginx.test.ts)" >&2
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
  apt-get install -y --no-install-recommends nginx
  exit 0
fi
cat >&2 <<'MSG'
The forward-auth end-to-end test needs Debian's nginx at /usr/sbin/nginx.
Install it as root, then run the tests again:

    sudo apt-get update && sudo apt-get install -y nginx
MSG
exit 1
