#!/usr/bin/env bash
# Fails when src/gen is stale: regenerates from proto/ into a scratch directory and compares.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
npx buf generate -o "$scratch"
if ! diff -r "$scratch/src/gen" src/gen >/dev/null; then
  echo "src/gen is stale: run 'npm run generate' and commit the result" >&2
  diff -r "$scratch/src/gen" src/gen | head -20 >&2
  exit 1
fi
echo "generated code is up to date"
