// The process lifetime: a listening server or a connected client keeps
// Node running, as socket.io's do; once closed, nothing of ours does.

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
const { io } = require('./client')
const npm = require('socket.io')
`

test('a server and a client exit by themselves after close()', async () => {
  const r = await run(
    prelude +
      `
const srv = new Server(0)
srv.on('connection', (s) => s.on('x', (cb) => cb('y')))
const c = io('http://127.0.0.1:' + srv.httpServer.address().port)
c.on('connect', async () => {
  console.log(await c.emitWithAck('x'))
  c.disconnect()
  await srv.close()
  console.log('closed')
})
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  assert.equal(r.code, 0, r.out)
  assert.equal(r.out, 'y\nclosed\n')
})

test('a listening server keeps Node running until closed', async () => {
  const r = await run(prelude + `new Server(0); console.log('listening')`, 1500)
  assert.equal(r.exited, false, r.out)
  assert.equal(r.out, 'listening\n')
})

test('a connected client keeps Node running until it disconnects', async () => {
  const keep = await run(
    prelude +
      `
const srv = new npm.Server(0)
const c = io('http://127.0.0.1:' + srv.httpServer.address().port)
c.on('connect', () => { srv.httpServer.unref(); console.log('connected') })
`,
    2000,
  )
  assert.equal(keep.exited, false, keep.out)
  assert.equal(keep.out, 'connected\n')

  const done = await run(
    prelude +
      `
const srv = new npm.Server(0)
const c = io('http://127.0.0.1:' + srv.httpServer.address().port)
c.on('connect', () => { c.disconnect(); srv.close() })
`,
    10000,
  )
  assert.equal(done.exited, true, done.out)
  assert.equal(done.code, 0, done.out)
})

test('a client that cannot connect, without reconnection, lets Node exit', async () => {
  const r = await run(
    prelude +
      `
const c = io('http://127.0.0.1:1', { reconnection: false })
c.on('connect_error', (e) => console.log('connect_error'))
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  assert.equal(r.out, 'connect_error\n')
})

test('a refused client lets Node exit once the server closes', async () => {
  const r = await run(
    prelude +
      `
const srv = new Server(0)
srv.use((s, next) => next(new Error('no')))
const c = io('http://127.0.0.1:' + srv.httpServer.address().port)
c.on('connect_error', (e) => { console.log(e.message); srv.close() })
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  assert.equal(r.out, 'no\n')
})

test('a server attached to an http.Server exits once closed', async () => {
  const r = await run(
    prelude +
      `
const http = require('node:http')
const httpServer = http.createServer()
const srv = new Server(httpServer)
httpServer.listen(0, '127.0.0.1', () => {
  const c = io('http://127.0.0.1:' + httpServer.address().port)
  c.on('connect', () => { c.disconnect(); srv.close(() => console.log('closed')) })
})
`,
    10000,
  )
  assert.equal(r.exited, true, r.out)
  assert.equal(r.out, 'closed\n')
})
