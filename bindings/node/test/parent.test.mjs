// Namespaces as socket.io's: allSockets(), the new_namespace event, and a
// dynamic (parent) namespace broadcasting to rooms of all its children.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsServer, rsSetup as setup, next, sleep, sioClient } from './helpers.mjs'

test('allSockets on a namespace and on a room', async (t) => {
  const { io, client } = setup(t)
  io.on('connection', (s) => {
    if (s.handshake.auth.room) s.join(s.handshake.auth.room)
  })
  const a = await client('', { auth: { room: 'r' } })
  const b = await client('')
  await sleep(50)
  assert.deepEqual(await io.of('/').allSockets(), new Set([a.id, b.id]))
  assert.deepEqual(await io.of('/').in('r').allSockets(), new Set([a.id]))
  assert.deepEqual(await io.in('nobody').allSockets(), new Set())
})

test('new_namespace for io.of(name) and for a dynamic child', async (t) => {
  const { io, client } = setup(t)
  const seen = []
  io.on('new_namespace', (nsp) => seen.push(nsp.name))
  io.of('/made')
  io.of('/made') // already there: no second event
  io.of(/^\/dyn-\d+$/)
  await client('/dyn-7')
  assert.deepEqual(seen, ['/made', '/dyn-7'])
})

test('a parent namespace broadcasts to a room in every child', async (t) => {
  const { io, client } = setup(t)
  const parent = io.of(/^\/dyn-\d+$/)
  parent.on('connection', (s) => {
    if (s.handshake.auth.room) s.join('r')
  })
  const in1 = await client('/dyn-1', { auth: { room: true } })
  const in2 = await client('/dyn-2', { auth: { room: true } })
  const out = await client('/dyn-1')
  let stray = 0
  out.on('news', () => stray++)
  const got = Promise.all([next(in1, 'news'), next(in2, 'news')])
  parent.to('r').emit('news', 1)
  assert.deepEqual(await got, [[1], [1]])
  // Everyone in every child.
  const all = Promise.all([next(in1, 'all'), next(in2, 'all'), next(out, 'all')])
  parent.emit('all', 2)
  await all
  await sleep(50)
  assert.equal(stray, 0)
  const ids = (await parent.fetchSockets()).map((s) => s.id).sort()
  assert.deepEqual(ids, [in1.id, in2.id, out.id].sort())
  assert.throws(() => parent.emit('x', () => {}), /acknowledgements/)
})

test('a namespace made with io.of(name) is a child of the RegExp parent matching it', () => {
  const [io] = rsServer()
  try {
    const parent = io.of(/^\/dynamic-\d+$/)
    const child = io.of('/dynamic-101')
    const other = io.of('/static')
    assert.ok(parent.children.has(child))
    assert.ok(!parent.children.has(other))
  } finally {
    io.close()
  }
})

test('cleanupEmptyChildNamespaces drops an empty child, which a new client brings back', async (t) => {
  const { io, url, client } = setup(t, { cleanupEmptyChildNamespaces: true })
  const parent = io.of(/^\/dynamic-\d+$/)
  let refuse = false
  parent.use((socket, go) => go(refuse ? new Error('no') : undefined))
  const c1 = await client('/dynamic-101')
  assert.equal(io._nsps.has('/dynamic-101'), true)
  const first = io.of('/dynamic-101')
  c1.disconnect()
  const deadline = Date.now() + 5000
  while (io._nsps.has('/dynamic-101')) {
    assert.ok(Date.now() < deadline, 'the empty child was not dropped')
    await sleep(10)
  }

  // Connecting again makes a new child that works.
  const conn = next(parent, 'connection')
  const c2 = await client('/dynamic-101')
  const [s2] = await conn
  assert.equal(io._nsps.has('/dynamic-101'), true)
  assert.notEqual(io.of('/dynamic-101'), first)
  const got = next(c2, 'hi')
  io.of('/dynamic-101').emit('hi', 1)
  assert.deepEqual(await got, [1])
  assert.equal(s2.nsp, io.of('/dynamic-101'))
  c2.disconnect()

  // A child whose only client the middlewares refused is dropped too.
  refuse = true
  const c3 = sioClient.io(`${url}/dynamic-102`, { forceNew: true, reconnection: false })
  await next(c3, 'connect_error')
  c3.close()
  while (io._nsps.has('/dynamic-102') || io._nsps.has('/dynamic-101')) {
    assert.ok(Date.now() < deadline + 5000, 'a refused child was not dropped')
    await sleep(10)
  }
})
