#!/usr/bin/env bash
# Builds the Python binding (dev profile) into a venv under the Cargo
# target directory and runs its pytest suite. Idempotent; the tests that
# need the npm socket.io peer run once `npm ci --prefix tests/node` was done
# (they are skipped otherwise).
#
#   bindings/python/test.sh [pytest args...]
#
# Environment: PYTHON (default python3), CARGO_TARGET_DIR (default target/).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/py-venv
python=${PYTHON:-python3}

if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q -r "$here/requirements-test.txt"

# maturin (the PEP 517 backend, pinned above) builds with the dev profile
# into the shared target directory: no release build, no isolated env.
PATH="$venv/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
    "${pip[@]}" install -q --no-build-isolation --no-deps --force-reinstall "$here"

cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
