// The process lifetime with a Manager: its connection keeps Node running
// while it is open or reconnecting, as socket.io-client's does; once the
// manager closes, stops reconnecting or gives up, nothing of it does, and
// the events that led there are all told first.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Runs `code` in a child Node; resolves with whether it exited in `ms`. */
function run(code, ms) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ exited: false, out })
    }, ms)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ exited: true, code, out })
    })
  })
}

const prelude = `
const { Server } = require('.')
const { Manager } = require('./client')
`

test('a Manager opened with no socket keeps Node running until _close()', async () => {
  const r = await run(
    prelude +
      `
const srv = new Server(0)
const m = new Manager('http://127.0.0.1:' + srv.httpServer.address().port)
m.on('open', () => {
  console.log('open')
  // Still running a while later: the open connection holds it.
  setTimeout(() => { console.log('still'); m.on('close', (r) => { console.log(r); srv.close() }); m._close() }, 300)
})
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  assert.equal(r.out, 'open\nstill\nforced close\n')
})

test('a failing Manager lets Node exit after its last attempt, every event told', async () => {
  const r = await run(
    prelude +
      `
const m = new Manager('http://127.0.0.1:1', { reconnectionAttempts: 2, reconnectionDelay: 10, reconnectionDelayMax: 10 })
const s = m.socket('/')
m.on('error', () => console.log('error'))
m.on('reconnect_attempt', (n) => console.log('attempt', n))
m.on('reconnect_error', () => console.log('reconnect_error'))
m.on('reconnect_failed', () => console.log('failed'))
s.on('connect_error', () => console.log('connect_error'))
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  const lines = r.out.trim().split('\n')
  const count = (l) => lines.filter((x) => x === l).length
  assert.deepEqual(
    ['error', 'connect_error', 'attempt 1', 'attempt 2', 'reconnect_error', 'failed'].map(count),
    [3, 3, 1, 1, 2, 1],
    r.out,
  )
  // reconnect_failed, then the last attempt's reconnect_error, as socket.io-client.
  assert.deepEqual(lines.slice(-2), ['failed', 'reconnect_error'])
})

test('reconnection(false) during a reconnection lets Node exit', async () => {
  const r = await run(
    prelude +
      `
const m = new Manager('http://127.0.0.1:1', { reconnectionDelay: 10, reconnectionDelayMax: 10 })
m.socket('/')
m.once('reconnect_error', () => { console.log('stop'); m.reconnection(false) })
m.on('reconnect_attempt', (n) => console.log('attempt', n))
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  assert.equal(r.out, 'attempt 1\nstop\n')
})
