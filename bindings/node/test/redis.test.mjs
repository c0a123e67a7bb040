// Two of our servers in one Redis cluster (the `adapter` option from
// createRedisAdapter), with npm socket.io-client clients: a broadcast from
// one server reaches the other's clients, rooms included. Starts its own
// redis-server; skipped without it unless SOCKETIO_RS_REQUIRE_REDIS is set.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rs, rsServer, sioClient, next, sleep, within, startRedis, freePort } from './helpers.mjs'

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
  assert.throws(() => rs.createRedisAdapter([]), TypeError)
  assert.throws(() => rs.createRedisAdapter([1, 2]), TypeError)
})
