// Namespace and socket middlewares as socket.io runs them.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsSetup as setup, rsClientOf, next, sleep } from './helpers.mjs'

test('socket middlewares see every event, those without a listener too', async (t) => {
  const { io, client } = setup(t)
  const seen = []
  io.on('connection', (s) => {
    s.use((packet, go) => {
      seen.push(packet.slice())
      if (packet[0] === 'join') packet.unshift('wrap')
      if (packet[0] === 'forbidden') return go(new Error('not allowed'))
      go()
    })
    s.on('wrap', (...args) => s.emit('wrapped', ...args.filter((a) => typeof a !== 'function')))
    s.on('error', (err) => s.emit('refused', err.message))
  })
  const c = await client()
  const wrapped = next(c, 'wrapped')
  c.emit('join', 'woot')
  assert.deepEqual(await wrapped, ['join', 'woot'])

  // An event nobody listens to still runs the middlewares, ack included.
  const refused = next(c, 'refused')
  c.emit('forbidden', 1)
  assert.deepEqual(await refused, ['not allowed'])
  c.emit('nobody-listens', 2, () => {})
  await sleep(100)
  assert.deepEqual(
    seen.map((p) => p[0]),
    ['join', 'forbidden', 'nobody-listens'],
  )
  assert.equal(typeof seen[2][2], 'function', 'the acknowledgement is the last argument')
})

test('a socket in the middlewares is pending, not connected', async (t) => {
  const { io, client } = setup(t)
  const during = []
  io.use((socket, go) => {
    during.push([socket.connected, io.of('/').sockets.size, io.of('/')._preConnectSockets.size])
    go()
  })
  const conn = next(io, 'connection')
  await client()
  const [s] = await conn
  assert.deepEqual(during, [[false, 0, 1]])
  assert.equal(s.connected, true)
  assert.equal(io.of('/')._preConnectSockets.size, 0)
  assert.equal(io.of('/').sockets.size, 1)
})

test('events queued when the socket disconnected are not delivered', async (t) => {
  const { io, url } = setup(t)
  let late = 0
  const conn = next(io, 'connection')
  // Our client: its packets leave from native threads, whatever the JS
  // thread does.
  const c = await rsClientOf(url, { transports: ['websocket'] })
  t.after(() => c.disconnect())
  const [s] = await conn
  s.on('late', () => late++)
  const gone = next(s, 'disconnect')
  c.emit('late', 1)
  c.disconnect()
  // Hold the JS thread until the server has taken the event and the
  // DISCONNECT: the event then waits for a turn that finds the socket gone.
  const until = Date.now() + 300
  while (Date.now() < until && s.connected) {
    // busy
  }
  assert.equal(s.connected, false, 'the server took the DISCONNECT')
  await gone
  await sleep(50)
  assert.equal(late, 0)
})
