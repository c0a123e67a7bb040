// Two of our servers in one Redis cluster (the `adapter` option from
// createRedisAdapter), with npm socket.io-client clients: a broadcast from
// one server reaches the other's clients, rooms included. Then socket.io's
// own recipe, `io.adapter(createAdapter(pubClient, subClient))` with the npm
// @socket.io/redis-adapter and redis packages, beside an npm socket.io
// server on that adapter. Starts its own redis-server; skipped without it
// unless SOCKETIO_RS_REQUIRE_REDIS is set.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { rs, rsServer, sioClient, next, sleep, within, startRedis, freePort } from './helpers.mjs'

/** The npm peers of the project's interop tests (tests/node), when installed. */
const peers = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const req = createRequire(path.join(here, '..', '..', '..', 'tests', 'node', 'package.json'))
  try {
    return {
      redis: req('redis'),
      adapter: req('@socket.io/redis-adapter'),
      streams: req('@socket.io/redis-streams-adapter'),
      sio: req('socket.io'),
    }
  } catch {
    return null
  }
})()

/** Connected clients of the npm `redis` package for `url`, and their quit. */
function redisClientsOf(url) {
  const clients = []
  return {
    async connected() {
      const c = peers.redis.createClient({ url })
      c.on('error', () => {})
      await c.connect()
      clients.push(c)
      return c
    },
    quitAll: () => Promise.all(clients.map((c) => c.quit().catch(() => {}))),
  }
}

test('broadcasts cross two servers joined through Redis', async (t) => {
  const redis = await startRedis(t)
  if (!redis) return
  const servers = []
  const clients = []
  try {
    for (let i = 0; i < 2; i++) {
      const [io, url] = rsServer({ adapter: rs.createRedisAdapter(redis.url) })
      io.on('connection', (socket) => {
        socket.on('join', (room, ack) => {
          socket.join(room)
          ack('joined')
        })
      })
      servers.push([io, url])
    }
    const a = sioClient.io(servers[0][1], { transports: ['websocket'], forceNew: true })
    const b = sioClient.io(servers[1][1], { transports: ['websocket'], forceNew: true })
    clients.push(a, b)
    await Promise.all([next(a, 'connect'), next(b, 'connect')])
    assert.equal(await within(b.emitWithAck('join', 'den')), 'joined')

    // To everyone, from the first server: both clients hear it.
    const both = Promise.all([next(a, 'news'), next(b, 'news')])
    servers[0][0].emit('news', 'all')
    assert.deepEqual(await both, [['all'], ['all']])

    // To a room whose only member is on the second server.
    let aHeard = false
    a.on('news', () => (aHeard = true))
    const onlyB = next(b, 'news')
    servers[0][0].to('den').emit('news', 'den only')
    assert.deepEqual(await onlyB, ['den only'])
    await sleep(200)
    assert.equal(aHeard, false)
  } finally {
    for (const c of clients) c.disconnect()
    await Promise.all(servers.map(([io]) => new Promise((resolve) => io.close(() => resolve()))))
    redis.stop()
  }
})

test('an unreachable Redis or a bad flavour is an error', async () => {
  const port = await freePort()
  assert.throws(() => new rs.Server({ adapter: rs.createRedisAdapter(`redis://127.0.0.1:${port}`) }), /Redis/)
  assert.throws(
    () => new rs.Server({ adapter: rs.createRedisAdapter('redis://127.0.0.1:1', { flavour: 'gossip' }) }),
    /flavour/,
  )
  // A list of URLs is a cluster's seeds; none answering is a Redis error too.
  const seeds = [`redis://127.0.0.1:${port}`, `redis://127.0.0.1:${await freePort()}`]
  assert.throws(() => new rs.Server({ adapter: rs.createRedisAdapter(seeds) }), /Redis/)
  // An option of another flavour is refused before any connection.
  assert.throws(
    () => new rs.Server({ adapter: rs.createRedisAdapter('redis://127.0.0.1:1', { flavour: 'sharded', publishOnSpecificResponseChannel: true }) }),
    /publishOnSpecificResponseChannel is an option of the classic Redis flavour only/,
  )
  assert.throws(
    () => new rs.Server({ adapter: rs.createRedisAdapter('redis://127.0.0.1:1', { subscriptionMode: 'static' }) }),
    /subscriptionMode is an option of the sharded Redis flavour only/,
  )
  assert.throws(
    () => new rs.Server({ adapter: rs.createRedisAdapter('redis://127.0.0.1:1', { flavour: 'sharded', subscriptionMode: 'sometimes' }) }),
    /unknown subscriptionMode "sometimes"/,
  )
  assert.throws(() => rs.createRedisAdapter('redis://127.0.0.1:1', { subscriptionMode: 5 }), /"subscriptionMode" must be a string/)
  assert.throws(() => rs.createRedisAdapter([]), TypeError)
  assert.throws(() => rs.createRedisAdapter([1, 2]), TypeError)
})

test("socket.io's recipe io.adapter(createAdapter(pub, sub)) joins the cluster of npm servers on that adapter", async (t) => {
  if (!peers) return t.skip('the npm peers of tests/node are not installed (npm ci --prefix tests/node)')
  const redis = await startRedis(t)
  if (!redis) return
  const { createAdapter, createShardedAdapter } = peers.adapter
  const { connected, quitAll } = redisClientsOf(redis.url)
  const [pubA, subA, pubB, subB] = await Promise.all([connected(), connected(), connected(), connected()])
  const clients = []
  let ours
  let theirs
  try {
    // The npm server, on the official adapter with a key of its own.
    theirs = new peers.sio.Server(0, { adapter: createAdapter(pubA, subA, { key: 'mixed' }) })
    // Ours, as socket.io's documentation sets it up: the adapter after the
    // server is made (attached to an http.Server here, as with Express),
    // the handlers before or after.
    const httpServer = http.createServer()
    ours = new rs.Server(httpServer)
    ours.on('connection', (socket) => {
      socket.on('join', (room, ack) => {
        socket.join(room)
        ack('joined')
      })
    })
    assert.equal(ours.adapter(createAdapter(pubB, subB, { key: 'mixed', requestsTimeout: 3000 })), ours)
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
    theirs.on('connection', (socket) => {
      socket.on('join', (room, ack) => {
        socket.join(room)
        ack('joined')
      })
    })
    const a = sioClient.io(`http://127.0.0.1:${ours.httpServer.address().port}`, { transports: ['websocket'], forceNew: true })
    const b = sioClient.io(`http://127.0.0.1:${theirs.httpServer.address().port}`, { transports: ['websocket'], forceNew: true })
    clients.push(a, b)
    await Promise.all([next(a, 'connect'), next(b, 'connect')])
    assert.equal(await within(b.emitWithAck('join', 'den')), 'joined')
    assert.equal(await within(a.emitWithAck('join', 'den')), 'joined')

    // Each way, to everyone and to a room.
    let both = Promise.all([next(a, 'news'), next(b, 'news')])
    ours.to('den').emit('news', 'from ours')
    assert.deepEqual(await within(both), [['from ours'], ['from ours']])
    both = Promise.all([next(a, 'news'), next(b, 'news')])
    theirs.emit('news', 'from npm')
    assert.deepEqual(await within(both), [['from npm'], ['from npm']])
    // A cluster request: both servers' sockets, with the key the npm
    // factory was given.
    const found = await within(ours.fetchSockets())
    assert.equal(found.length, 2)
    assert.equal((await within(theirs.in('den').fetchSockets())).length, 2)

    // The sharded factory, given as the option: its channel prefix and
    // flavour reach a second server of ours, which joins an npm server on
    // the same sharded adapter.
    const shardedTheirs = new peers.sio.Server(0, { adapter: createShardedAdapter(pubA, subA, { channelPrefix: 'shards' }) })
    const shardedOurs = new rs.Server(0, { adapter: createShardedAdapter(pubB, subB, { channelPrefix: 'shards' }) })
    try {
      const c = sioClient.io(`http://127.0.0.1:${shardedTheirs.httpServer.address().port}`, { transports: ['websocket'], forceNew: true })
      clients.push(c)
      await next(c, 'connect')
      const heard = next(c, 'news')
      shardedOurs.emit('news', 'sharded')
      assert.deepEqual(await within(heard), ['sharded'])
    } finally {
      await within(shardedOurs.close(), 8000, 'close')
      await new Promise((resolve) => shardedTheirs.close(() => resolve()))
    }

    // Fixed once a client has connected.
    assert.throws(() => ours.adapter(createAdapter(pubB, subB)), /after a client connected/)
    // A custom parser the Rust core cannot speak is refused, naming it.
    assert.throws(
      () => new rs.Server({ adapter: createAdapter(pubB, subB, { parser: { encode: JSON.stringify, decode: JSON.parse } }) }),
      (err) => err instanceof TypeError && /custom parser/.test(err.message),
    )

    // publishOnSpecificResponseChannel: our answers to the npm server's
    // request go to its own channel, none to the shared one.
    const specTheirs = new peers.sio.Server(0, { adapter: createAdapter(pubA, subA, { key: 'spec' }) })
    const specOurs = new rs.Server(0, { adapter: createAdapter(pubB, subB, { key: 'spec', publishOnSpecificResponseChannel: true }) })
    const watcher = await connected()
    const onShared = []
    await watcher.subscribe('spec-response#/#', (m) => onShared.push(m))
    try {
      const c = sioClient.io(`http://127.0.0.1:${specOurs.httpServer.address().port}`, { transports: ['websocket'], forceNew: true })
      clients.push(c)
      await next(c, 'connect')
      assert.equal((await within(specTheirs.fetchSockets())).length, 1)
      await sleep(100)
      assert.equal(onShared.length, 0)
    } finally {
      await within(specOurs.close(), 8000, 'close')
      await new Promise((resolve) => specTheirs.close(() => resolve()))
    }

    // subscriptionMode "static": a room broadcast goes on the namespace's
    // channel, the only one a static npm server listens to.
    const staticTheirs = new peers.sio.Server(0, {
      adapter: createShardedAdapter(pubA, subA, { channelPrefix: 'still', subscriptionMode: 'static' }),
    })
    const staticOurs = new rs.Server(0, {
      adapter: createShardedAdapter(pubB, subB, { channelPrefix: 'still', subscriptionMode: 'static' }),
    })
    staticTheirs.on('connection', (socket) => socket.join('den'))
    try {
      const c = sioClient.io(`http://127.0.0.1:${staticTheirs.httpServer.address().port}`, { transports: ['websocket'], forceNew: true })
      clients.push(c)
      await next(c, 'connect')
      await sleep(100)
      const heard = next(c, 'news')
      staticOurs.to('den').emit('news', 'static')
      assert.deepEqual(await within(heard), ['static'])
    } finally {
      await within(staticOurs.close(), 8000, 'close')
      await new Promise((resolve) => staticTheirs.close(() => resolve()))
    }
  } finally {
    for (const c of clients) c.disconnect()
    if (ours) await within(ours.close(), 8000, 'close')
    if (theirs) await new Promise((resolve) => theirs.close(() => resolve()))
    await quitAll()
    redis.stop()
  }
})

test('@socket.io/redis-streams-adapter runs in JS, as on socket.io, beside an npm server on it', async (t) => {
  if (!peers) return t.skip('the npm peers of tests/node are not installed (npm ci --prefix tests/node)')
  const redis = await startRedis(t)
  if (!redis) return
  const { createAdapter } = peers.streams
  const { connected, quitAll } = redisClientsOf(redis.url)
  const [forTheirs, forOurs] = await Promise.all([connected(), connected()])
  // Short blocking reads and heartbeats: the test ends sooner.
  const opts = { blockTimeInMs: 100, heartbeatInterval: 100, heartbeatTimeout: 2000 }
  const theirs = new peers.sio.Server(0, { adapter: createAdapter(forTheirs, opts) })
  const ours = new rs.Server(0, { adapter: createAdapter(forOurs, opts) })
  const clients = []
  try {
    assert.equal(ours.of('/').adapter.constructor.name, 'RedisStreamsAdapter')
    theirs.on('ready?', (ack) => ack('yes'))
    const deadline = Date.now() + 8000
    for (;;) {
      const r = await ours.serverSideEmitWithAck('ready?').catch(() => [])
      if (r.length === 1) break
      assert.ok(Date.now() < deadline, 'the servers never met')
      await sleep(100)
    }
    const client = async (io) => {
      const c = sioClient.io(`http://127.0.0.1:${io.httpServer.address().port}`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      })
      clients.push(c)
      await next(c, 'connect')
      return c
    }
    const [onOurs, onTheirs] = [await client(ours), await client(theirs)]
    // Each server's broadcast reaches the other's client, through the stream.
    const heardThere = next(onTheirs, 'from ours')
    ours.emit('from ours', 1)
    assert.deepEqual(await within(heardThere), [1])
    const heardHere = next(onOurs, 'from theirs')
    theirs.emit('from theirs', 2)
    assert.deepEqual(await within(heardHere), [2])
    const ids = (await within(ours.fetchSockets())).map((s) => s.id).sort()
    assert.deepEqual(ids, [onOurs.id, onTheirs.id].sort())
  } finally {
    for (const c of clients) c.disconnect()
    await within(ours.close(), 8000, 'close ours')
    await new Promise((resolve) => theirs.close(() => resolve()))
    // The adapters' reading clients end with their last blocking read.
    await sleep(300)
    await quitAll()
    redis.stop()
  }
})
