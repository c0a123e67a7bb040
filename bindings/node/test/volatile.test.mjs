// `volatile` as socket.io: a packet is dropped when the connection is busy
// with an earlier one in the same JS turn (socket.io's transport is not
// writable before its write completes) or when the transport cannot write
// now; otherwise it goes.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsSetup as setup, next, sleep } from './helpers.mjs'

const ws = { transports: ['websocket'] }

/** Counts `event` at client `c` until `ms` have passed. */
async function count(c, event, ms = 300) {
  let n = 0
  c.on(event, () => n++)
  await sleep(ms)
  return n
}

test('one volatile packet per turn to a socket, after any other', async (t) => {
  const { io, client } = setup(t, ws)
  const conn = next(io, 'connection')
  const c = await client('', ws)
  const [s] = await conn
  await sleep(50)

  const twice = count(c, 'twice')
  s.volatile.emit('twice', 1)
  s.volatile.emit('twice', 2)
  assert.equal(await twice, 1, 'the second volatile packet of the turn is dropped')

  const after = count(c, 'after')
  s.emit('after', 'regular')
  s.volatile.emit('after', 'volatile')
  assert.equal(await after, 1, 'a volatile packet after a regular one is dropped')

  const bin = count(c, 'bin')
  s.volatile.emit('bin', Buffer.from([1, 2, 3]))
  s.volatile.emit('bin', Buffer.from([4, 5, 6]))
  assert.equal(await bin, 1, 'binary packets too')

  // Regular packets are never dropped, before or after a dropped one.
  const mixed = count(c, 'mixed')
  s.emit('mixed', 1)
  s.volatile.emit('mixed', 2)
  s.emit('mixed', 3)
  assert.equal(await mixed, 2)

  // In a later turn, with the transport idle, a volatile packet goes.
  const later = next(c, 'later')
  s.volatile.emit('later', 'ok')
  assert.deepEqual(await later, ['ok'])
})

test('volatile broadcasts: one per turn, and not to a connection written to in the turn', async (t) => {
  const { io, client } = setup(t, ws)
  const conns = []
  io.on('connection', (s) => conns.push(s))
  const a = await client('', ws)
  const b = await client('', ws)
  await sleep(50)
  const sa = conns.find((s) => s.id === a.id)

  const [na, nb] = [count(a, 'all'), count(b, 'all')]
  io.volatile.emit('all', Buffer.from([1]))
  io.volatile.emit('all', Buffer.from([2]))
  assert.deepEqual([await na, await nb], [1, 1])

  const [pa, pb] = [count(a, 'part'), count(b, 'part')]
  sa.emit('direct', 1)
  io.volatile.emit('part', 1)
  assert.deepEqual([await pa, await pb], [0, 1], 'a is busy with its direct packet')

  const [ra, rb] = [count(a, 'reg'), count(b, 'reg')]
  io.emit('reg', 1)
  io.of('/').volatile.emit('reg', 2)
  assert.deepEqual([await ra, await rb], [1, 1], 'dropped after a regular broadcast')
})
