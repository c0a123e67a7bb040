#!/usr/bin/env bash
# The cluster benchmark: 1 to 4 of our servers on one Redis, then as many
# npm socket.io servers on @socket.io/redis-adapter, all in one run; writes
# BENCHMARKS-cluster.md at the repo root. Loopback only, bounded in time.
#
#   ./bench/cluster.sh            # full: 8 s windows, 1000 clients (about 5 minutes)
#   ./bench/cluster.sh --quick    # 3 s windows, 500 clients (about 2 minutes once built)
#
# Any other option goes to `sio-cluster-bench` (e.g. --servers 1,3 --impls ours).
# The servers and redis-server share core 1, the load generator has core 0,
# as bench/run.sh pins them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

for tool in cargo taskset node redis-server; do
    command -v "$tool" >/dev/null || { echo "bench/cluster.sh needs $tool" >&2; exit 1; }
done
if [ "$(nproc --all)" -lt 2 ]; then
    echo "bench/cluster.sh needs two cores (servers on core 1, generator on core 0)" >&2
    exit 1
fi

say "building the load generator and our cluster server"
cargo build --release --quiet -p sio-bench --bin sio-cluster-bench --bin sio-cluster-server

say "installing the Node peer"
if [ ! -d bench/node/node_modules/@socket.io/redis-adapter ] || [ bench/node/package-lock.json -nt bench/node/node_modules/.package-lock.json ]; then
    (cd bench/node && npm ci --no-audit --no-fund --loglevel=error)
fi

say "running (generator on core 0, servers and Redis on core 1)"
exec taskset -c 0 "$root/target/release/sio-cluster-bench" \
    --command "./bench/cluster.sh $*" \
    --core 1 \
    --out "$root/BENCHMARKS-cluster.md" \
    "$@"
