// The README's install paths give the release addon and leave the package's
// committed files alone:
//
//   - `npm install` in bindings/node (its `prepare` script builds it);
//   - `npm install <path to bindings/node>` from another project (a symlink;
//     npm runs the linked folder's `prepare`);
//   - the tarball of `npm pack` installed into another project (it carries
//     the addon `prepare` built before packing);
//   - `npm install` on a fresh copy keeps the committed lockfile as it is.
//
// The scratch projects live in a temporary folder removed at the end; the
// addon found in bindings/node (test.sh's dev build) is put back then. The
// only server is on loopback.
//
// The first install compiles the release addon (minutes on a cold cargo
// cache), longer than the suite's per-file limit: the file runs only with
// SOCKETIO_RS_INSTALL_TEST=1, on its own, as test.sh runs it:
//
//   SOCKETIO_RS_INSTALL_TEST=1 node --test --test-timeout=2400000 test/install.test.mjs

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const pkgDir = fs.realpathSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..'))
const lockfile = path.join(pkgDir, 'package-lock.json')
// Committed files no install may rewrite.
const kept = ['package.json', 'package-lock.json', 'native.js', 'native.d.ts']
const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts=false']
// What an install that builds may take; below the file's limit, so that a
// slow build fails here and the cleanup still runs.
const buildMs = 20 * 60 * 1000
const enabled = process.env.SOCKETIO_RS_INSTALL_TEST === '1'

let scratch
let snapshot
// The addons found in the folder (test.sh's dev build), put back at the end.
const saved = []

// npm's own settings of an enclosing `npm test` (lifecycle, package, and
// config such as --ignore-scripts) stay out of the npm commands run here;
// where the registry is and the cache stay.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      !/^npm_/i.test(k) ||
      /^npm_config_(registry|cache|userconfig|globalconfig|cafile|ca|proxy|https_proxy|noproxy)$/i.test(k),
  ),
)

/** Runs a command; its output, or a failure with the command's output. */
function run(cmd, args, cwd, ms = 100000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: ms, maxBuffer: 64 * 1024 * 1024 })
  const what = `${cmd} ${args.join(' ')} (in ${cwd})`
  if (r.error) throw new Error(`${what}: ${r.error.message}\n${r.stdout}\n${r.stderr}`)
  assert.equal(r.status, 0, `${what} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** A scratch project folder with a package.json. */
function project(name) {
  const dir = path.join(scratch, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true }, null, 2) + '\n',
  )
  return dir
}

// Run inside a project: the installed package's profile, where it was
// loaded from, and one acknowledged echo between its server and client.
const probe = `
const rs = require('socketio-rs')
const { io } = require('socketio-rs/client')
const srv = new rs.Server(0)
srv.on('connection', (s) => s.on('echo', (m, ack) => ack(m)))
const c = io('http://127.0.0.1:' + srv.httpServer.address().port, { forceNew: true, reconnection: false })
c.on('connect', async () => {
  const echo = await c.timeout(5000).emitWithAck('echo', 'hi')
  console.log(JSON.stringify({ profile: rs.buildProfile(), from: require.resolve('socketio-rs'), echo }))
  c.disconnect()
  await srv.close()
})
`

/** Runs the probe in `dir`. */
function probeIn(dir) {
  const out = run(process.execPath, ['-e', probe], dir, 30000)
  return JSON.parse(out.trim().split('\n').pop())
}

describe('install paths', { skip: !enabled && 'set SOCKETIO_RS_INSTALL_TEST=1 (test.sh does)' }, () => {
  before(() => {
    scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'socketio-rs-install-')))
    snapshot = new Map(kept.map((f) => [f, fs.readFileSync(path.join(pkgDir, f))]))
    for (const f of fs.readdirSync(pkgDir).filter((f) => /^socketio-node\..+\.node$/.test(f))) {
      fs.copyFileSync(path.join(pkgDir, f), path.join(scratch, f))
      saved.push(f)
    }
  })

  // Puts the addons found at the start back, so that each install path has to
  // make the release one itself. Renamed into place: a process that has the
  // other addon loaded keeps it.
  function putBack() {
    for (const f of saved) {
      const tmp = path.join(pkgDir, `${f}.${process.pid}.tmp`)
      fs.copyFileSync(path.join(scratch, f), tmp)
      fs.renameSync(tmp, path.join(pkgDir, f))
    }
  }

  after(() => {
    putBack()
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true })
    // A failed check must not leave the lockfile rewritten.
    const lock = snapshot && snapshot.get('package-lock.json')
    if (lock && !fs.readFileSync(lockfile).equals(lock)) fs.writeFileSync(lockfile, lock)
  })

  it('npm install in bindings/node: the release addon, the lockfile as committed', () => {
    run('npm', ['install', ...npmFlags], pkgDir, buildMs)
    const lock = fs.readFileSync(lockfile)
    assert.ok(lock.equals(snapshot.get('package-lock.json')), 'npm install rewrote package-lock.json')
    const profile = run(process.execPath, ['-p', "require('.').buildProfile()"], pkgDir, 30000).trim()
    assert.equal(profile, 'release')
  })

  it('npm install <path to bindings/node> from another project: the release addon', () => {
    putBack()
    const dir = project('scratch-link')
    run('npm', ['install', pkgDir, ...npmFlags], dir, buildMs)
    const installed = path.join(dir, 'node_modules', 'socketio-rs')
    assert.ok(fs.lstatSync(installed).isSymbolicLink(), 'a folder dependency is a symlink')
    assert.equal(fs.realpathSync(installed), pkgDir)
    const r = probeIn(dir)
    assert.equal(r.profile, 'release')
    assert.equal(r.from, path.join(pkgDir, 'index.js'))
    assert.equal(r.echo, 'hi')
  })

  it('the npm pack tarball carries the release addon', () => {
    putBack()
    const dest = path.join(scratch, 'pack')
    fs.mkdirSync(dest)
    const out = run('npm', ['pack', '--json', '--pack-destination', dest, ...npmFlags], pkgDir, buildMs)
    const [info] = JSON.parse(out.slice(out.indexOf('[')))
    const files = info.files.map((f) => f.path)
    assert.ok(files.some((f) => /^socketio-node\..+\.node$/.test(f)), `no addon in the tarball: ${files}`)
    assert.ok(!files.some((f) => f.startsWith('src/') || f === 'Cargo.toml'), `Rust sources in the tarball: ${files}`)

    const dir = project('scratch-tarball')
    run('npm', ['install', path.join(dest, info.filename), ...npmFlags], dir)
    const installed = path.join(dir, 'node_modules', 'socketio-rs')
    assert.ok(fs.lstatSync(installed).isDirectory())
    const r = probeIn(dir)
    assert.equal(r.profile, 'release')
    assert.equal(r.from, path.join(installed, 'index.js'))
    assert.equal(r.echo, 'hi')
  })

  it('npm install on a fresh copy keeps the committed lockfile', () => {
    const dir = path.join(scratch, 'fresh')
    fs.mkdirSync(dir)
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(pkgDir, f), path.join(dir, f))
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir)
    assert.ok(
      fs.readFileSync(path.join(dir, 'package-lock.json')).equals(snapshot.get('package-lock.json')),
      'npm install rewrote the lockfile',
    )
  })

  it("the installs leave the package's committed files as they were", () => {
    for (const [f, bytes] of snapshot) {
      assert.ok(fs.readFileSync(path.join(pkgDir, f)).equals(bytes), `${f} changed`)
    }
  })
})
