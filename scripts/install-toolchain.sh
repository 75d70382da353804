#!/usr/bin/env bash
# Installs the pinned Solidity toolchain into <repo>/.tools (git-ignored):
#   .tools/bin/forge, anvil, cast   Foundry binaries (npm @foundry-rs/*-<platform>)
#   .tools/bin/solc                 shim: native-solc CLI on top of solc-js (npm `solc`)
#   .tools/node_modules/...         @openzeppelin/contracts, forge-std (via
#                                   @layerzerolabs/toolbox-foundry), solc-js
#   contracts/node_modules          symlink to ../.tools/node_modules (remappings)
# Versions are pinned by scripts/toolchain/package.json + package-lock.json.
#
# Idempotent: the npm step runs only when the lock file (or the platform)
# changed since the last successful install (stamp in .tools/.install-stamp);
# a re-run touches no network. Works without a TTY and with CI=true.
#
# Usage: scripts/install-toolchain.sh [--force] [--quiet]
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
SPEC="$ROOT/scripts/toolchain"
SHIM_SRC="$ROOT/scripts/solc-shim"
STAMP="$TOOLS/.install-stamp"

FORCE=0
QUIET=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --quiet | -q) QUIET=1 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-toolchain: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { [ "$QUIET" = 1 ] || printf 'install-toolchain: %s\n' "$*"; }
die() {
  printf 'install-toolchain: ERROR: %s\n' "$*" >&2
  exit 1
}

# --- preflight -----------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not on PATH (Node.js >= 18 is required)"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js >= 18 required, found $(node --version)"
[ -f "$SPEC/package.json" ] && [ -f "$SPEC/package-lock.json" ] ||
  die "missing $SPEC/package.json or package-lock.json"
[ -f "$SHIM_SRC/solc.js" ] && [ -f "$SHIM_SRC/solc" ] || die "missing solc shim in $SHIM_SRC"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) PLATFORM=linux-amd64 ;;
  *)
    die "unsupported platform $(uname -s)-$(uname -m): the lock file pins Foundry only for linux-amd64" \
      "(the registry has no @foundry-rs/{forge,anvil,cast} binary packages for the others)"
    ;;
esac

mkdir -p "$TOOLS"

# Serialise concurrent runs (e.g. two CI steps) where flock exists.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS/.install.lock"
  flock 9
fi

key=$(cat "$SPEC/package.json" "$SPEC/package-lock.json" | node -e '
  const h = require("crypto").createHash("sha256");
  process.stdin.on("data", (d) => h.update(d));
  process.stdin.on("end", () => console.log(h.digest("hex") + "-" + process.argv[1]));
' "$PLATFORM")

foundry_bin() { echo "$TOOLS/node_modules/@foundry-rs/$1-$PLATFORM/bin/$1"; }

installed_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$key" ] || return 1
  local t
  for t in forge anvil cast; do [ -x "$(foundry_bin "$t")" ] || return 1; done
  [ -f "$TOOLS/node_modules/solc/soljson.js" ] || return 1
}

# --- npm install (only when needed) -----------------------------------------------
if [ "$FORCE" = 0 ] && installed_ok; then
  say "packages up to date (lock $(cut -c1-12 "$STAMP")), nothing to install"
else
  say "installing pinned packages into $TOOLS (npm ci) ..."
  rm -f "$STAMP"
  cp "$SPEC/package.json" "$SPEC/package-lock.json" "$TOOLS/"
  log="$TOOLS/npm-install.log"
  # --ignore-scripts: nothing in the set needs an install script, and the
  # Foundry launcher packages' postinstall would download binaries itself.
  if ! CI=true npm_config_progress=false npm_config_update_notifier=false npm_config_fund=false \
    npm_config_audit=false npm ci --prefix "$TOOLS" --ignore-scripts --prefer-offline \
    --no-audit --no-fund --loglevel=warn >"$log" 2>&1; then
    cat "$log" >&2
    die "npm ci failed (log: $log). Is the npm registry reachable? A first install needs it."
  fi
  for t in forge anvil cast; do
    [ -x "$(foundry_bin "$t")" ] ||
      die "$(foundry_bin "$t") missing after npm ci (optional platform package not installed?)"
  done
fi

# --- shim and bin links (cheap, always re-checked) --------------------------------
mkdir -p "$TOOLS/bin" "$TOOLS/solc-shim"
for f in solc solc.js; do
  if ! cmp -s "$SHIM_SRC/$f" "$TOOLS/solc-shim/$f"; then
    cp "$SHIM_SRC/$f" "$TOOLS/solc-shim/$f"
  fi
  [ -x "$TOOLS/solc-shim/$f" ] || chmod +x "$TOOLS/solc-shim/$f"
done
link() { # link TARGET NAME  (relative symlink in .tools/bin, replaced only if different)
  if [ "$(readlink "$TOOLS/bin/$2" 2>/dev/null)" != "$1" ]; then
    ln -sfn "$1" "$TOOLS/bin/$2"
  fi
}
for t in forge anvil cast; do link "../node_modules/@foundry-rs/$t-$PLATFORM/bin/$t" "$t"; done
link "../solc-shim/solc" solc

# contracts/node_modules -> ../.tools/node_modules: forge must see the libraries
# under its project root (a "../" lib path makes it name sources two ways and
# compile them twice). Git-ignored via the node_modules/ rule.
if [ -d "$ROOT/contracts" ]; then
  want="../.tools/node_modules"
  have=$(readlink "$ROOT/contracts/node_modules" 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    if [ -e "$ROOT/contracts/node_modules" ] && [ ! -L "$ROOT/contracts/node_modules" ]; then
      die "contracts/node_modules exists and is not a symlink; remove it (it must link to $want)"
    fi
    ln -sfn "$want" "$ROOT/contracts/node_modules"
  fi
fi

# --- verify a fresh install, then stamp ----------------------------------------------
if [ ! -f "$STAMP" ]; then
  forge_v=$("$TOOLS/bin/forge" --version 2>&1 | head -1) || die "forge does not run: $forge_v"
  "$TOOLS/bin/anvil" --version >/dev/null 2>&1 || die "anvil does not run"
  "$TOOLS/bin/cast" --version >/dev/null 2>&1 || die "cast does not run"
  solc_v=$("$TOOLS/bin/solc" --version 2>&1 | tail -1) || die "solc shim does not run: $solc_v"
  case "$solc_v" in Version:*) ;; *) die "solc shim printed an unexpected version line: $solc_v" ;; esac
  say "verified: $forge_v; solc $solc_v"
  printf '%s\n' "$key" >"$STAMP"
fi

if [ "$QUIET" = 0 ]; then
  node -e '
    const [tools] = process.argv.slice(1);
    const v = (p) => { try { return require(tools + "/node_modules/" + p + "/package.json").version; } catch { return "?"; } };
    const plat = process.argv[2];
    console.log("install-toolchain: ready in " + tools);
    console.log("  bin/forge, bin/anvil, bin/cast  foundry " + v("@foundry-rs/forge-" + plat));
    console.log("  bin/solc                        solc-js " + v("solc") + " via solc-shim (node)");
    console.log("  node_modules/@openzeppelin/contracts             " + v("@openzeppelin/contracts"));
    console.log("  node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std  forge-std " +
      v("@layerzerolabs/toolbox-foundry/lib/forge-std") + " (toolbox-foundry " + v("@layerzerolabs/toolbox-foundry") + ")");
  ' "$TOOLS" "$PLATFORM"
fi
