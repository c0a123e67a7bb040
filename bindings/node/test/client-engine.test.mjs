// Our client's socket.io-client surfaces that need the core: the manager's
// Engine.IO session (`socket.io.engine`), the manager's `ping`, `auth` asked
// on every CONNECT, one connection per Manager, and the reconnection
// settings changed while the connection runs. Against the npm socket.io
// server and ours.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { rsClient, npmServer, rsServer, next, within, sleep, collect } from './helpers.mjs'

const { io, Manager } = rsClient

const SERVERS = [
  ['npm socket.io', npmServer],
  ['socketio-rs', rsServer],
]

/** Polls `cond` until it holds. */
async function until(cond, ms = 5000, what = 'condition') {
  await within(
    (async () => {
      while (!cond()) await sleep(5)
    })(),
    ms,
    what,
  )
}

/**
 * A server for test `t`; what `track` is given (sockets, managers) is
 * closed when the test ends, and the sessions end before the server closes
 * (engine.io, closing a session in the middle of an upgrade, waits 30 s
 * for a last poll).
 */
function setup(t, make, opts) {
  const [server, url] = make(opts)
  const tracked = []
  t.after(async () => {
    for (const c of tracked) {
      if (c instanceof Manager) c._close()
      else c.disconnect()
    }
    await until(() => server.engine.clientsCount === 0, 3000).catch(() => {})
    await within(server.close(), 8000, 'close')
  })
  const track = (c) => {
    tracked.push(c)
    return c
  }
  return { server, url, track }
}

/** A loopback port nobody listens on. */
async function deadUrl() {
  const port = await new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
  return `http://127.0.0.1:${port}`
}

for (const [name, make] of SERVERS) {
  test(`${name}: socket.io.engine is the Engine.IO session, live`, async (t) => {
    const { server, url, track } = setup(t, make)
    const conns = []
    server.on('connection', (s) => conns.push(s))

    const idle = track(io(url, { forceNew: true, autoConnect: false }))
    assert.equal(idle.io.engine, undefined)

    const c = track(io(url, { forceNew: true, reconnection: false }))
    // Made when the manager opens, before the session exists.
    const engine = c.io.engine
    assert.ok(engine)
    assert.equal(engine.readyState, 'opening')
    assert.equal(engine.id, undefined)
    assert.equal(engine.binaryType, 'nodebuffer')
    const opened = new Promise((resolve) =>
      engine.once('open', () => resolve([engine.id, engine.transport.name, engine.readyState])),
    )
    const upgrading = next(engine, 'upgrading')
    const upgrade = next(engine, 'upgrade')
    await next(c, 'connect')
    const [id, transport, state] = await opened
    assert.equal(transport, 'polling')
    assert.equal(state, 'open')
    assert.equal(conns.length, 1)
    assert.equal(id, conns[0].conn.id)
    assert.equal(engine.id, id)
    assert.notEqual(c.id, engine.id)
    const [probing] = await upgrading
    assert.equal(probing.name, 'websocket')
    const [upgraded] = await upgrade
    assert.equal(upgraded.name, 'websocket')
    assert.equal(engine.transport.name, 'websocket')

    assert.throws(() => {
      engine.binaryType = 'blob'
    }, TypeError)
  })

  test(`${name}: engine.close() in a connect handler: forced close, then a new session`, async (t) => {
    const { server, url, track } = setup(t, make)
    const c = track(io(url, { forceNew: true, reconnectionDelay: 20, reconnectionDelayMax: 20 }))
    const first = c.io.engine
    const closed = new Promise((resolve) => first.once('close', (reason) => resolve([reason, first.readyState, first.id])))
    const gone = next(c, 'disconnect')
    const managerClosed = next(c.io, 'close')
    c.once('connect', () => c.io.engine.close())
    const reconnected = next(c.io, 'reconnect', 8000)
    assert.deepEqual(await closed, ['forced close', 'closed', null])
    assert.deepEqual(await gone, ['forced close'])
    assert.deepEqual(await managerClosed, ['forced close'])
    await reconnected
    await until(() => c.connected)
    assert.notEqual(c.io.engine, first)
    assert.equal(c.io.engine.readyState, 'open')
    assert.equal(server.engine.clientsCount, 1)
    // A closed engine's close() does nothing.
    first.close()
    await sleep(50)
    assert.equal(c.connected, true)
  })

  test(`${name}: binaryType arraybuffer gives ArrayBuffers, the default Buffers`, async (t) => {
    const { server, url, track } = setup(t, make)
    server.on('connection', (s) => s.on('bin', (cb) => cb(Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) })))
    const c = track(io(url, { forceNew: true, reconnection: false }))
    await next(c, 'connect')
    const [a, b] = await c.emitWithAck('bin').then((x) => [x, null]).catch((e) => [e, null])
    assert.ok(Buffer.isBuffer(a), 'a Buffer by default')
    assert.equal(b, null)
    c.io.engine.binaryType = 'arraybuffer'
    const got = new Promise((resolve) => c.emit('bin', (...args) => resolve(args)))
    const [buf, obj] = await within(got)
    assert.ok(buf instanceof ArrayBuffer)
    assert.deepEqual([...new Uint8Array(buf)], [1, 2, 3])
    assert.ok(obj.nested instanceof ArrayBuffer)
    const push = next(c, 'push')
    server.emit('push', Buffer.from([9]))
    const [pushed] = await push
    assert.ok(pushed instanceof ArrayBuffer)
    assert.deepEqual([...new Uint8Array(pushed)], [9])
  })

  test(`${name}: engine packet and packetCreate, as engine.io-client reports them`, async (t) => {
    const { server, url, track } = setup(t, make)
    server.on('connection', (s) => s.on('echo', (x, cb) => cb(x)))
    const c = track(io(url, { forceNew: true, reconnection: false }))
    const received = []
    const sent = []
    const data = []
    c.io.engine.on('packet', (p) => received.push(p))
    c.io.engine.on('packetCreate', (p) => sent.push(p))
    c.io.engine.on('data', (d) => data.push(d))
    const handshake = next(c.io.engine, 'handshake')
    c.on('connect', () => c.emit('echo', null, () => {}))
    await next(c, 'connect')
    const [hs] = await handshake
    assert.equal(hs.sid, c.io.engine.id)
    await until(() => received.some((p) => p.data === '30[null]'))
    assert.equal(received[0].type, 'open')
    assert.equal(JSON.parse(received[0].data).sid, c.io.engine.id)
    const messages = received.filter((p) => p.type === 'message').map((p) => p.data)
    assert.match(messages[0], /^0\{"sid":"/)
    assert.equal(messages[1], '30[null]')
    assert.deepEqual(data, messages)
    assert.deepEqual(
      sent.filter((p) => p.type === 'message').map((p) => p.data),
      ['0', '20["echo",null]'],
    )
    assert.deepEqual(sent[0].options, { compress: true })

    // Unwatched once the listeners are gone: nothing more is reported.
    c.io.engine.off('packet')
    c.io.engine.off('packetCreate')
    c.io.engine.off('data')
    const before = received.length + sent.length
    await c.emitWithAck('echo', 1)
    assert.equal(received.length + sent.length, before)
    // Watched again, and unwatched by removeAllListeners().
    const again = []
    c.io.engine.on('packetCreate', (p) => again.push(p.data))
    await c.emitWithAck('echo', 2)
    assert.deepEqual(again, ['22["echo",2]'])
    c.io.engine.removeAllListeners()
    await c.emitWithAck('echo', 3)
    assert.deepEqual(again, ['22["echo",2]'])
    c.io.engine.on('packetCreate', (p) => again.push(p.data))
    await c.emitWithAck('echo', 4)
    assert.deepEqual(again.slice(0, 2), ['22["echo",2]', '24["echo",4]'])
  })

  test(`${name}: the manager's ping, and the engine's`, async (t) => {
    const { url, track } = setup(t, make, { pingInterval: 100, pingTimeout: 2000 })
    const c = track(io(url, { forceNew: true, reconnection: false }))
    await next(c, 'connect')
    const pings = collect(2)
    c.io.on('ping', pings)
    const enginePing = next(c.io.engine, 'ping')
    const packets = []
    c.io.engine.on('packet', (p) => packets.push(p.type))
    await pings.done
    await enginePing
    assert.ok(packets.includes('ping'), String(packets))
  })

  test(`${name}: auth is asked for every CONNECT, automatic reconnections included`, async (t) => {
    const { server, url, track } = setup(t, make)
    const seen = []
    server.use((s, nextFn) => {
      seen.push(s.handshake.auth)
      nextFn(s.handshake.auth.refuse ? new Error('refused') : undefined)
    })
    let calls = 0
    const c = track(
      io(url, {
        forceNew: true,
        reconnectionDelay: 20,
        reconnectionDelayMax: 20,
        // Answering later, as socket.io-client allows.
        auth(cb) {
          calls++
          assert.equal(this, c)
          setTimeout(() => cb({ token: `t${calls}` }), 10)
        },
      }),
    )
    await next(c, 'connect')
    const reconnected = next(c.io, 'reconnect', 8000)
    c.io.engine.close()
    await reconnected
    await until(() => c.connected)
    assert.deepEqual(seen, [{ token: 't1' }, { token: 't2' }])

    // An object is read at each CONNECT: a change in the same turn as io()
    // shows at the first one, a later change at the next one.
    const o = track(io(url, { forceNew: true, reconnectionDelay: 20, reconnectionDelayMax: 20, auth: { v: 0 } }))
    o.auth = { v: 1 }
    await next(o, 'connect')
    o.auth.v = 2
    const back = next(o.io, 'reconnect', 8000)
    o.io.engine.close()
    await back
    await until(() => o.connected)
    assert.deepEqual(seen.slice(2), [{ v: 1 }, { v: 2 }])
  })

  test(`${name}: an auth that never answers fails the attempt; one that throws too`, async (t) => {
    const { server, url, track } = setup(t, make)
    const seen = []
    server.use((s, nextFn) => {
      seen.push(s.handshake.auth)
      nextFn()
    })
    const silent = track(io(url, { forceNew: true, timeout: 400, auth: () => {} }))
    const started = Date.now()
    const [err] = await next(silent, 'connect_error')
    assert.equal(err.message, 'auth did not answer within 400 ms')
    assert.ok(Date.now() - started >= 350)
    assert.equal(silent.active, false)

    const throwing = track(
      io(url, {
        forceNew: true,
        auth: () => {
          throw new Error('no token')
        },
      }),
    )
    const consoleError = console.error
    console.error = () => {}
    try {
      const [thrown] = await next(throwing, 'connect_error')
      assert.equal(thrown.message, 'auth threw: no token')
    } finally {
      console.error = consoleError
    }
    assert.equal(throwing.active, false)
    // connect() asks again.
    throwing.auth = { fixed: true }
    throwing.connect()
    await next(throwing, 'connect')
    assert.deepEqual(seen, [{ fixed: true }])
  })

  test(`${name}: a Manager's sockets share one session, opened by the manager`, async (t) => {
    const { server, url, track } = setup(t, make)
    const seen = collect(2)
    server.of('/a').on('connection', (s) => seen('a', s.conn.id))
    server.of('/b').on('connection', (s) => seen('b', s.conn.id))
    let engineConnections = 0
    server.engine.on('connection', () => engineConnections++)

    // Opened with no socket (autoConnect): a session, no namespace.
    const manager = track(new Manager(url, { reconnection: false }))
    assert.equal(manager.engine.readyState, 'opening')
    const opens = []
    manager.on('open', () => opens.push(manager.engine.id))
    await until(() => opens.length === 1)
    assert.equal(server.engine.clientsCount, 1)

    const a = manager.socket('/a')
    const b = manager.socket('/b')
    await Promise.all([next(a, 'connect'), next(b, 'connect')])
    const conns = await seen.done
    assert.deepEqual(conns.map((x) => x[0]).sort(), ['a', 'b'])
    assert.ok(conns.every((x) => x[1] === opens[0]), JSON.stringify(conns))
    assert.equal(engineConnections, 1)
    assert.equal(opens.length, 1)

    // One leaving keeps the session; the last one closes it.
    const closed = next(manager, 'close')
    a.disconnect()
    await sleep(100)
    assert.equal(b.connected, true)
    assert.equal(manager.engine.readyState, 'open')
    b.disconnect()
    assert.deepEqual(await closed, ['forced close'])
    await until(() => server.engine.clientsCount === 0)

    // A socket connecting opens one session again, for both.
    const again = collect(2)
    server.of('/a').on('connection', (s) => again(s.conn.id))
    server.of('/b').on('connection', (s) => again(s.conn.id))
    a.connect()
    b.connect()
    const ids = await again.done
    assert.equal(ids[0][0], ids[1][0])
    assert.notEqual(ids[0][0], opens[0])

    // manager.open() without autoConnect.
    const later = track(new Manager(url, { autoConnect: false }))
    assert.equal(later.engine, undefined)
    const laterOpen = new Promise((resolve) => later.open(resolve))
    assert.equal(await within(laterOpen), undefined)
    assert.equal(later.engine.readyState, 'open')
  })

  test(`${name}: manager.open(fn) hears a failed attempt; error and connect_error`, async (t) => {
    setup(t, make)
    const bad = new Manager(await deadUrl(), { autoConnect: false, reconnection: false })
    t.after(() => bad._close())
    const s = bad.socket('/')
    const socketError = next(s, 'connect_error')
    const managerError = next(bad, 'error')
    const engine = bad.engine
    assert.equal(engine, undefined)
    const [err] = await within(new Promise((resolve) => bad.open(resolve))).then((e) => [e])
    assert.ok(err instanceof Error)
    assert.ok((await managerError)[0] instanceof Error)
    assert.equal(bad.engine.readyState, 'closed')
    // A socket connecting makes a new attempt, and hears of its failure.
    s.connect()
    assert.equal(bad.engine.readyState, 'opening')
    assert.ok((await socketError)[0] instanceof Error)
  })
}

test('reconnection(false) from a reconnect_error handler stops the loop', async () => {
  const manager = new Manager(await deadUrl(), { reconnectionDelay: 10, reconnectionDelayMax: 10 })
  try {
    const attempts = []
    manager.on('reconnect_attempt', (n) => attempts.push(n))
    await next(manager, 'reconnect_error')
    assert.equal(manager.reconnection(false), manager)
    assert.equal(manager.reconnection(), false)
    const n = attempts.length
    await sleep(200)
    assert.equal(attempts.length, n)

    // On again with two attempts: they are made, then reconnect_failed.
    manager.reconnection(true)
    assert.equal(manager.reconnectionAttempts(2), manager)
    const failed = next(manager, 'reconnect_failed', 5000)
    const s = manager.socket('/')
    s.connect()
    await failed
    assert.deepEqual(attempts.slice(n), [1, 2])
    s.disconnect()
  } finally {
    manager._close()
  }
})

test('a socket left in a reconnect_attempt handler stops the attempt', async () => {
  const manager = new Manager(await deadUrl(), { reconnectionDelay: 10, reconnectionDelayMax: 10 })
  try {
    const s = manager.socket('/')
    const errors = []
    manager.on('reconnect_error', (e) => errors.push(e))
    await next(manager, 'reconnect_attempt')
    s.disconnect()
    await sleep(200)
    assert.deepEqual(errors, [])
    assert.equal(manager.engine.readyState, 'closed')
  } finally {
    manager._close()
  }
})

test('timeout(v) and reconnectionDelay(v) apply to the running manager', async (t) => {
  const [server, url] = npmServer()
  t.after(() => server.close())
  // A server that never answers the handshake.
  const hole = net.createServer((sock) => sock.on('error', () => {}))
  await new Promise((resolve) => hole.listen(0, '127.0.0.1', resolve))
  t.after(() => hole.close())
  const sockets = []
  hole.on('connection', (s) => sockets.push(s))
  t.after(() => sockets.forEach((s) => s.destroy()))
  const manager = new Manager(`http://127.0.0.1:${hole.address().port}`, {
    autoConnect: false,
    reconnection: false,
  })
  try {
    assert.equal(manager.timeout(300), manager)
    assert.equal(manager.timeout(), 300)
    const started = Date.now()
    const [err] = await within(new Promise((resolve) => manager.open(resolve)), 3000)
      .then((e) => [e])
    assert.equal(err.message, 'timeout')
    const took = Date.now() - started
    assert.ok(took >= 250 && took < 2500, `${took} ms`)

    // The delays: a reconnection waits reconnectionDelay, jitter off. (Set
    // after the failure was handled: while its listeners and their promise
    // continuations run, the manager has not decided yet.)
    await sleep(20)
    manager.reconnection(true)
    manager.reconnectionAttempts(1)
    manager.randomizationFactor(0)
    manager.reconnectionDelay(400)
    manager.reconnectionDelayMax(400)
    manager.timeout(100)
    const failedAt = next(manager, 'error').then(() => Date.now())
    const attemptAt = next(manager, 'reconnect_attempt', 5000).then(() => Date.now())
    manager.open()
    const gap = (await attemptAt) - (await failedAt)
    assert.ok(gap >= 350, `${gap} ms`)
    await next(manager, 'reconnect_failed', 5000)
  } finally {
    manager._close()
  }
})
