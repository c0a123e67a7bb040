// Adapters written in JS (a class extending socket.io-adapter's Adapter, the
// ClusterAdapter family), as socket.io runs them: `new adapter(nsp)` for
// every namespace, rooms and broadcasts through it, its deliveries through
// `socket.client.writeToEngine()`.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'

import { rs, rsServer, rsSetup as setup, sioClient, next, sleep, within } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Adapter, ClusterAdapterWithHeartbeat } = require('socket.io-adapter')

/** An adapter that records what it is asked, then does it. */
class Recording extends Adapter {
  constructor(nsp) {
    super(nsp)
    this.calls = []
  }

  broadcast(packet, opts) {
    this.calls.push([packet.data[0], [...opts.rooms], [...opts.except]])
    super.broadcast(packet, opts)
  }
}

/** Collects the `event`s `c` receives until `end` arrives. */
function until(c, event, end = 'end') {
  const got = []
  c.on(event, (...args) => got.push(args))
  return next(c, end).then(() => got)
}

test('an adapter class written in JS carries the rooms, broadcasts and acknowledgements', async (t) => {
  const { io, client } = setup(t, { adapter: Recording })
  const adapter = io.of('/').adapter
  assert.ok(adapter instanceof Recording)
  assert.equal(io.of('/other').adapter.nsp, io.of('/other'), 'each namespace has its own')
  const joined = []
  adapter.on('join-room', (room, id) => joined.push([room, id]))
  io.on('connection', (s) => {
    s.on('join', (room, cb) => {
      s.join(room)
      cb()
    })
    s.on('shout', (m) => s.broadcast.emit('shout', m))
  })
  const conns = []
  io.on('connection', (s) => conns.push(s))
  const [c1, c2, c3] = [await client(), await client(), await client()]
  for (const c of [c1, c2, c3]) c.on('ask', (cb) => cb(c.id))
  await c1.emitWithAck('join', 'r')
  await c2.emitWithAck('join', 'r')
  const [s1, s2] = [c1, c2].map((c) => io.sockets.sockets.get(c.id))

  // The adapter holds the rooms: their own, and those joined.
  assert.deepEqual([...adapter.rooms.get('r')].sort(), [c1.id, c2.id].sort())
  for (const c of [c1, c2, c3]) assert.ok(adapter.rooms.get(c.id).has(c.id))
  assert.ok(s1.rooms.has('r'))
  assert.ok(joined.some(([room, id]) => room === 'r' && id === c1.id))

  // A room's broadcast reaches its members only.
  const got = [c1, c2, c3].map((c) => until(c, 'news'))
  io.to('r').emit('news', 1)
  io.emit('end')
  assert.deepEqual(await Promise.all(got), [[[1]], [[1]], []])

  // A socket's broadcast leaves the socket out.
  const shouts = [c1, c2, c3].map((c) => until(c, 'shout', 'end2'))
  c1.emit('shout', 'hey')
  await sleep(50)
  io.emit('end2')
  assert.deepEqual(await Promise.all(shouts), [[], [['hey']], [['hey']]])
  assert.deepEqual(adapter.calls.find((call) => call[0] === 'news'), ['news', ['r'], []])
  assert.deepEqual(adapter.calls.find((call) => call[0] === 'shout'), ['shout', [], [c1.id]])

  // Acknowledgements, each client's, through the adapter's broadcastWithAck.
  const answers = await within(io.timeout(2000).emitWithAck('ask'))
  assert.deepEqual(answers.sort(), [c1.id, c2.id, c3.id].sort())
  const inRoom = await within(io.to('r').timeout(2000).emitWithAck('ask'))
  assert.deepEqual(inRoom.sort(), [c1.id, c2.id].sort())

  // The cluster operations, through the adapter.
  const members = await io.in('r').fetchSockets()
  assert.deepEqual(new Set(members), new Set([s1, s2]))
  io.in('r').socketsJoin('r2')
  assert.deepEqual([...adapter.rooms.get('r2')].sort(), [c1.id, c2.id].sort())
  assert.ok(s2.rooms.has('r2'))
  io.in('r2').socketsLeave('r')
  assert.equal(adapter.rooms.has('r'), false)
  s2.leave('r2')
  assert.deepEqual([...adapter.rooms.get('r2')], [c1.id])

  // A disconnected socket leaves the adapter's rooms.
  const gone = next(s1, 'disconnect')
  io.in(c1.id).disconnectSockets()
  await gone
  assert.equal(adapter.sids.has(c1.id), false)
  assert.equal(adapter.rooms.has('r2'), false)
})

test('io.adapter(Class) once clients are connected: their rooms carried over, fetchSockets its own', async (t) => {
  const { io, client } = setup(t)
  const conn = next(io, 'connection')
  const c = await client()
  const [s] = await conn
  s.join('before')
  // socket.io's own test: a custom fetchSockets answers for the cluster.
  class DummyAdapter extends Adapter {
    fetchSockets() {
      return Promise.resolve([
        { id: '42', handshake: { headers: {}, query: {} }, rooms: ['42', 'room1'], data: { username: 'john' } },
      ])
    }
  }
  io.adapter(DummyAdapter)
  assert.equal(io.adapter(), DummyAdapter)
  assert.ok(io.of('/').adapter instanceof DummyAdapter)
  assert.deepEqual([...io.of('/').adapter.sids.get(c.id)].sort(), [c.id, 'before'].sort())
  const sockets = await io.fetchSockets()
  assert.equal(sockets.length, 1)
  assert.equal(sockets[0].id, '42')
  assert.deepEqual([...sockets[0].rooms], ['42', 'room1'])
  assert.deepEqual(sockets[0].data, { username: 'john' })
  // Broadcasts go on, through the new adapter.
  const got = next(c, 'after')
  io.to('before').emit('after', 1)
  assert.deepEqual(await got, [1])
})

/** A ClusterAdapter over an in-process bus, as a cluster adapter written in JS. */
function busAdapter(bus) {
  return class BusAdapter extends ClusterAdapterWithHeartbeat {
    constructor(nsp) {
      super(nsp, { heartbeatInterval: 100, heartbeatTimeout: 1000 })
      this.onBus = (m) => {
        if (m.uid !== this.uid) this.onMessage(m)
      }
      this.onReply = (to, r) => {
        if (to === this.uid) this.onResponse(r)
      }
      bus.on('message', this.onBus)
      bus.on('response', this.onReply)
    }

    doPublish(m) {
      setImmediate(() => bus.emit('message', m))
      return Promise.resolve('')
    }

    doPublishResponse(to, r) {
      setImmediate(() => bus.emit('response', to, r))
      return Promise.resolve()
    }

    close() {
      bus.off('message', this.onBus)
      bus.off('response', this.onReply)
      return super.close()
    }
  }
}

test("a ClusterAdapter written in JS joins two servers: broadcasts, serverSideEmit, fetchSockets, acks", async (t) => {
  const bus = new EventEmitter()
  bus.setMaxListeners(0)
  const servers = [rsServer({ adapter: busAdapter(bus) }), rsServer({ adapter: busAdapter(bus) })]
  const clients = []
  t.after(async () => {
    for (const c of clients) c.disconnect()
    for (const [io] of servers) await within(io.close(), 8000, 'close')
  })
  const [[a], [b]] = servers
  const client = async (i) => {
    const c = sioClient.io(servers[i][1], { transports: ['websocket'], forceNew: true, reconnection: false })
    clients.push(c)
    await next(c, 'connect')
    return c
  }
  b.on('hello?', (n, ack) => ack(n + 1))
  const deadline = Date.now() + 5000
  for (;;) {
    const r = await a.serverSideEmitWithAck('hello?', 1).catch(() => [])
    if (r.length === 1) {
      assert.deepEqual(r, [2])
      break
    }
    assert.ok(Date.now() < deadline, 'the servers never met')
    await sleep(50)
  }
  b.on('connection', (s) => {
    s.data = { on: 'b' }
    s.join('room-b')
  })
  const cb = await client(1)
  const ca = await client(0)
  for (const c of [ca, cb]) c.on('ask', (cbk) => cbk(c.id))

  // A broadcast from one server reaches the other's clients.
  const news = next(cb, 'news')
  a.emit('news', 'from a')
  assert.deepEqual(await news, ['from a'])
  const inRoom = next(cb, 'room')
  a.to('room-b').emit('room', 1)
  assert.deepEqual(await inRoom, [1])

  // fetchSockets: the other server's socket as a RemoteSocket.
  const all = await within(a.fetchSockets())
  const remote = all.find((s) => s.id === cb.id)
  assert.ok(remote, 'the other server answered')
  assert.deepEqual(remote.data, { on: 'b' })
  assert.ok(remote.rooms.has('room-b'))
  assert.equal(all.length, 2)

  // A remote join, then acknowledgements from both servers' clients.
  a.in(cb.id).socketsJoin('joined')
  const sb = b.sockets.sockets.get(cb.id)
  for (let i = 0; i < 100 && !sb.rooms.has('joined'); i++) await sleep(20)
  assert.ok(sb.rooms.has('joined'))
  const answers = await within(a.timeout(3000).emitWithAck('ask'))
  assert.deepEqual(answers.sort(), [ca.id, cb.id].sort())
})

test('what cannot be an adapter is refused, naming the option', async () => {
  assert.throws(() => new rs.Server({ adapter: class NotOne {} }), /option "adapter": NotOne is not an adapter/)
  assert.throws(() => new rs.Server({ adapter: () => new Adapter() }), /option "adapter" must be an adapter class/)
  assert.throws(() => new rs.Server({ adapter: function factory() { return {} } }), /option "adapter": what it made is not an adapter/)
  assert.throws(
    () => new rs.Server({ adapter: function failing() { throw new Error('no Redis') } }),
    /option "adapter": making the adapter of "\/" failed: no Redis/,
  )
  assert.throws(() => new rs.Server({ adapter: Recording, connectionStateRecovery: {} }), /"adapter".*connectionStateRecovery/)
  const io = new rs.Server()
  assert.throws(() => io.adapter(class NotOne {}), /not an adapter/)
  await io.close()
})
