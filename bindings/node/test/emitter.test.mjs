// require('socketio-rs/emitter'): @socket.io/redis-emitter's API. A process
// that is not a server reaches the npm socket.io-client clients of two of
// our servers joined through Redis: rooms, except, namespaces, binary,
// socketsJoin / socketsLeave, disconnectSockets and serverSideEmit. Starts
// its own redis-server; skipped without it unless SOCKETIO_RS_REQUIRE_REDIS
// is set.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { rs, rsServer, sioClient, next, sleep, within, startRedis, freePort } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Emitter, redisUrl } = require('socketio-rs/emitter')

/** Every event `client` hears, by name, in order. */
function record(client) {
  const heard = []
  client.onAny((event, ...args) => heard.push([event, ...args]))
  return heard
}

async function until(pred, ms = 5000) {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}

test('the emitter reaches the clients of two servers', async (t) => {
  const redis = await startRedis(t)
  if (!redis) return
  const servers = []
  const clients = []
  const sse = []
  try {
    for (let i = 0; i < 2; i++) {
      const [io, url] = rsServer({ adapter: rs.createRedisAdapter(redis.url) })
      io.on('connection', (socket) => {
        socket.on('join', (room, ack) => {
          socket.join(room)
          ack('joined')
        })
      })
      io.of('/admin').on('connection', () => {})
      io.on('note', (...args) => sse.push([i, ...args]))
      servers.push([io, url])
    }
    const a = sioClient.io(servers[0][1], { transports: ['websocket'], forceNew: true })
    const b = sioClient.io(servers[1][1], { transports: ['websocket'], forceNew: true })
    const adm = sioClient.io(`${servers[1][1]}/admin`, { transports: ['websocket'], forceNew: true })
    clients.push(a, b, adm)
    await Promise.all([next(a, 'connect'), next(b, 'connect'), next(adm, 'connect')])
    assert.equal(await within(a.emitWithAck('join', 'den')), 'joined')
    const [ha, hb, hadm] = [record(a), record(b), record(adm)]

    // A client of the redis package gives its URL.
    const emitter = new Emitter({ options: { url: redis.url } })
    assert.equal(emitter.emit('all', { n: 1 }), true)
    emitter.to('den').emit('den', 'two', Buffer.from([1, 2]))
    emitter.except('den').volatile.compress(false).emit('not-den')
    emitter.to(b.id).emit('to-b', 3)
    emitter.of('admin').emit('admin', 4)
    assert.throws(() => emitter.emit('disconnect'), /reserved/)
    emitter.emit('end')
    await until(() => ha.some(([e]) => e === 'end') && hb.some(([e]) => e === 'end'))
    assert.deepEqual(ha.map(([e]) => e), ['all', 'den', 'end'])
    assert.deepEqual(ha[1], ['den', 'two', Buffer.from([1, 2])])
    assert.deepEqual(hb.map(([e]) => e).sort(), ['all', 'end', 'not-den', 'to-b'])
    await until(() => hadm.length === 1)
    assert.deepEqual(hadm[0], ['admin', 4])

    // Rooms of the clients of both servers.
    await emitter.in('den').socketsJoin(['vip', 'gold'])
    await emitter.to(b.id).socketsJoin('vip')
    emitter.to('vip').emit('vip')
    await emitter.to('den').socketsLeave('vip')
    emitter.to('vip').emit('vip-after')
    emitter.to('gold').emit('gold')
    emitter.emit('end2')
    await until(() => ha.some(([e]) => e === 'end2') && hb.some(([e]) => e === 'end2'))
    assert.deepEqual(ha.slice(3).map(([e]) => e), ['vip', 'gold', 'end2'])
    assert.deepEqual(hb.slice(4).map(([e]) => e), ['vip', 'vip-after', 'end2'])

    // serverSideEmit reaches both servers' listeners.
    await emitter.serverSideEmit('note', 'x', 2)
    await until(() => sse.length === 2)
    assert.deepEqual(sse.sort(), [
      [0, 'x', 2],
      [1, 'x', 2],
    ])
    assert.throws(() => emitter.serverSideEmit('note', () => {}), /Acknowledgements/)

    // disconnectSockets of one room.
    const gone = next(a, 'disconnect')
    await emitter.in('den').disconnectSockets()
    assert.equal((await gone)[0], 'io server disconnect')
    assert.equal(b.connected, true)
  } finally {
    for (const c of clients) c.disconnect()
    await Promise.all(servers.map(([io]) => new Promise((resolve) => io.close(() => resolve()))))
    redis.stop()
  }
})

test('redis clients give their address; an unreachable Redis rejects', async () => {
  assert.equal(redisUrl('redis://h:1'), 'redis://h:1')
  assert.equal(redisUrl({ options: { url: 'redis://x:2/3' } }), 'redis://x:2/3')
  assert.equal(redisUrl({ options: { socket: { host: 'redis.test', port: 7000 } } }), 'redis://redis.test:7000')
  assert.equal(
    redisUrl({ options: { host: 'h', port: 6380, password: 'p w', db: 2, tls: {} } }),
    'rediss://:p%20w@h:6380/2',
  )
  // Cluster clients: their nodes as the comma-separated seeds of a Redis Cluster.
  assert.equal(
    redisUrl({ options: { rootNodes: [{ url: 'redis://a:7000' }, { socket: { host: 'b', port: 7001 } }], defaults: { password: 's' } } }),
    'redis://a:7000,redis://:s@b:7001',
  )
  assert.equal(
    redisUrl({ startupNodes: [{ host: 'a', port: 7000 }, 'b:7001', 7002], options: { redisOptions: { tls: {} } } }),
    'rediss://a:7000,redis://b:7001,redis://127.0.0.1:7002',
  )
  assert.equal(redisUrl({ isOpen: true, masters: [{ host: 'm', port: 7003 }] }), 'redis://m:7003')
  assert.throws(() => new Emitter({}), TypeError)

  const port = await freePort()
  const emitter = new Emitter(`redis://127.0.0.1:${port}`)
  await assert.rejects(within(emitter.socketsJoin('r'), 10000), /Redis/)
  // A failed emit only warns.
  const warned = new Promise((resolve) => process.once('warning', resolve))
  assert.equal(emitter.emit('x'), true)
  assert.match((await within(warned, 10000)).message, /socketio-rs emitter/)
})
