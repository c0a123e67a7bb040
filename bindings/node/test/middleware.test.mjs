// Namespace and socket middlewares as socket.io runs them.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsSetup as setup, next, sleep } from './helpers.mjs'

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
  const { io, client } = setup(t)
  let late = 0
  const conn = next(io, 'connection')
  const c = await client('', { transports: ['polling'] })
  const [s] = await conn
  s.on('late', () => late++)
  const gone = next(s, 'disconnect')
  // One POST carries the event and the DISCONNECT: the event waits for the
  // JS turn, which finds the socket gone.
  c.emit('late', Buffer.alloc(10))
  c.disconnect()
  await gone
  await sleep(50)
  assert.equal(late, 0)
})
