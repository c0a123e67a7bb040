#!/usr/bin/env bash
# The Node binding's test entry: installs the npm dependencies from the
# committed lockfile, builds the addon, runs the node:test suite.
# Works from a clean clone; safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

# `--ignore-scripts`: the builds are done below, one step each; `npm ci`
# fails if the lockfile does not match package.json.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The suite runs on the dev build (debug assertions on).
node scripts/build-addon.js --debug
node --test --test-timeout=120000

# The install paths (README): each must give the release addon and leave
# the committed files alone. The first compiles the release addon
# (scripts/build-addon.js: cargo, the workspace's target directory and
# cache), minutes on a cold cache, hence a file of its own with a longer
# limit. It puts the dev build back in place when done.
SOCKETIO_RS_INSTALL_TEST=1 node --test --test-timeout=2400000 test/install.test.mjs
