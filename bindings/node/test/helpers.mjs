// Shared helpers of the test suite: loopback servers on port 0, bounded
// waits.

import { createRequire } from 'node:module'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'

const require = createRequire(import.meta.url)

/** Our package, its client entry, and the reference peers from npm. */
export const rs = require('..')
export const rsClient = require('../client')
export const sio = require('socket.io')
export const sioClient = require('socket.io-client')

/** Rejects when `promise` takes longer than `ms`. */
export function within(promise, ms = 5000, what = 'operation') {
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, t]).finally(() => clearTimeout(timer))
}

/** The next `event` of `emitter` (its arguments as an array). */
export function next(emitter, event, ms = 5000) {
  return within(
    new Promise((resolve) => emitter.once(event, (...args) => resolve(args))),
    ms,
    `waiting for "${event}"`,
  )
}

/** Waits `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Our server on a loopback port: [io, url]. */
export function rsServer(opts) {
  const io = new rs.Server(0, opts)
  return [io, `http://127.0.0.1:${io.httpServer.address().port}`]
}

/**
 * Our server for test `t`, closed with its clients when the test ends:
 * `{ io, url, client(path, opts), clients }`, `client` connecting the npm
 * socket.io-client.
 */
export function rsSetup(t, opts) {
  const [io, url] = rsServer(opts)
  const clients = []
  t.after(async () => {
    for (const c of clients) c.disconnect()
    await within(io.close(), 8000, 'close')
  })
  const client = async (path = '', o) => {
    const c = await npmClient(url + path, o)
    clients.push(c)
    return c
  }
  return { io, url, client, clients }
}

/** The npm socket.io server on a loopback port: [io, url]. */
export function npmServer(opts) {
  const io = new sio.Server(0, opts)
  return [io, `http://127.0.0.1:${io.httpServer.address().port}`]
}

/** An npm socket.io-client of `url`, connected. */
export async function npmClient(url, opts = {}) {
  const c = sioClient.io(url, { forceNew: true, reconnection: false, ...opts })
  await next(c, 'connect')
  return c
}

/** One of our clients of `url`, connected. */
export async function rsClientOf(url, opts = {}) {
  const c = rsClient.io(url, { forceNew: true, reconnection: false, ...opts })
  await next(c, 'connect')
  return c
}

/** Collects `n` calls of a callback, resolving with their arguments. */
export function collect(n, ms = 5000) {
  const calls = []
  let done
  const p = new Promise((resolve) => {
    done = resolve
  })
  const fn = (...args) => {
    calls.push(args)
    if (calls.length === n) done(calls)
  }
  fn.done = within(p, ms, `waiting for ${n} calls`)
  return fn
}

const REDIS = '/usr/bin/redis-server'

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * A private redis-server on a free loopback port for test `t`:
 * `{ url, stop }`, or null (the test skipped) without redis-server unless
 * SOCKETIO_RS_REQUIRE_REDIS is set.
 */
export async function startRedis(t) {
  if (!existsSync(REDIS)) {
    if (process.env.SOCKETIO_RS_REQUIRE_REDIS) throw new Error(`${REDIS} is required`)
    t.skip('redis-server is not installed')
    return null
  }
  const port = await freePort()
  const proc = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  const deadline = Date.now() + 10000
  for (;;) {
    const up = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end()
        resolve(true)
      })
      c.once('error', () => resolve(false))
    })
    if (up) break
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error('redis-server did not start')
    }
    await sleep(20)
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
}
