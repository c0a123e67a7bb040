#!/usr/bin/env bash
# Benchmarks side by side with every peer; writes BENCHMARKS.md at the repo
# root. Loopback only, bounded in time.
#
#   ./bench/run.sh            # full: 3 rounds, 5 s windows (about 8 minutes)
#   ./bench/run.sh --quick    # 1 round, 2 s windows (under 2 minutes once built)
#
# Any other option goes to `sio-bench run` (see `sio-bench --help`), e.g.
#   ./bench/run.sh --quick --scenarios echo-100,broadcast --servers ours,node
#
# Builds first: the load generator and our bench server (release), the
# socketioxide peer (its own workspace, into target/bench-peers), and the
# Node peer's modules (npm ci in bench/node; falls back to tests/node).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

for tool in cargo taskset node; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done
if [ "$(nproc --all)" -lt 2 ]; then
    echo "bench/run.sh needs two cores (server on core 1, generator on core 0)" >&2
    exit 1
fi

# 10 000 idle connections: one descriptor each in the generator and in the
# server. Raise the soft limit as far as the hard one allows.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" || true
if [ "$(ulimit -n)" -lt 10240 ]; then
    echo "warning: open files limit $(ulimit -n) is below 10 240; idle-connection figures scale down" >&2
    set -- --idle $(( $(ulimit -n) - 200 )) "$@"
fi

say "building the load generator and our bench server"
cargo build --release --quiet -p sio-bench

say "building the socketioxide peer"
CARGO_TARGET_DIR="$root/target/bench-peers" \
    cargo build --release --quiet --manifest-path bench/peers/socketioxide/Cargo.toml

say "installing the Node peer"
if [ ! -d bench/node/node_modules/socket.io ] || [ bench/node/package-lock.json -nt bench/node/node_modules/.package-lock.json ]; then
    (cd bench/node && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "warning: npm ci failed in bench/node; the Node peer uses tests/node (no bufferutil)" >&2
fi
if [ ! -d bench/node/node_modules/socket.io ] && [ ! -d tests/node/node_modules/socket.io ]; then
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

bin="$root/target/release"
peers="$root/target/bench-peers/release"
say "running (generator on core 0, servers on core 1)"
exec taskset -c 0 "$bin/sio-bench" run \
    --command "./bench/run.sh $*" \
    --server "ours=$bin/sio-bench-server ours" \
    --server "ours (tokio defaults)=env SIO_BENCH_DEFAULT_RUNTIME=1 $bin/sio-bench-server ours" \
    --server "socketioxide=$peers/sio-bench-socketioxide" \
    --server "node=node $root/bench/node/server.mjs" \
    --server "ceiling=$bin/sio-bench-server ceiling" \
    --json "$root/target/bench-results.jsonl" \
    --logs "$root/target/bench-logs" \
    --out "$root/BENCHMARKS.md" \
    "$@"
