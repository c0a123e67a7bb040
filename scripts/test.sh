#!/usr/bin/env bash
# The full test run: formatting, lints, and every test, with the real
# JavaScript peers the interop tests drive. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== npm peers (tests/node, from the committed lockfile)"
npm ci --prefix tests/node --no-audit --no-fund --loglevel=error

echo "== npm: the chat demo's browser client (examples/chat, from its lockfile)"
npm ci --prefix examples/chat --no-audit --no-fund --loglevel=error

echo "== rustfmt"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== tests"
cargo test --workspace --all-targets

echo "== doc tests"
cargo test --workspace --doc

echo "== Python binding (pytest, against python-socketio and the npm socket.io server)"
./bindings/python/test.sh

echo "== Node binding (node:test, against the npm socket.io-client and socket.io)"
./bindings/node/test.sh
