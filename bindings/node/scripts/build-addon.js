#!/usr/bin/env node
'use strict'

// Builds the native addon with cargo and puts it where `native.js` loads it
// (`socketio-node.<platform>.node` beside package.json).
//
//   node scripts/build-addon.js            # release (npm install, npm run build)
//   node scripts/build-addon.js --debug    # dev profile (npm run build:debug)
//
// It runs `cargo rustc -p socketio-node` in the workspace, so the build
// shares the workspace's target directory (or CARGO_TARGET_DIR) with every
// other cargo command: no `--target`, which would compile everything again
// into a directory of its own. It needs only cargo, not the napi CLI: the
// JS loader and type declarations (`native.js`, `native.d.ts`) are
// committed, and `npm run generate` regenerates them.
//
// In a package installed from a tarball there are no Rust sources: the
// addon built by `npm pack` is already there, and nothing is done.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const manifest = path.join(root, 'Cargo.toml')
const debug = process.argv.includes('--debug')
const addon = path.join(root, `socketio-node.${platformArchAbi()}.node`)

function say(msg) {
  console.error(`socketio-rs: ${msg}`)
}

/** napi-rs's name for this platform, as `native.js` looks it up. */
function platformArchAbi() {
  const { platform, arch } = process
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform === 'linux') {
    if (arch === 'arm') return `linux-arm-${isMusl() ? 'musleabihf' : 'gnueabihf'}`
    return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  }
  return `${platform}-${arch}`
}

function isMusl() {
  const report = process.report && process.report.getReport()
  return !(report && report.header && report.header.glibcVersionRuntime)
}

if (!fs.existsSync(manifest)) {
  if (fs.existsSync(addon)) process.exit(0)
  say(`no prebuilt addon for this platform (${path.basename(addon)}) and no Rust sources to build it from`)
  process.exit(1)
}

const cargo = process.env.CARGO || 'cargo'
const args = ['rustc', '--manifest-path', manifest, '-p', 'socketio-node', '--lib', '--locked']
if (!debug) args.push('--release')
// The JSON messages name the library cargo wrote, wherever the target
// directory is; diagnostics and progress still go to stderr.
args.push('--message-format=json-render-diagnostics')
// The release addon leaves out the debug info the workspace's release
// profile keeps for profiling (77 MB -> 14 MB). Passed to the last crate
// only (`cargo rustc`), so the dependencies are the ones any other release
// build of the workspace compiles.
if (!debug) args.push('--', '-C', 'strip=debuginfo')

say(`cargo ${args.join(' ')}`)
const run = spawnSync(cargo, args, {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
})
if (run.error) {
  say(`cannot run ${cargo} (Rust >= 1.88 is needed to build the addon): ${run.error.message}`)
  process.exit(1)
}
if (run.status !== 0) {
  say(`cargo build failed (exit ${run.status})`)
  process.exit(run.status || 1)
}

let lib = null
for (const line of run.stdout.split('\n')) {
  if (!line.startsWith('{')) continue
  const msg = JSON.parse(line)
  if (
    msg.reason === 'compiler-artifact' &&
    msg.target &&
    msg.target.name === 'socketio_node' &&
    msg.target.kind.includes('cdylib')
  ) {
    lib = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || lib
  }
}
if (!lib) {
  say('cargo did not name the built library')
  process.exit(1)
}

// A new file renamed over the old one: a process that has the old addon
// loaded keeps it intact.
const tmp = `${addon}.${process.pid}.tmp`
fs.copyFileSync(lib, tmp)
fs.renameSync(tmp, addon)
const mb = (fs.statSync(addon).size / 1e6).toFixed(1)
say(`${debug ? 'debug' : 'release'} addon: ${path.basename(addon)} (${mb} MB)`)
