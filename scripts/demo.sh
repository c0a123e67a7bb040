#!/usr/bin/env bash
# The demo: a multi-room chat on http://127.0.0.1:3000/ — open it in a few
# browser tabs. Installs the official socket.io-client package (from the
# committed lockfile), whose bundle the server itself serves to the page at
# /socket.io/socket.io.js, then builds and runs the server. An address
# argument overrides the default, e.g. `./scripts/demo.sh 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --prefix examples/chat --no-audit --no-fund --loglevel=error
exec cargo run --release -p socketio --example chat -- "$@"
