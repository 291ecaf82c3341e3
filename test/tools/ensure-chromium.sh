#!/usr/bin/env bash
# The console's browser test drives Debian's chromium (/usr/bin/chromium) through playwright-core,
# which downloads no browser of its own. Installs chromium when it is missing and we are root;
# otherwise says how to install it and fails.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing: installing it with apt-get (needed by test/console)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y chromium
  exit 0
fi
cat >&2 <<'MSG'
The admin console's browser test needs Debian's chromium at /usr/bin/chromium.
Install it as root, then run the tests again:

    sudo apt-get update && sudo apt-get install -y chromium
MSG
exit 1
