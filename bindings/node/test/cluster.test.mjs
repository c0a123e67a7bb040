// Cluster operations across two of our servers joined through Redis, as
// socket.io runs them with an adapter: fetchSockets (RemoteSocket included),
// broadcast emitWithAck, serverSideEmit heard with io.on(event), remote
// joins, leaves and disconnects, and the adapter's room events.

import { test } from 'node:test'
import assert from 'node:assert/strict'

import { rs, rsServer, sioClient, next, sleep, within, startRedis } from './helpers.mjs'

async function cluster(t) {
  const redis = await startRedis(t)
  if (!redis) return null
  const servers = []
  const clients = []
  t.after(async () => {
    for (const c of clients) c.disconnect()
    for (const [io] of servers) await within(io.close(), 8000, 'close')
    redis.stop()
  })
  for (let i = 0; i < 2; i++) {
    const [io, url] = rsServer({ adapter: rs.createRedisAdapter(redis.url, { requestsTimeout: 2000 }) })
    servers.push([io, url])
  }
  const client = async (i, opts = {}) => {
    const c = sioClient.io(servers[i][1], { transports: ['websocket'], forceNew: true, reconnection: false, ...opts })
    clients.push(c)
    await next(c, 'connect')
    return c
  }
  // Both servers see each other before the test starts.
  servers[1][0].on('ready?', (ack) => ack('yes'))
  const deadline = Date.now() + 5000
  for (;;) {
    const n = await servers[0][0].of('/').serverSideEmitWithAck('ready?').then(
      (r) => r.length,
      () => 0,
    )
    if (n === 1) break
    assert.ok(Date.now() < deadline, 'the servers never met')
    await sleep(50)
  }
  return { a: servers[0][0], b: servers[1][0], client }
}

test('fetchSockets sees the whole cluster; a RemoteSocket acts on its socket', async (t) => {
  const c = await cluster(t)
  if (!c) return
  const { a, b, client } = c
  b.on('connection', (s) => {
    s.data = { user: 'bob' }
    s.join('room-b')
  })
  const cb = await client(1, { auth: { token: 'x' } })
  await client(0)
  await sleep(100)

  const all = await within(a.fetchSockets())
  assert.equal(all.length, 2)
  const remote = all.find((s) => s.id === cb.id)
  assert.ok(remote, 'the other server\'s socket is there')
  assert.deepEqual(remote.data, { user: 'bob' })
  assert.deepEqual(remote.handshake.auth, { token: 'x' })
  assert.ok(remote.rooms.has('room-b'))
  assert.equal(typeof remote.handshake.time, 'string')

  const inRoom = await within(a.in('room-b').fetchSockets())
  assert.deepEqual(inRoom.map((s) => s.id), [cb.id])

  // Through it: an emit, an emit with an acknowledgement, a join.
  const got = next(cb, 'hello')
  remote.emit('hello', 'from a')
  assert.deepEqual(await got, ['from a'])
  cb.on('question', (q, ack) => ack(q + '!'))
  const answer = await within(new Promise((resolve, reject) =>
    remote.timeout(2000).emit('question', 'why', (err, r) => (err ? reject(err) : resolve(r))),
  ))
  assert.equal(answer, 'why!')
  remote.join('joined-remotely')
  const deadline = Date.now() + 5000
  while (!(await b.in('joined-remotely').fetchSockets()).some((s) => s.id === cb.id)) {
    assert.ok(Date.now() < deadline, 'the remote join never happened')
    await sleep(20)
  }
  const gone = next(cb, 'disconnect')
  remote.disconnect()
  assert.equal((await gone)[0], 'io server disconnect')
})

test('a broadcast emitWithAck collects the answers of both servers\' clients', async (t) => {
  const c = await cluster(t)
  if (!c) return
  const { a, client } = c
  const x = await client(0)
  const y = await client(1)
  const z = await client(1)
  x.on('q', (ack) => ack('x'))
  y.on('q', (ack) => ack('y'))
  z.on('q', () => {})
  const err = await a.timeout(500).emitWithAck('q').then(
    () => assert.fail('resolved though z never answers'),
    (e) => e,
  )
  assert.deepEqual([...err.responses].sort(), ['x', 'y'])
  z.on('q2', (ack) => ack('z'))
  x.on('q2', (ack) => ack('x'))
  y.on('q2', (ack) => ack('y'))
  assert.deepEqual((await within(a.timeout(2000).emitWithAck('q2'))).sort(), ['x', 'y', 'z'])
})

test('serverSideEmit is heard with io.on(event) and nsp.on(event), acknowledged', async (t) => {
  const c = await cluster(t)
  if (!c) return
  const { a, b } = c
  const heard = next(b, 'hello')
  a.serverSideEmit('hello', 'world', 1)
  assert.deepEqual(await heard, ['world', 1])
  b.of('/admin').on('count', (n, ack) => ack(n + 1))
  // Each server's /admin joins the cluster on its own: ask until b answers.
  const deadline = Date.now() + 5000
  for (;;) {
    const answers = await within(a.of('/admin').serverSideEmitWithAck('count', 41))
    if (answers.length > 0) {
      assert.deepEqual(answers, [42])
      break
    }
    assert.ok(Date.now() < deadline, '/admin of the other server never answered')
    await sleep(50)
  }
})

test('the adapter reports room events', async (t) => {
  const c = await cluster(t)
  if (!c) return
  const { a, client } = c
  const events = []
  for (const e of ['create-room', 'join-room', 'leave-room', 'delete-room']) {
    a.of('/').adapter.on(e, (...args) => events.push([e, ...args]))
  }
  const conn = next(a, 'connection')
  await client(0)
  const [s] = await conn
  s.join('lobby')
  s.leave('lobby')
  const deadline = Date.now() + 5000
  while (!events.some(([e, r]) => e === 'delete-room' && r === 'lobby')) {
    assert.ok(Date.now() < deadline, JSON.stringify(events))
    await sleep(10)
  }
  const lobby = events.filter(([, r]) => r === 'lobby')
  assert.deepEqual(lobby, [
    ['create-room', 'lobby'],
    ['join-room', 'lobby', s.id],
    ['leave-room', 'lobby', s.id],
    ['delete-room', 'lobby'],
  ])
})
