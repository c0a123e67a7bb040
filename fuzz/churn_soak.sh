#!/usr/bin/env bash
# The 100 000-cycle churn soak (socketio/tests/churn.rs, ignored by default):
# connect / emit / disconnect over polling, WebSocket and upgrades against
# one server, then checks that every session is gone and that resident
# memory came back to within 10% of its plateau. Release build; a few
# minutes on two cores. Extra arguments go to the test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release -p socketio --test churn -- --ignored --nocapture --test-threads=1 "$@"
