#!/usr/bin/env bash
# Benchmarks of the bindings against the servers their users would pick
# instead; writes BENCHMARKS-bindings.md at the repo root. Loopback only,
# bounded in time, servers pinned to core 1 and the load generator to core 0
# (as bench/run.sh).
#
#   ./bench/bindings.sh            # 3 rounds, 5 s windows
#   ./bench/bindings.sh --quick    # 1 round, 2 s windows
#
# Python: our AsyncServer (release build of bindings/python, on the Rust
# HTTP server, and attached to an aiohttp app) against python-socketio's
# AsyncServer on aiohttp, and both ASGIApps under uvicorn, in one
# venv (target/bench-py-venv) with bench/python/requirements.txt; then our
# sync Server under gunicorn (WSGIApp) against python-socketio's threading
# mode under gunicorn (bench/python/wsgi.py).
# Node: our binding (release build of bindings/node, on its own port and
# attached to an http.Server) against the npm socket.io server of
# bench/node (attached to an http.Server, as socket.io always is), when
# bindings/node is there, idle memory per connection included.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# 10 000 idle connections (the Node idle row): one descriptor each in the
# generator and in the server, as bench/run.sh.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" || true
if [ "$(ulimit -n)" -lt 10240 ]; then
    echo "warning: open files limit $(ulimit -n) is below 10 240; idle-connection figures scale down" >&2
    set -- --idle $(( $(ulimit -n) - 200 )) "$@"
fi

say "building the load generator"
cargo build --release --quiet -p sio-bench
bin="$root/target/release"
scenarios="echo-100,echo-1000,broadcast-1000"
out="$root/target/bench-bindings"
mkdir -p "$out"

say "Python: venv with python-socketio, aiohttp and our binding (release)"
venv="$root/target/bench-py-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r bench/python/requirements.txt
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall ./bindings/python
py="$venv/bin/python $root/bench/python/server.py"
taskset -c 0 "$bin/sio-bench" run --scenarios "$scenarios" \
    --command "./bench/bindings.sh $*" \
    --server "socketio_rs=$py socketio-rs" \
    --server "socketio_rs (aiohttp)=$py socketio-rs-aiohttp" \
    --server "python-socketio=$py python-socketio" \
    --server "socketio_rs (ASGI, uvicorn)=$py socketio-rs-uvicorn" \
    --server "python-socketio (ASGI, uvicorn)=$py python-socketio-uvicorn" \
    --out "$out/python.md" "$@"

say "Python WSGI: our sync Server and python-socketio's threading mode, both under gunicorn"
taskset -c 0 "$bin/sio-bench" run --scenarios "echo-100,broadcast-1000" \
    --command "./bench/bindings.sh $*" \
    --server "socketio_rs (WSGI)=$venv/bin/python $root/bench/python/wsgi.py socketio-rs" \
    --server "python-socketio (WSGI)=$venv/bin/python $root/bench/python/wsgi.py python-socketio" \
    --out "$out/python-wsgi.md" "$@"

reports=("$out/python.md" "$out/python-wsgi.md")
if [ -f bindings/node/package.json ] && [ -f bench/node/server-binding.mjs ]; then
    say "Node: our binding (release) and socket.io"
    (cd bindings/node && { npm ci --ignore-scripts --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --ignore-scripts --no-audit --no-fund --loglevel=error; } && npm run build >/dev/null)
    if [ ! -d bench/node/node_modules/socket.io ]; then
        (cd bench/node && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # Idle memory too: a Node server's connections hold JS objects beside
    # the core's state.
    taskset -c 0 "$bin/sio-bench" run --scenarios "$scenarios,idle" \
        --command "./bench/bindings.sh $*" \
        --server "socketio-rs (node)=node $root/bench/node/server-binding.mjs" \
        --server "socketio-rs (node, http.Server)=node $root/bench/node/server-binding.mjs --http-server" \
        --server "socket.io=node $root/bench/node/server.mjs" \
        --out "$out/node.md" "$@"
    reports+=("$out/node.md")
fi

say "writing BENCHMARKS-bindings.md"
{
    echo "# Benchmarks of the bindings"
    echo
    echo "Each binding against the server its users would pick instead, measured by \`./bench/bindings.sh\`"
    echo "with the load generator and method of BENCHMARKS.md (same scenarios, same machine rules): ratios"
    echo "compare servers of one table, measured minutes apart in the same run."
    for r in "${reports[@]}"; do
        echo
        # The run's facts, results and conditions; one level down.
        awk '/^## Last run/{on=1} /^## Scenarios/{on=0} on' "$r" | sed 's/^#/##/'
    done
} > BENCHMARKS-bindings.md
say "done: BENCHMARKS-bindings.md"
