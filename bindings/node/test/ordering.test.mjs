// The events and acknowledgements of one connection reach JS in the order
// the client sent them, as on socket.io: a client that answers a question
// and then emits has its answer seen first.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsServer, npmServer, npmClient, rsClient, next, within } from './helpers.mjs'

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

// socket.io hands a packet to the listeners there are when its turn comes:
// a listener added by the handler of one event sees the events sent right
// after it, however close behind they came.
test('a server listener added by an event handler sees the events sent right behind it', async (t) => {
  const [io, url] = rsServer()
  const conn = next(io, 'connection')
  const c = await npmClient(url, { transports: ['websocket'] })
  t.after(async () => {
    c.disconnect()
    await within(io.close(), 8000, 'close')
  })
  const [socket] = await conn
  const N = 50
  const got = []
  const anyGot = []
  const done = new Promise((resolve) => {
    socket.on('login', (n, cb) => {
      // Added only now, when the chat of the same round is already sent.
      socket.on(`chat${n}`, (m, ack) => {
        got.push(m)
        ack(`ok ${m}`)
        if (got.length === N) resolve()
      })
      if (n === 0) socket.onAny((event, ...args) => anyGot.push([event, typeof args[args.length - 1]]))
      cb()
    })
  })
  const acks = []
  for (let n = 0; n < N; n++) {
    c.emit('login', n, () => {})
    c.emit(`chat${n}`, n, (r) => acks.push(r))
  }
  await within(done, 10000, 'every chat')
  assert.deepEqual(got, [...Array(N).keys()])
  await within(
    (async () => {
      while (acks.length < N) await new Promise((r) => setTimeout(r, 10))
    })(),
    5000,
    'the acknowledgements',
  )
  // The catch-all listener added by the first login saw the chat behind it,
  // with its acknowledgement function last, as socket.io's `onAny`.
  assert.deepEqual(anyGot[0], ['chat0', 'function'])
  assert.equal(anyGot.filter(([e]) => e.startsWith('chat')).length, N)
})

test('a client listener added by an event handler sees the events sent right behind it', async (t) => {
  const [io, url] = npmServer()
  const N = 50
  io.on('connection', (socket) => {
    for (let n = 0; n < N; n++) {
      socket.emit('welcome', n)
      socket.emit(`news${n}`, n)
    }
  })
  const c = rsClient.io(url, { forceNew: true, reconnection: false, transports: ['websocket'] })
  t.after(async () => {
    c.disconnect()
    await new Promise((resolve) => io.close(resolve))
  })
  const got = []
  const anyGot = []
  const done = new Promise((resolve) => {
    c.on('welcome', (n) => {
      c.on(`news${n}`, (m) => {
        got.push(m)
        if (got.length === N) resolve()
      })
      if (n === 0) c.onAny((event) => anyGot.push(event))
    })
  })
  await within(done, 10000, 'every news')
  assert.deepEqual(got, [...Array(N).keys()])
  assert.equal(anyGot[0], 'news0')
})
