#!/usr/bin/env bash
# caddy (with forward_auth) for the forward-auth end-to-end test behind Caddy.
exec bash "$(dirname "$0")/ensure-gateway.sh" caddy /usr/bin/caddy test/edge/caddy.test.ts
