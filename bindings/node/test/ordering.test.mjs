// The events and acknowledgements of one connection reach JS in the order
// the client sent them, as on socket.io: a client that answers a question
// and then emits has its answer seen first.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsServer, npmClient, next, within } from './helpers.mjs'

test('an acknowledgement reaches JS before the events sent after it', async (t) => {
  const [io, url] = rsServer()
  const c = await npmClient(url, { transports: ['websocket'] })
  t.after(async () => {
    c.disconnect()
    await within(io.close(), 8000, 'close')
  })
  c.on('q', (n, cb) => {
    cb(n)
    c.emit('after', n)
  })
  const [socket] = io.of('/').sockets.size ? [...io.of('/').sockets.values()] : await next(io, 'connection')
  const N = 300
  const log = []
  const done = new Promise((resolve) => {
    socket.on('after', (n) => {
      log.push(`event ${n}`)
      if (n === N - 1) resolve()
    })
  })
  for (let n = 0; n < N; n++) socket.emit('q', n, (r) => log.push(`ack ${r}`))
  await within(done, 10000, 'all events')
  for (let n = 0; n < N; n++) {
    assert.ok(log.indexOf(`ack ${n}`) !== -1, `ack ${n} arrived`)
    assert.ok(log.indexOf(`ack ${n}`) < log.indexOf(`event ${n}`), `ack ${n} before event ${n}`)
  }
  // And with a timeout (the path of socket.timeout(ms).emit).
  const log2 = []
  const done2 = new Promise((resolve) => {
    socket.on('after2', (n) => {
      log2.push(`event ${n}`)
      if (n === N - 1) resolve()
    })
  })
  c.on('q2', (n, cb) => {
    cb(n)
    c.emit('after2', n)
  })
  for (let n = 0; n < N; n++) socket.timeout(5000).emit('q2', n, (err, r) => log2.push(err ? `err ${n}` : `ack ${r}`))
  await within(done2, 10000, 'all events')
  for (let n = 0; n < N; n++) {
    assert.ok(log2.indexOf(`ack ${n}`) < log2.indexOf(`event ${n}`) && log2.indexOf(`ack ${n}`) >= 0, `ack ${n} first`)
  }
})
