#!/usr/bin/env bash
# `buf breaking` for npm run lint: proto/ as it is on disk, against the previous commit of main,
# under buf.yaml's breaking rules (FILE). The commit it compares against:
#   - BUF_BREAKING_AGAINST, when set (any git revision);
#   - on main (HEAD is main's tip or behind it, as in CI's fresh clone of main): HEAD's first
#     parent, the previous commit of main;
#   - on another branch: the commit of main it forked from or last merged (git merge-base), so
#     that every change the branch makes is checked, not only its last commit.
# It always prints which commit that is. A first commit has none before it: it says so and
# passes. A shallow clone that lacks the commit is deepened from origin; if that fails, it fails.
#
# Usage: bash test/tools/buf-breaking.sh [repository]   (default: this one)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
buf="${BUF:-$here/../../node_modules/.bin/buf}"
cd "${1:-$here/../..}"

say() { echo "buf breaking: $*"; }
commit() { git rev-parse -q --verify "$1^{commit}" 2>/dev/null || true; }
shallow() { [ "$(git rev-parse --is-shallow-repository)" = true ]; }
deepen() {
  shallow || return 1
  say "shallow clone: fetching more history from origin"
  git fetch -q --deepen=50 origin >&2 || return 1
}

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  say "$(pwd) is not a git work tree: there is no previous commit to compare proto/ with" >&2
  exit 1
fi
if [ -z "$(commit HEAD)" ]; then
  say "no commit yet: there is no previous commit to compare proto/ with; nothing to check"
  exit 0
fi

if [ -n "${BUF_BREAKING_AGAINST:-}" ]; then
  against=$(commit "$BUF_BREAKING_AGAINST")
  if [ -z "$against" ]; then
    say "BUF_BREAKING_AGAINST=$BUF_BREAKING_AGAINST names no commit here" >&2
    exit 1
  fi
  why="BUF_BREAKING_AGAINST=$BUF_BREAKING_AGAINST"
else
  main=""
  for candidate in main origin/main; do
    if [ -n "$(commit "$candidate")" ]; then
      main=$candidate
      break
    fi
  done
  base=""
  if [ -n "$main" ]; then
    base=$(git merge-base HEAD "$main" 2>/dev/null || true)
    if [ -z "$base" ] && deepen; then base=$(git merge-base HEAD "$main" 2>/dev/null || true); fi
  fi
  if [ -n "$base" ] && [ "$base" != "$(commit HEAD)" ]; then
    against=$base
    why="where this branch forked from $main (git merge-base HEAD $main)"
  else
    against=$(commit HEAD^1)
    if [ -z "$against" ] && deepen; then against=$(commit HEAD^1); fi
    if [ -z "$against" ]; then
      if shallow; then
        say "shallow clone without HEAD's parent, and fetching it failed: clone with full history (or run git fetch --deepen=1) to compare proto/ with the previous commit" >&2
        exit 1
      fi
      say "HEAD $(git log -1 --format='%h (%s)' HEAD) is the first commit: there is no previous commit to compare proto/ with; nothing to check"
      exit 0
    fi
    if [ -n "$main" ]; then
      why="the previous commit of $main (HEAD^1)"
    else
      why="the previous commit (HEAD^1; no main branch here)"
    fi
  fi
fi

if ! git cat-file -e "$against:buf.yaml" 2>/dev/null; then
  say "$(git log -1 --format='%h (%s)' "$against") has no buf.yaml: there is no earlier API to compare proto/ with; nothing to check"
  exit 0
fi
say "proto/ against $(git log -1 --format='%h (%s)' "$against"): $why"
"$buf" breaking --against ".git#ref=$against"
say "no breaking change"
