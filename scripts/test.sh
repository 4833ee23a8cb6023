#!/usr/bin/env bash
# The README's test command (`npm run test:all`): installs what the tests need, then runs them.
# - Debian/Ubuntu as root: installs the Debian packages test/tools.json lists (the one list; .ci/run
#   calls this script). Where the native toolchain is there, the native kernels must build and
#   load (REGBENCH_EXPECT_NATIVE=1).
# - Elsewhere: prints one line per missing tool saying what to install, and goes on; the tests that
#   need a missing tool are skipped with that line (test/requirements.ts), or fail where
#   CI=true or REGBENCH_REQUIRE_ALL=1.
# Then `npm ci` when node_modules is missing or does not match package.json, and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "missing: node and npm — install Node.js 20 or newer (Debian/Ubuntu: apt-get install nodejs npm; elsewhere: https://nodejs.org)" >&2
  exit 1
fi

# name<TAB>check<TAB>debian packages<TAB>elsewhere, one line per tool of test/tools.json.
tools=$(node -e '
  const tools = require("./test/tools.json");
  for (const [name, t] of Object.entries(tools)) {
    if (name !== "$comment") console.log([name, t.check, t.debian.join(" "), t.elsewhere].join("\t"));
  }')

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2046 # one word per package
  apt-get install -y -qq --no-install-recommends $(cut -f3 <<<"$tools" | tr '\n' ' ') >/dev/null
fi

while IFS=$'\t' read -r name check debian elsewhere; do
  if bash -c "$check" >/dev/null 2>&1; then
    # Where the toolchain is there, the native kernels must build and load: a silent fall-back
    # to wasm would hide a break.
    if [ "$name" = native ]; then export REGBENCH_EXPECT_NATIVE="${REGBENCH_EXPECT_NATIVE:-1}"; fi
  else
    echo "missing: $name — install it (Debian/Ubuntu: apt-get install $debian; elsewhere: $elsewhere)"
  fi
done <<<"$tools"

# `npm ls` fails when an installed package is missing or does not satisfy package.json.
if [ ! -d node_modules ] || ! npm ls --all >/dev/null 2>&1; then
  npm ci --no-audit --no-fund
fi

status=0
npm test || status=$?
echo "test: finished in $(( $(date +%s) - start )) s (exit $status)"
exit "$status"
