// socketio-rs/admin-ui: @socket.io/admin-ui's instrument(io, opts) on our
// server, driven through the admin namespace by the npm socket.io-client as
// the official UI drives it: basic logins against a bcrypt hash and session
// ids, config, all_sockets and server_stats, the UI's actions on a real
// client, and the options refused as the npm package refuses them.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { rsServer, npmClient, sioClient, next, within } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { instrument, InMemoryStore } = require('socketio-rs/admin-ui')

// bcrypt of "s3cret!" (cost 4: fast).
const HASH = '$2a$04$cmUWgmh8loSUzhLZDgHJA.82IDwoDUMqh55yFcLoLdY6k6.zcBt1q'
const BASIC = { type: 'basic', username: 'admin', password: HASH }
const ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT',
  'AGGREGATED_EVENTS', 'ALL_EVENTS']

/** A server and a cleanup closing it and every client made. */
function setup(t, opts) {
  const [io, url] = rsServer(opts)
  const clients = []
  t.after(async () => {
    for (const c of clients) c.disconnect()
    await within(io.close(), 8000, 'close')
  })
  const track = (c) => {
    clients.push(c)
    return c
  }
  return { io, url, track }
}

/** An admin client of `url`: it records every event from its first
 * packet on (the session id comes right after the CONNECT reply). */
function adminClient(url, auth, nsp = '/admin') {
  const c = sioClient.io(url + nsp, {
    forceNew: true,
    reconnection: false,
    transports: ['websocket'],
    auth,
  })
  c.seen = []
  c.onAny((event, ...args) => c.seen.push([event, args]))
  return c
}

/** The arguments of the first `event` `c` received whose arguments pass
 * `pred` (waiting for it). */
async function received(c, event, ms = 5000, pred = () => true) {
  const deadline = Date.now() + ms
  for (;;) {
    const hit = c.seen.find(([e, args]) => e === event && pred(args))
    if (hit) return hit[1]
    if (Date.now() > deadline) throw new Error(`no ${event} within ${ms} ms: ${JSON.stringify(c.seen)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function refused(c) {
  const [err] = await next(c, 'connect_error')
  return err.message
}

test('basic login, session ids, all_sockets, server_stats and the UI acting on a client', async (t) => {
  const { io, url, track } = setup(t)
  io.use((socket, nextFn) => {
    socket.data.user = socket.handshake.auth.user
    nextFn()
  })
  const gone = []
  io.on('connection', (socket) => {
    socket.on('disconnect', (reason) => gone.push([socket.id, reason]))
    socket.on('level', (n, ack) => {
      socket.data.level = n
      ack()
    })
  })
  assert.equal(instrument(io, { auth: BASIC, serverId: 'node-1', mode: 'development' }), undefined)

  const user = track(await npmClient(url, { auth: { user: 'bob' }, transports: ['websocket'] }))
  const uid = user.id

  for (const auth of [{ username: 'admin', password: 'nope' }, { username: 'root', password: 's3cret!' },
    {}, { sessionId: '0123456789abcdef' }]) {
    const c = track(adminClient(url, auth))
    assert.equal(await refused(c), 'invalid credentials', JSON.stringify(auth))
  }

  const ui = track(adminClient(url, { username: 'admin', password: 's3cret!' }))
  await next(ui, 'connect')
  const [session] = await received(ui, 'session')
  assert.match(session, /^[0-9a-f]{16}$/)
  assert.deepEqual(await received(ui, 'config'), [{ supportedFeatures: ALL_FEATURES }])

  const [all] = await received(ui, 'all_sockets')
  const mine = all.find((s) => s.id === uid)
  assert.ok(mine, JSON.stringify(all))
  assert.deepEqual(Object.keys(mine).sort(),
    ['clientId', 'data', 'handshake', 'id', 'nsp', 'rooms', 'transport'])
  assert.equal(mine.nsp, '/')
  assert.equal(mine.transport, 'websocket')
  assert.equal(mine.clientId, user.io.engine.id.slice(0, 12))
  assert.deepEqual(mine.data, { user: 'bob' })
  assert.deepEqual(mine.rooms, [uid])
  assert.match(mine.handshake.address, /^(::ffff:)?127\.0\.0\.1$/)
  assert.ok(all.some((s) => s.nsp === '/admin' && s.id === ui.id))

  const [stats] = await received(ui, 'server_stats', 5000)
  assert.deepEqual(Object.keys(stats).sort(), ['aggregatedEvents', 'clientsCount', 'hostname',
    'namespaces', 'pid', 'pollingClientsCount', 'serverId', 'uptime'])
  assert.equal(stats.serverId, 'node-1')
  assert.equal(stats.pid, process.pid)
  assert.equal(stats.clientsCount, 2)
  assert.deepEqual(stats.namespaces.find((n) => n.name === '/'), { name: '/', socketsCount: 1 })
  assert.ok(Array.isArray(stats.aggregatedEvents))

  // The session id alone logs a UI in, with no new session.
  const again = track(adminClient(url, { sessionId: session }))
  await next(again, 'connect')
  await received(again, 'config')
  assert.ok(!again.seen.some(([e]) => e === 'session'))

  // Data a handler changes reaches the UI.
  await user.emitWithAck('level', 3)
  const [update] = await received(ui, 'socket_updated', 5000, ([u]) => u.id === uid)
  assert.deepEqual(update, { id: uid, nsp: '/', data: { user: 'bob', level: 3 } })

  // The UI's actions act on the real client.
  ui.emit('join', '/', 'vip', uid)
  const joined = await received(ui, 'room_joined', 5000, ([, room]) => room === 'vip')
  assert.deepEqual(joined.slice(0, 3), ['/', 'vip', uid])
  assert.ok(io.sockets.sockets.get(uid).rooms.has('vip'))
  const kicked = next(user, 'disconnect')
  ui.emit('_disconnect', '/', false, uid)
  assert.deepEqual(await kicked, ['io server disconnect', undefined])
  const [nsp, id, reason] = await received(ui, 'socket_disconnected', 5000, ([, i]) => i === uid)
  assert.deepEqual([nsp, id, reason], ['/', uid, 'server namespace disconnect'])
  await within((async () => {
    while (!gone.length) await new Promise((r) => setTimeout(r, 10))
  })(), 5000, 'server-side disconnect')
  assert.deepEqual(gone, [[uid, 'server namespace disconnect']])
})

test('auth false, readonly, production mode, another namespace and a shared store', async (t) => {
  const store = new InMemoryStore()
  const { io, url, track } = setup(t)
  instrument(io, { auth: false, readonly: true, mode: 'production', namespaceName: 'ops', store })
  const ui = track(adminClient(url, undefined, '/ops'))
  await next(ui, 'connect')
  assert.deepEqual(await received(ui, 'config'), [{ supportedFeatures: ['AGGREGATED_EVENTS'] }])
  const [stats] = await received(ui, 'server_stats', 5000)
  assert.equal(typeof stats.serverId, 'string')
  assert.ok(!ui.seen.some(([e]) => e === 'all_sockets' || e === 'session'))

  // A session saved in a store shared by another server logs in there.
  const other = setup(t)
  instrument(other.io, { auth: BASIC, store })
  const first = track(adminClient(other.url, { username: 'admin', password: 's3cret!' }))
  const [session] = await received(first, 'session')
  assert.equal(await store.doesSessionExist(session), true)
  assert.equal(await store.doesSessionExist('nope'), false)
  store.saveSession('0123456789abcdef')
  const byId = track(adminClient(other.url, { sessionId: '0123456789abcdef' }))
  await next(byId, 'connect')
})

test('options refused as the npm package refuses them', async (t) => {
  const { io } = setup(t)
  assert.throws(() => instrument(io, {}),
    { message: 'the `auth` option must be specified or explicitly set to `false`' })
  assert.throws(() => instrument(io, { auth: { type: 'basic', username: 'a', password: 'plain' } }),
    { message: 'the `password` field must be a valid bcrypt hash' })
  assert.throws(() => instrument(io, { auth: { type: 'jwt' } }),
    { message: 'invalid `auth` option, please check the documentation' })
  assert.throws(() => instrument(io, { auth: false, store: { doesSessionExist() {}, saveSession() {} } }),
    TypeError)
  assert.throws(() => instrument({}, { auth: false }), TypeError)
  assert.equal(require('socketio-rs/admin-ui').instrument, instrument)
})
