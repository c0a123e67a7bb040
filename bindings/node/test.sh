#!/usr/bin/env bash
# The Node binding's test entry: installs the npm dependencies from the
# committed lockfile, builds the addon (debug), runs the node:test suite.
# Works from a clean clone; safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

# `--ignore-scripts`: the `prepare` script would build through `napi build`,
# which compiles for an explicit `--target` into a directory of its own;
# cargo directly shares the workspace's build cache.
npm_flags=(--ignore-scripts --no-audit --no-fund --loglevel=error)
if ! npm ci "${npm_flags[@]}" 2>/dev/null; then
  # npm ci refuses a lockfile that lacks the optional packages of other
  # platforms, which a registry without them cannot provide (the napi CLI's
  # lzma dependency); npm install still installs the locked versions.
  echo "npm ci refused the lockfile; installing from it with npm install" >&2
  npm install "${npm_flags[@]}"
fi

cargo build -p socketio-node --locked
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')
cp "$target_dir/debug/libsocketio_node.so" socketio-node.linux-x64-gnu.node

node --test --test-timeout=120000
