// Our client, talking to the npm socket.io server.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsClient, npmServer, rsClientOf, next, within, sleep, collect } from './helpers.mjs'

const { io, Manager } = rsClient

/**
 * Waits until `c`'s connection runs on WebSocket: engine.io, closing a
 * session in the middle of an upgrade, waits 30 s for a last poll.
 */
async function upgraded(c) {
  await within(
    (async () => {
      while (c.io.engine?.transport.name !== 'websocket') await sleep(5)
    })(),
    5000,
    'upgrade',
  )
}

function setup(t, opts) {
  const [server, url] = npmServer(opts)
  const clients = []
  t.after(async () => {
    for (const c of clients) c.disconnect()
    // The sessions end first: one closed by the server in the middle of an
    // upgrade would keep engine.io waiting 30 s for a last poll.
    await within(
      (async () => {
        while (server.engine.clientsCount > 0) await sleep(10)
      })(),
      3000,
      'sessions end',
    ).catch(() => {})
    await within(server.close(), 8000, 'close')
  })
  const client = async (path = '', o) => {
    const c = await rsClientOf(url + path, o)
    clients.push(c)
    return c
  }
  const track = (c) => {
    clients.push(c)
    return c
  }
  return { server, url, client, track }
}

test('connect, id, auth, query, emit both ways', async (t) => {
  const { server, client } = setup(t)
  const conn = next(server, 'connection')
  const c = await client('', { auth: { token: 'x' }, query: { a: '1' } })
  const [s] = await conn
  assert.equal(c.connected, true)
  assert.equal(c.disconnected, false)
  assert.equal(c.id, s.id)
  assert.deepEqual(s.handshake.auth, { token: 'x' })
  assert.equal(s.handshake.query.a, '1')

  const got = next(s, 'up')
  c.emit('up', 'text', { deep: [1, { x: null }] })
  assert.deepEqual(await got, ['text', { deep: [1, { x: null }] }])
  const down = next(c, 'down')
  s.emit('down', 1, 'two', [3])
  assert.deepEqual(await down, [1, 'two', [3]])
  assert.throws(() => c.emit('connect'), /reserved/)
})

test('acknowledgements both ways, timeouts', async (t) => {
  const { server, client } = setup(t)
  server.on('connection', (s) => {
    s.on('mul', (a, b, cb) => cb(a * b))
    s.on('never', () => {})
  })
  const conn = next(server, 'connection')
  const c = await client()
  const [s] = await conn
  assert.equal(await c.emitWithAck('mul', 6, 7), 42)
  assert.equal(await new Promise((resolve) => c.emit('mul', 2, 2, resolve)), 4)
  const [err, res] = await new Promise((resolve) =>
    c.timeout(2000).emit('mul', 3, 3, (...a) => resolve(a)),
  )
  assert.equal(err, null)
  assert.equal(res, 9)
  await assert.rejects(c.timeout(100).emitWithAck('never'), /timed out/)

  // the server asks, our client answers
  c.on('q', (x, cb) => cb(x.toUpperCase(), 'more'))
  assert.equal(await s.timeout(2000).emitWithAck('q', 'abc'), 'ABC')
  const all = await new Promise((resolve) => s.emit('q', 'd', (...a) => resolve(a)))
  assert.deepEqual(all, ['D', 'more'])
})

test('binary payloads both ways', async (t) => {
  const { server, client } = setup(t)
  const conn = next(server, 'connection')
  const c = await client()
  const [s] = await conn
  s.on('bin', (obj, cb) => cb(obj.b, Buffer.from('reply')))
  const [a, b] = await new Promise((resolve) =>
    c.emit('bin', { b: new Uint8Array([5, 6, 7]) }, (...r) => resolve(r)),
  )
  assert.ok(Buffer.isBuffer(a))
  assert.deepEqual([...a], [5, 6, 7])
  assert.equal(b.toString(), 'reply')
  const got = next(c, 'blob')
  s.emit('blob', { nested: [Buffer.from([1])] })
  const [blob] = await got
  assert.deepEqual([...blob.nested[0]], [1])
})

test('connect_error from a middleware, with data; no reconnection', async (t) => {
  const { server, url, track } = setup(t)
  server.use((socket, nextFn) => {
    if (socket.handshake.auth.ok) return nextFn()
    const err = new Error('unauthorized')
    err.data = { why: 'no token' }
    nextFn(err)
  })
  const c = track(io(url, { forceNew: true, reconnectionDelay: 50 }))
  const [err] = await next(c, 'connect_error')
  assert.equal(err.message, 'unauthorized')
  assert.deepEqual(err.data, { why: 'no token' })
  await sleep(100)
  assert.equal(c.active, false)
  assert.equal(c.connected, false)

  // connect() again with a valid auth
  c.auth = { ok: true }
  c.disconnect()
  const c2 = track(io(url, { forceNew: true, auth: { ok: true } }))
  await next(c2, 'connect')
})

test('connect_error when nobody listens, reconnect_attempt and reconnect_failed', async (t) => {
  const [server, url] = npmServer()
  await server.close()
  const c = io(url, {
    forceNew: true,
    reconnectionAttempts: 2,
    reconnectionDelay: 20,
    reconnectionDelayMax: 20,
  })
  t.after(() => c.disconnect())
  const attempts = collect(2)
  c.io.on('reconnect_attempt', attempts)
  const failed = next(c.io, 'reconnect_failed', 8000)
  const [err] = await next(c, 'connect_error')
  assert.ok(err instanceof Error)
  assert.deepEqual(await attempts.done, [[1], [2]])
  await failed
})

test('reconnects after the server drops the connection', async (t) => {
  const { server, client } = setup(t)
  const c = await client('', { reconnection: true, reconnectionDelay: 20, reconnectionDelayMax: 50 })
  const reconnected = next(c.io, 'reconnect', 8000)
  const dropped = next(c, 'disconnect')
  // The transport closes without a DISCONNECT packet.
  await upgraded(c)
  for (const s of server.of('/').sockets.values()) s.conn.close()
  assert.equal((await dropped)[0], 'transport close')
  await reconnected
  await within((async () => { while (!c.connected) await sleep(10) })())
  assert.equal(c.connected, true)
})

test('server disconnect: reason, no reconnection', async (t) => {
  const { server, client } = setup(t)
  const conn = next(server, 'connection')
  const c = await client('', { reconnection: true })
  const [s] = await conn
  const gone = next(c, 'disconnect')
  s.disconnect()
  assert.deepEqual(await gone, ['io server disconnect'])
  await sleep(50)
  assert.equal(c.active, false)
})

test('client disconnect: reason on both sides; connect again', async (t) => {
  const { server, client } = setup(t)
  const conn = next(server, 'connection')
  const c = await client()
  const [s] = await conn
  const serverSide = next(s, 'disconnect')
  const clientSide = next(c, 'disconnect')
  c.disconnect()
  assert.deepEqual(await clientSide, ['io client disconnect'])
  assert.equal((await serverSide)[0], 'client namespace disconnect')
  assert.equal(c.connected, false)
  const again = next(c, 'connect')
  c.connect()
  await again
  assert.equal(c.connected, true)
})

test('namespaces share a manager unless forceNew; Manager.socket', async (t) => {
  const { server, url, track } = setup(t)
  const seen = collect(2)
  server.of('/a').on('connection', (s) => seen('a', s.conn.id))
  server.of('/b').on('connection', (s) => seen('b', s.conn.id))
  const manager = new Manager(url, { reconnection: false })
  const a = track(manager.socket('/a'))
  const b = track(manager.socket('/b'))
  await Promise.all([next(a, 'connect'), next(b, 'connect')])
  const calls = await seen.done
  assert.deepEqual(calls.map((x) => x[0]).sort(), ['a', 'b'])
  assert.equal(manager.socket('/a'), a)
  assert.equal(manager.reconnection(), false)
  assert.equal(manager.reconnectionDelay(2000), manager)
  assert.equal(manager.reconnectionDelay(), 2000)

  const ns = track(io(url + '/a', { forceNew: true }))
  await next(ns, 'connect')
  assert.equal(ns.nsp, '/a')
  assert.notEqual(ns.io, manager)
})

test('once, off, onAny, offAny, onAnyOutgoing, volatile', async (t) => {
  const { server, client } = setup(t)
  const conn = next(server, 'connection')
  const c = await client()
  const [s] = await conn

  const onceSeen = []
  c.once('e', (x) => onceSeen.push(x))
  const any = collect(2)
  c.onAny(any)
  s.emit('e', 1)
  s.emit('e', 2)
  assert.deepEqual(await any.done, [
    ['e', 1],
    ['e', 2],
  ])
  assert.deepEqual(onceSeen, [1])
  c.offAny(any)
  assert.equal(c.listenersAny().length, 0)

  const out = collect(1)
  c.onAnyOutgoing(out)
  const got = next(s, 'o')
  c.emit('o', 'x')
  await got
  assert.deepEqual(await out.done, [['o', 'x']])
  c.offAnyOutgoing()

  const dropped = []
  const l = (x) => dropped.push(x)
  c.on('f', l)
  c.off('f', l)
  s.emit('f', 1)
  const v = next(s, 'v')
  c.volatile.emit('v', 1)
  await v
  await sleep(50)
  assert.deepEqual(dropped, [])
})

test('autoConnect: false buffers emits until connect()', async (t) => {
  const { server, url, track } = setup(t)
  const got = new Promise((resolve) =>
    server.on('connection', (s) => s.on('early', (x, cb) => {
      cb('ok')
      resolve(x)
    })),
  )
  const c = track(io(url, { forceNew: true, autoConnect: false }))
  assert.equal(c.connected, false)
  const ack = new Promise((resolve) => c.emit('early', 'buffered', resolve))
  await sleep(50)
  c.connect()
  assert.equal(await within(got), 'buffered')
  assert.equal(await within(ack), 'ok')
})

test('websocket only, extraHeaders, path', async (t) => {
  const { server, client } = setup(t, { path: '/p' })
  const conn = next(server, 'connection')
  const c = await client('', {
    path: '/p',
    transports: ['websocket'],
    extraHeaders: { 'x-test': 'yes' },
  })
  const [s] = await conn
  assert.equal(s.conn.transport.name, 'websocket')
  assert.equal(s.handshake.headers['x-test'], 'yes')
  assert.equal(c.connected, true)
})

test('handlers registered in the connect handler see the first events', async (t) => {
  const { server, url, track } = setup(t)
  server.on('connection', (s) => s.emit('first', 1))
  const c = track(io(url, { forceNew: true }))
  const first = new Promise((resolve) => c.on('connect', () => c.on('first', resolve)))
  assert.equal(await within(first), 1)
})

test('manager events: open, close, error', async (t) => {
  const { server, url, track } = setup(t)
  const c = track(io(url, { forceNew: true, reconnection: false }))
  const opened = next(c.io, 'open')
  await next(c, 'connect')
  await opened
  const closed = next(c.io, 'close')
  await upgraded(c)
  for (const s of server.of('/').sockets.values()) s.conn.close()
  assert.equal((await closed)[0], 'transport close')

  const bad = io('http://127.0.0.1:1', { forceNew: true, reconnection: false })
  t.after(() => bad.disconnect())
  const [err] = await next(bad.io, 'error')
  assert.ok(err instanceof Error)
})

test('connection state recovery: recovered, missed events delivered', async (t) => {
  const { server, client } = setup(t, {
    connectionStateRecovery: { maxDisconnectionDuration: 5000 },
  })
  const c = await client('', { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 })
  assert.equal(c.recovered, false)
  const id = c.id
  // A session is recoverable from the last packet the client received.
  const first = next(c, 'first')
  server.emit('first')
  await first
  const dropped = next(c, 'disconnect')
  await upgraded(c)
  for (const s of server.of('/').sockets.values()) s.conn.close()
  await dropped
  server.emit('missed', 'while away')
  const missed = next(c, 'missed')
  await next(c, 'connect', 5000)
  assert.equal(c.recovered, true)
  assert.equal(c.id, id)
  // As with socket.io-client, the session offset comes last.
  assert.equal((await missed)[0], 'while away')
})

test('off(event) and off() remove every listener, as socket.io-client; _close()', async (t) => {
  const { server, url, track } = setup(t)
  const conn = next(server, 'connection')
  const c = track(io(url, { forceNew: true, reconnection: false }))
  await next(c, 'connect')
  const [s] = await conn

  const seen = []
  c.on('e', () => seen.push('a'))
  c.on('e', () => seen.push('b'))
  c.off('e')
  assert.equal(c.listenerCount('e'), 0)
  c.on('f', () => seen.push('f'))
  c.off()
  assert.equal(c.listenerCount('f'), 0)
  // Listeners added afterwards still get their events.
  const got = next(c, 'g')
  s.emit('e')
  s.emit('f')
  s.emit('g', 1)
  assert.deepEqual(await got, [1])
  c.removeAllListeners()
  const again = next(c, 'h')
  s.emit('h', 2)
  assert.deepEqual(await again, [2])
  assert.deepEqual(seen, [])

  c.io.on('reconnect', () => {})
  c.io.off('reconnect')
  assert.equal(c.io.listenerCount('reconnect'), 0)
  const gone = next(c, 'disconnect')
  assert.equal(c.io._close(), c.io)
  assert.deepEqual(await gone, ['forced close'])
  // As socket.io-client: the socket still wants a connection, which the
  // manager no longer makes until opened again.
  assert.equal(c.active, true)
  await sleep(100)
  assert.equal(c.connected, false)
  const back = next(c, 'connect')
  c.io.open()
  await back
})

test('an ack timeout runs while the emit waits for connect()', async (t) => {
  const { server, url, track } = setup(t)
  server.on('connection', (s) => s.on('echo', (x, cb) => cb(x)))
  const c = track(io(url, { forceNew: true, autoConnect: false, reconnection: false }))
  const timedOut = new Promise((resolve) => c.timeout(50).emit('echo', 1, (...a) => resolve(a)))
  const kept = new Promise((resolve) => c.timeout(3000).emit('echo', 2, (...a) => resolve(a)))
  assert.equal(c.sendBuffer.length, 2)
  const [err] = await within(timedOut)
  assert.ok(err instanceof Error)
  assert.match(err.message, /timed out/)
  assert.equal(c.sendBuffer.length, 1)
  c.connect()
  assert.deepEqual(await within(kept), [null, 2])

  // With `retries` the packet waits in the queue, its time not counted.
  const r = track(io(url, { forceNew: true, autoConnect: false, retries: 2, ackTimeout: 300 }))
  const queued = new Promise((resolve) => r.emit('echo', 3, (...a) => resolve(a)))
  await sleep(450)
  r.connect()
  assert.deepEqual(await within(queued), [null, 3])
})

test('auth: a function answering later; asked again, or the object read again, on connect()', async (t) => {
  const { server, url, track } = setup(t)
  const seen = []
  server.use((s, nextFn) => {
    seen.push(s.handshake.auth)
    nextFn(s.handshake.auth.ok ? undefined : new Error('unauthorized'))
  })
  let calls = 0
  const c = track(
    io(url, {
      forceNew: true,
      reconnection: false,
      auth: (cb) => {
        calls++
        setTimeout(() => cb({ ok: calls > 1, calls }), 20)
      },
    }),
  )
  assert.equal(c.active, true)
  const [err] = await next(c, 'connect_error')
  assert.equal(err.message, 'unauthorized')
  assert.equal(c.active, false)
  c.connect()
  await next(c, 'connect')
  assert.deepEqual(seen, [
    { ok: false, calls: 1 },
    { ok: true, calls: 2 },
  ])

  // An object: its value at connect() is sent, with what was emitted meanwhile.
  server.on('connection', (s) => s.on('echo', (x, cb) => cb(x)))
  const o = track(io(url, { forceNew: true, reconnection: false, auth: { ok: false } }))
  await next(o, 'connect_error')
  o.auth.ok = true
  o.connect()
  await next(o, 'connect')
  o.disconnect()
  o.auth = { ok: true, v: 2 }
  const echoed = new Promise((resolve) => o.emit('echo', 'kept', resolve))
  o.connect()
  await next(o, 'connect')
  assert.equal(await within(echoed), 'kept')
  assert.deepEqual(seen.slice(2), [{ ok: false }, { ok: true }, { ok: true, v: 2 }])
})
