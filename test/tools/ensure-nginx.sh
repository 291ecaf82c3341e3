#!/usr/bin/env bash
# nginx (with its auth_request module) for the forward-auth end-to-end test.
exec bash "$(dirname "$0")/ensure-gateway.sh" nginx /usr/sbin/nginx test/edge/nginx.test.ts
