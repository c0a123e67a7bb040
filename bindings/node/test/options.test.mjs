// Every option of socket.io's Server and of socket.io-client's io() is
// honoured or refused at construction with a TypeError naming it: none is
// silently ignored. The msgpack parser talks to the npm peers configured
// with socket.io-msgpack-parser; the factories of @socket.io/redis-adapter
// are read for the native adapter; the streams adapter's runs in JS, and
// with connection state recovery is refused with a pointer to
// createRedisAdapter.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import https from 'node:https'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { rs, rsClient, sio, sioClient, rsServer, npmServer, npmClient, rsClientOf, next, within, sleep, freePort } from './helpers.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))

/** The npm peers of the project's interop tests (tests/node), when installed. */
const peers = (() => {
  const pkg = path.join(here, '..', '..', '..', 'tests', 'node', 'package.json')
  const req = createRequire(pkg)
  const load = (name) => {
    try {
      return req(name)
    } catch {
      return null
    }
  }
  return {
    msgpack: load('socket.io-msgpack-parser'),
    redisAdapter: load('@socket.io/redis-adapter'),
    streamsAdapter: load('@socket.io/redis-streams-adapter'),
  }
})()
const NO_PEERS = 'the npm peers of tests/node are not installed (npm ci --prefix tests/node)'

/** Asserts `fn` throws a TypeError whose message matches every pattern. */
function throwsNaming(fn, ...patterns) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof TypeError, `a TypeError, got ${err && err.constructor && err.constructor.name}: ${err && err.message}`)
    for (const p of patterns) assert.match(err.message, p)
    return true
  })
}

async function closeAll(...servers) {
  for (const s of servers) await within(s.close(), 8000, 'close')
}

// --- server: refusals --------------------------------------------------------

const SERVER_REFUSED = [
  ['serveClient', { serveClient: 'yes' }],
  ['allowEIO3', { allowEIO3: 'yes' }],
  ['perMessageDeflate.zlibDeflateOptions', { perMessageDeflate: { zlibDeflateOptions: { level: 1 } } }],
  ['perMessageDeflate.threshold', { perMessageDeflate: { threshold: 'big' } }],
  ['perMessageDeflate', { perMessageDeflate: 'yes' }],
  ['wsEngine', { wsEngine: class FakeWsServer {} }],
  ['initialPacket', { initialPacket: 'hello' }],
  ['httpCompression.level', { httpCompression: { threshold: 10, level: 9 } }],
  ['transports', { transports: ['polling', 'webtransport'] }],
  ['transports', { transports: ['carrier-pigeon'] }],
  ['transports', { transports: [] }],
  ['cookie.expires', { cookie: { expires: new Date() } }],
  ['cookie.priority', { cookie: { priority: 'high' } }],
  ['cookie.partitioned', { cookie: { partitioned: true } }],
  ['cookie.encode', { cookie: { encode: encodeURIComponent } }],
  ['cookie.sameSite', { cookie: { sameSite: 'sideways' } }],
  ['cookie', { cookie: true, transports: ['websocket'] }],
  ['parser', { parser: { Encoder: class {}, Decoder: class {}, protocol: 5 } }],
  ['parser', { parser: 'msgpack' }],
  ['adapter', { adapter: () => ({}) }],
  ['adapter', { adapter: class MyAdapter {} }],
  ['adapter', { adapter: { url: 'redis://127.0.0.1' } }],
  ['allowRequest', { allowRequest: true }],
  ['pingInterval', { pingInterval: '25000' }],
  ['pingTimeout', { pingTimeout: -1 }],
  ['maxHttpBufferSize', { maxHttpBufferSize: NaN }],
  ['allowUpgrades', { allowUpgrades: 'yes' }],
  ['path', { path: 42 }],
  ['connectionStateRecovery.maxDisconnectionDuration', { connectionStateRecovery: { maxDisconnectionDuration: 'long' } }],
  ['destroyUpgradeTimeout', { destroyUpgradeTimeout: 'soon' }],
]

for (const [name, opts] of SERVER_REFUSED) {
  test(`server option ${JSON.stringify(opts, (k, v) => (typeof v === 'function' ? `[${v.name || 'fn'}]` : v))} throws naming "${name}"`, () => {
    throwsNaming(() => new rs.Server(opts), new RegExp(`^socketio-rs: .*"${name.replace('.', '\\.')}"`))
    // With a port too: nothing is bound before the check.
    throwsNaming(() => new rs.Server(0, opts), new RegExp(`"${name.replace('.', '\\.')}"`))
  })
}

test('an unsupported value says so', () => {
  throwsNaming(
    () => new rs.Server({ perMessageDeflate: { serverMaxWindowBits: 10 } }),
    /^socketio-rs: option "perMessageDeflate\.serverMaxWindowBits" is not supported yet/,
  )
})

test('perMessageDeflate compresses WebSocket messages with the npm client, as engine.io', async (t) => {
  for (const [option, negotiated] of [[true, true], [{ threshold: 10 }, true], [false, false]]) {
    const [io, url] = rsServer({ perMessageDeflate: option })
    io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)))
    const c = await npmClient(url, { transports: ['websocket'] })
    t.after(() => {
      c.disconnect()
      return closeAll(io)
    })
    const big = 'socket.io '.repeat(1000)
    assert.equal(await within(c.timeout(5000).emitWithAck('echo', big), 8000, 'echo'), big)
    // The ws WebSocket under engine.io-client's transport says what was agreed.
    const ws = c.io.engine.transport.ws
    assert.equal(ws.extensions === 'permessage-deflate', negotiated, `${JSON.stringify(option)}: ${ws.extensions}`)
  }
})

/** One long-polling request with `Accept-Encoding: gzip`: its encoding and raw body. */
function pollRequest(url, method, query, body = '') {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/socket.io/?EIO=4&transport=polling${query}`,
      { method, headers: { 'accept-encoding': 'gzip', 'content-type': 'text/plain' } },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

test('compress(false) sends uncompressed, on a socket and a broadcast, as socket.io', async (t) => {
  const [io, url] = rsServer({})
  t.after(() => closeAll(io))
  const big = 'socket.io '.repeat(300)
  io.on('connection', (s) => {
    s.on('go', (what) => {
      if (what === 'plain') s.compress(false).emit('big', big)
      else if (what === 'plain-ack') s.compress(false).emit('big', big, () => {})
      else if (what === 'packed') s.emit('big', big)
      else if (what === 'plain-all') s.broadcast.compress(false).emit('big', big)
      else s.broadcast.emit('big', big)
    })
  })
  const open = async () => {
    const { body } = await pollRequest(url, 'GET', '')
    const q = `&sid=${JSON.parse(body.toString().slice(1)).sid}`
    await pollRequest(url, 'POST', q, '40')
    assert.match((await pollRequest(url, 'GET', q)).body.toString(), /^40/)
    return q
  }
  const [a, b] = [await open(), await open()]
  for (const [what, reader, compressed] of [
    ['plain', a, false],
    ['packed', a, true],
    ['plain-ack', a, false],
    ['plain-all', b, false],
    ['packed-all', b, true],
  ]) {
    await pollRequest(url, 'POST', a, `42["go","${what}"]`)
    const res = await within(pollRequest(url, 'GET', reader), 5000, what)
    assert.equal(res.encoding === 'gzip', compressed, `${what}: ${res.encoding}`)
    if (!compressed) assert.match(res.body.toString(), new RegExp(`^42\\d*\\["big","${big}"\\]$`))
  }
})

test('a misspelt server option throws, suggesting the right name', () => {
  throwsNaming(() => new rs.Server({ pingIntervall: 1000 }), /unknown option "pingIntervall"/, /did you mean "pingInterval"/)
  throwsNaming(() => new rs.Server({ cors: { origin: '*' }, maxHTTPBufferSize: 10 }), /"maxHTTPBufferSize"/, /"maxHttpBufferSize"/)
  throwsNaming(() => new rs.Server({ fooBarBaz: true }), /unknown option "fooBarBaz"/)
  throwsNaming(
    () => new rs.Server({ connectionStateRecovery: { maxDisconnectionDuraton: 1000 } }),
    /"connectionStateRecovery\.maxDisconnectionDuraton"/,
    /did you mean "connectionStateRecovery\.maxDisconnectionDuration"/,
  )
  throwsNaming(() => new rs.Server({ cookie: { httponly: true } }), /"cookie\.httponly"/, /"cookie\.httpOnly"/)
})

test("the options of socket.io's defaults and harmless values are accepted, and the server works", async (t) => {
  const opts = {
    path: '/socket.io',
    serveClient: false,
    allowEIO3: false,
    perMessageDeflate: false,
    addTrailingSlash: true,
    wsEngine: require('ws').Server,
    initialPacket: undefined,
    destroyUpgrade: true,
    destroyUpgradeTimeout: 1000,
    parser: require('socket.io-parser'),
    adapter: require('socket.io-adapter').Adapter,
    cors: undefined,
    cookie: false,
    httpCompression: { threshold: 1024 },
    pingInterval: 25000,
    pingTimeout: 20000,
    upgradeTimeout: 10000,
    maxHttpBufferSize: 1e6,
    transports: ['polling', 'websocket'],
    allowUpgrades: true,
    connectTimeout: 45000,
    cleanupEmptyChildNamespaces: false,
    ackTimeout: 5000,
    allowRequest: null,
  }
  const [io, url] = rsServer(opts)
  t.after(() => closeAll(io))
  io.on('connection', (s) => s.on('ping', (cb) => cb('pong')))
  const c = await npmClient(url)
  t.after(() => c.disconnect())
  assert.equal(await c.timeout(3000).emitWithAck('ping'), 'pong')

  // The other accepted forms.
  for (const more of [
    { addTrailingSlash: false },
    { httpCompression: false },
    { httpCompression: true },
    { wsEngine: require('ws').WebSocketServer },
    { connectionStateRecovery: true, adapter: require('socket.io-adapter').SessionAwareAdapter },
    { destroyUpgrade: false },
    { cookie: true },
    { parser: null, adapter: null },
  ]) {
    const s = new rs.Server(more)
    await s.close()
  }
})

test("socket.io-adapter's in-memory adapters only where socket.io would use them", () => {
  const { Adapter, SessionAwareAdapter } = require('socket.io-adapter')
  throwsNaming(() => new rs.Server({ adapter: Adapter, connectionStateRecovery: {} }), /"adapter"/, /never recover/)
  throwsNaming(() => new rs.Server({ adapter: SessionAwareAdapter }), /"adapter"/, /needs connectionStateRecovery/)
  // A subclass is an adapter written in JS, which socket.io would run (see
  // js-adapter.test.mjs); with connection state recovery it cannot be.
  class Custom extends Adapter {}
  throwsNaming(() => new rs.Server({ adapter: Custom, connectionStateRecovery: {} }), /option "adapter"/, /connectionStateRecovery/)
})

test("@socket.io/redis-adapter's factories are read for the native adapter; what cannot be read is refused", async (t) => {
  if (!peers.redisAdapter || !peers.streamsAdapter) return t.skip(NO_PEERS)
  // A client in ioredis's shape that records what the adapter asks of it.
  const calls = []
  const fake = (options) => {
    const c = { options }
    for (const m of ['psubscribe', 'punsubscribe', 'subscribe', 'unsubscribe', 'on', 'off']) {
      c[m] = (...args) => {
        calls.push(m)
        return m === 'on' || m === 'off' ? c : Promise.resolve()
      }
    }
    return c
  }
  // Read: the URL of the pub client and the key reach the core, which
  // then fails to connect (nothing listens there), naming the address.
  const port = await freePort()
  const pub = fake({ host: '127.0.0.1', port })
  assert.throws(
    () => new rs.Server({ adapter: peers.redisAdapter.createAdapter(pub, fake({}), { key: 'k' }) }),
    new RegExp(`cannot join the Redis cluster at redis://127\\.0\\.0\\.1:${port}`),
  )
  // The adapter made to read them subscribed, then undid it.
  assert.ok(calls.includes('psubscribe') && calls.includes('punsubscribe') && calls.includes('off'), calls.join())
  // A client that is neither redis's nor ioredis's.
  throwsNaming(
    () => new rs.Server({ adapter: peers.redisAdapter.createAdapter({ fake: 'pub' }, { fake: 'sub' }) }),
    /option "adapter"/,
    /@socket\.io\/redis-adapter could not be read/,
  )
  throwsNaming(
    () => new rs.Server({ adapter: peers.redisAdapter.createAdapter(fake('none'), fake({})) }),
    /option "adapter"/,
    /Redis client/,
  )
  // The streams adapter starts reading at once, so it runs in JS, where the
  // core's sessions are out of its reach: with connectionStateRecovery it
  // is refused. (A client whose calls never answer keeps it from doing
  // anything.)
  const stuck = new Proxy(
    {},
    {
      get(_, prop) {
        if (prop === 'then' || prop === 'sSubscribe') return undefined
        if (prop === 'options') return {}
        if (prop === 'duplicate') return () => stuck
        if (prop === 'on') return () => stuck
        return () => new Promise(() => {})
      },
    },
  )
  throwsNaming(
    () => new rs.Server({ adapter: peers.streamsAdapter.createAdapter(stuck), connectionStateRecovery: {} }),
    /@socket\.io\/redis-streams-adapter/,
    /connectionStateRecovery/,
    /createRedisAdapter\(url, \{ flavour: 'streams' \}\)/,
  )
  // Ours is accepted (it only connects when the server is made).
  assert.equal(typeof rs.createRedisAdapter('redis://127.0.0.1:6379'), 'function')
})

/** An http.Server answering 404 outside the Socket.IO server, listening. */
async function plainServer() {
  const srv = http.createServer((req, res) => {
    res.writeHead(404)
    res.end()
  })
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return [srv, `http://127.0.0.1:${srv.address().port}`]
}

/** The open packet of a polling handshake under `path`, or the HTTP status. */
async function openPacket(url, path = '/socket.io') {
  const res = await fetch(`${url}${path}/?EIO=4&transport=polling`)
  const body = await res.text()
  if (res.status !== 200) return res.status
  const open = JSON.parse(body.slice(1))
  const bye = await fetch(`${url}${path}/?EIO=4&transport=polling&sid=${open.sid}`, { method: 'POST', body: '1' })
  await bye.arrayBuffer()
  return open
}

test('attach(srv, opts) merges the engine options as socket.io: the constructor\'s win', async (t) => {
  // Side by side with socket.io: its `attach()` gives engine.io
  // `Object.assign(opts, this.opts)`.
  const seen = []
  for (const lib of [sio, rs]) {
    const io = new lib.Server({ pingTimeout: 6000 })
    const [srv, url] = await plainServer()
    t.after(() => closeAll(io))
    io.attach(srv, { pingInterval: 24000, pingTimeout: 1000, path: '/realtime' })
    assert.equal(io.eio.opts.pingTimeout, 6000)
    assert.equal(io.eio.opts.pingInterval, 24000)
    const open = await openPacket(url, '/realtime')
    seen.push([open.pingInterval, open.pingTimeout, await openPacket(url)])
    // The namespaces made before attach() serve on the new engine.
    const c = await npmClient(url, { path: '/realtime' })
    c.disconnect()
  }
  assert.deepEqual(seen[1], seen[0])
  assert.deepEqual(seen[1], [24000, 6000, 404])
})

test('listen(port, opts) merges too; allowRequest and cors given there are used', async (t) => {
  const io = new rs.Server()
  t.after(() => closeAll(io))
  io.listen(0, { allowRequest: (req, cb) => cb(req.headers['x-pass'] ? null : 'no pass', !!req.headers['x-pass']) })
  const url = `http://127.0.0.1:${io.httpServer.address().port}`
  const refused = await fetch(`${url}/socket.io/?EIO=4&transport=polling`)
  assert.equal(refused.status, 403)
  const open = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { 'x-pass': '1' } })
  assert.equal(open.status, 200)
  await open.arrayBuffer()

  const io2 = new rs.Server()
  const [srv, url2] = await plainServer()
  t.after(() => closeAll(io2))
  io2.attach(srv, { cors: { origin: (origin, cb) => cb(null, origin === 'http://good.example') } })
  const good = await fetch(`${url2}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://good.example' } })
  assert.equal(good.headers.get('access-control-allow-origin'), 'http://good.example')
  await good.arrayBuffer()
  const evil = await fetch(`${url2}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://evil.example' } })
  assert.equal(evil.headers.get('access-control-allow-origin'), null)
  await evil.arrayBuffer()
})

test('attach()/listen() options: refused when socket.io would ignore them or they come too late', async (t) => {
  const io = new rs.Server({ pingInterval: 2000 })
  t.after(() => closeAll(io))
  const srv = http.createServer()
  // socket.io reads these from its constructor's options only.
  throwsNaming(() => io.attach(srv, { connectTimeout: 1000 }), /option "connectTimeout" of attach\(\)\/listen\(\)/, /new Server\(\)/)
  throwsNaming(() => io.listen(0, { serveClient: false }), /"serveClient"/)
  throwsNaming(() => io.attach(srv, { pingIntervl: 1000 }), /unknown option "pingIntervl"/)
  throwsNaming(() => io.attach(srv, { maxHttpBufferSize: 'big' }), /maxHttpBufferSize/)
  // The constructor's values, or nothing new: accepted as they are.
  io.attach(srv, { pingInterval: 1000, path: undefined })
  assert.equal(io.engine.opts.pingInterval, 2000)
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const c = await npmClient(`http://127.0.0.1:${srv.address().port}`)
  c.disconnect()
  await io.close()
  // Served already: the engine is the one it had.
  assert.throws(() => io.listen(0, { pingTimeout: 1000 }), /come too late/)
})

// --- server: the options that now work ---------------------------------------

/** The handshake response of a polling client, whose session is then closed. */
async function handshake(url, headers = {}) {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers })
  const body = await res.text()
  if (res.status === 200) {
    const { sid } = JSON.parse(body.slice(1))
    // Engine.IO's close packet: no session left to delay the server's close.
    const bye = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' })
    await bye.arrayBuffer()
  }
  return { status: res.status, cookie: res.headers.get('set-cookie'), body }
}

test('allowEIO3 lets a Socket.IO v2 client in, off by default', async () => {
  const [off, offUrl] = rsServer({})
  const refused = await fetch(`${offUrl}/socket.io/?EIO=3&transport=polling`)
  assert.equal(refused.status, 400)
  assert.deepEqual(await refused.json(), { code: 5, message: 'Unsupported protocol version' })
  await closeAll(off)

  const [io, url] = rsServer({ allowEIO3: true })
  assert.equal(io.engine.opts.allowEIO3, true)
  const connected = new Promise((resolve) => io.on('connection', resolve))
  // A v2 client's first poll: the open packet, then the main namespace's
  // CONNECT, unasked, with no body.
  const res = await fetch(`${url}/socket.io/?EIO=3&transport=polling&b64=1`)
  const body = await res.text()
  const open = body.match(/^(\d+):0(\{.*?\})(?=\d+:|$)/)
  assert.ok(open, body)
  assert.equal(Number(open[1]), open[2].length + 1)
  const { sid } = JSON.parse(open[2])
  const socket = await within(connected, 5000, 'connection')
  assert.equal(socket.id, sid)
  assert.equal(socket.conn.protocol, 3)
  const rest = body.slice(open[0].length) || (await (await fetch(`${url}/socket.io/?EIO=3&transport=polling&b64=1&sid=${sid}`)).text())
  assert.equal(rest, '2:40')
  const bye = await fetch(`${url}/socket.io/?EIO=3&transport=polling&b64=1&sid=${sid}`, { method: 'POST', body: '1:1' })
  await bye.arrayBuffer()
  await closeAll(io)
})

/** A Set-Cookie header as its attributes, the session id left out. */
function cookieParts(header) {
  assert.ok(header, 'a Set-Cookie header')
  const [first, ...attrs] = header.split(/;\s*/)
  const name = first.slice(0, first.indexOf('='))
  return [name, ...attrs.map((a) => a.toLowerCase()).sort()]
}

test('cookie: the Set-Cookie of the handshake is socket.io\'s', async (t) => {
  const forms = [
    true,
    { name: 'sticky' },
    { name: 'sid', path: '/app', httpOnly: false, sameSite: 'strict', secure: true, maxAge: 60.7, domain: 'example.com' },
    { path: false, sameSite: false },
    { sameSite: 'none', secure: true },
  ]
  for (const cookie of forms) {
    const [ours, ourUrl] = rsServer({ cookie })
    const [theirs, theirUrl] = npmServer({ cookie })
    try {
      const a = await handshake(ourUrl)
      const b = await handshake(theirUrl)
      assert.deepEqual(cookieParts(a.cookie), cookieParts(b.cookie), JSON.stringify(cookie))
    } finally {
      await closeAll(ours, theirs)
    }
  }
  // No cookie by default, as engine.io.
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  assert.equal((await handshake(url)).cookie, null)
})

test('allowRequest: asked with the request, its refusal answered as socket.io answers it', async (t) => {
  const seen = []
  const allowRequest = (req, fn) => {
    seen.push(req)
    if (req.headers['x-pass'] === 'later') return setTimeout(() => fn(null, true), 20)
    if (req.headers['x-pass'] === 'yes') return fn(null, true)
    if (req.headers['x-pass'] === 'quiet') return fn(null, false)
    fn('not today', false)
  }
  const [ours, ourUrl] = rsServer({ allowRequest })
  const [theirs, theirUrl] = npmServer({ allowRequest })
  t.after(() => closeAll(ours, theirs))

  for (const headers of [{}, { 'x-pass': 'quiet' }]) {
    const a = await handshake(ourUrl, headers)
    const b = await handshake(theirUrl, headers)
    assert.equal(a.status, 403)
    assert.deepEqual([a.status, JSON.parse(a.body)], [b.status, JSON.parse(b.body)])
  }
  const req = seen[0]
  assert.equal(req.method, 'GET')
  assert.match(req.url, /^\/socket\.io\/\?EIO=4&transport=polling/)
  assert.equal(req._query.EIO, '4')
  assert.equal(req._query.transport, 'polling')
  assert.equal(typeof req.headers.host, 'string')
  assert.equal(req.httpVersion, '1.1')
  assert.equal(req.socket.remoteAddress, seen[1].socket.remoteAddress)

  // Allowed at once, or later; over WebSocket too.
  const c1 = await npmClient(ourUrl, { extraHeaders: { 'x-pass': 'yes' } })
  const c2 = await npmClient(ourUrl, { extraHeaders: { 'x-pass': 'later' }, transports: ['websocket'] })
  c1.disconnect()
  c2.disconnect()
  const refused = sioClient.io(ourUrl, { forceNew: true, reconnection: false, transports: ['websocket'] })
  const [err] = await next(refused, 'connect_error')
  assert.ok(err)
  refused.close()
})

test('destroyUpgrade and destroyUpgradeTimeout, as engine.io\'s attach', async (t) => {
  async function upgradeElsewhere(opts) {
    const srv = http.createServer()
    const sockets = new Set()
    srv.on('connection', (s) => sockets.add(s))
    const io = new rs.Server(srv, opts)
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
    const req = http.request({
      host: '127.0.0.1',
      port: srv.address().port,
      path: '/elsewhere',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
    })
    req.on('error', () => {})
    const closed = new Promise((resolve) => req.on('close', () => resolve(Date.now())))
    const sent = Date.now()
    req.end()
    const after = await Promise.race([closed, sleep(800).then(() => null)])
    req.destroy()
    // A socket left alone (destroyUpgrade: false) is the application's.
    for (const s of sockets) s.destroy()
    await closeAll(io)
    return after === null ? null : after - sent
  }
  const quick = await upgradeElsewhere({ destroyUpgradeTimeout: 100 })
  assert.ok(quick !== null && quick < 700, `ended after ${quick} ms`)
  assert.equal(await upgradeElsewhere({ destroyUpgrade: false }), null)
})

test('serveClient: the browser client, as socket.io serves it (on by default)', async (t) => {
  const [ours, ourUrl] = rsServer()
  const [off, offUrl] = rsServer({ serveClient: false })
  const [explicit, explicitUrl] = rsServer({ serveClient: true })
  const [theirs, theirUrl] = npmServer()
  t.after(() => closeAll(ours, off, explicit, theirs))
  for (const file of ['socket.io.js', 'socket.io.min.js', 'socket.io.msgpack.min.js.map']) {
    const a = await fetch(`${ourUrl}/socket.io/${file}`)
    const b = await fetch(`${theirUrl}/socket.io/${file}`)
    assert.equal(a.status, 200, file)
    assert.deepEqual(
      [a.status, a.headers.get('etag'), a.headers.get('content-type'), await a.text()],
      [b.status, b.headers.get('etag'), b.headers.get('content-type'), await b.text()],
      file,
    )
    const c = await fetch(`${explicitUrl}/socket.io/${file}`)
    assert.equal(c.status, 200)
    await c.arrayBuffer()
  }
  const none = await fetch(`${offUrl}/socket.io/socket.io.js`)
  await none.arrayBuffer()
  assert.notEqual(none.status, 200)
})

// --- msgpack -------------------------------------------------------------------

test('parser: socket.io-msgpack-parser, our server with the npm client', async (t) => {
  if (!peers.msgpack) return t.skip(NO_PEERS)
  const [io, url] = rsServer({ parser: peers.msgpack })
  t.after(() => closeAll(io))
  io.on('connection', (socket) => {
    socket.on('echo', (data, cb) => cb({ got: data, extra: Buffer.from([9, 8, 7]), n: 1.5, list: [1, 'a', null] }))
    socket.emit('welcome', { bin: Buffer.from([1, 2, 3]) }, 'text')
  })
  for (const transports of [['polling'], ['websocket']]) {
    const c = sioClient.io(url, { forceNew: true, reconnection: false, parser: peers.msgpack, transports })
    const welcome = next(c, 'welcome')
    await next(c, 'connect')
    const [first, second] = await welcome
    assert.deepEqual([Buffer.from(first.bin), second], [Buffer.from([1, 2, 3]), 'text'])
    const res = await c.timeout(3000).emitWithAck('echo', { buf: Buffer.from([4, 5]), s: 'x', deep: { k: [true] } })
    assert.deepEqual(Buffer.from(res.got.buf), Buffer.from([4, 5]))
    assert.equal(res.got.s, 'x')
    assert.deepEqual(res.got.deep, { k: [true] })
    assert.deepEqual(Buffer.from(res.extra), Buffer.from([9, 8, 7]))
    assert.equal(res.n, 1.5)
    assert.deepEqual(res.list, [1, 'a', null])
    c.disconnect()
  }
})

test('parser: socket.io-msgpack-parser, our client with the npm server', async (t) => {
  if (!peers.msgpack) return t.skip(NO_PEERS)
  const [io, url] = npmServer({ parser: peers.msgpack })
  t.after(() => closeAll(io))
  io.on('connection', (socket) => {
    socket.on('echo', (data, cb) => cb({ got: data, extra: Buffer.from([6, 5]) }))
    socket.emit('welcome', Buffer.from([1, 2]), { n: 2 })
  })
  const c = rsClient.io(url, { forceNew: true, reconnection: false, parser: peers.msgpack })
  const welcome = next(c, 'welcome')
  await next(c, 'connect')
  t.after(() => c.disconnect())
  const [bin, obj] = await welcome
  assert.deepEqual([bin, obj], [Buffer.from([1, 2]), { n: 2 }])
  const res = await c.timeout(3000).emitWithAck('echo', { buf: Buffer.from([3, 4]), s: 'y' })
  assert.deepEqual(res.got, { buf: Buffer.from([3, 4]), s: 'y' })
  assert.deepEqual(res.extra, Buffer.from([6, 5]))
})

test('parser: recognised as a module, an ESM namespace, or a copy that writes the same bytes', async (t) => {
  if (!peers.msgpack) return t.skip(NO_PEERS)
  const msgpackPath = createRequire(path.join(here, '..', '..', '..', 'tests', 'node', 'package.json')).resolve(
    'socket.io-msgpack-parser',
  )
  const ns = await import(msgpackPath)
  const { Encoder, Decoder, protocol } = peers.msgpack
  for (const parser of [peers.msgpack, ns, { Encoder, Decoder, protocol }]) {
    const s = new rs.Server({ parser })
    await s.close()
  }
  // A parser bundled elsewhere (not a loaded package): told by its output.
  const copy = {
    protocol: 5,
    Encoder: class {
      encode(packet) {
        return new Encoder().encode(packet)
      }
    },
    Decoder: class extends Decoder {},
  }
  const s = new rs.Server({ parser: copy })
  await s.close()
  const sp = require('socket.io-parser')
  const jsonCopy = { protocol: 5, Encoder: class extends sp.Encoder {}, Decoder: class extends sp.Decoder {} }
  await new rs.Server({ parser: jsonCopy }).close()
  // A JSON parser with a replacer of its own is not the default one.
  const replaced = {
    protocol: 5,
    Encoder: class extends sp.Encoder {
      constructor() {
        super((k, v) => (typeof v === 'string' && v.endsWith('Z') ? 'date' : v))
      }
    },
    Decoder: sp.Decoder,
  }
  throwsNaming(() => new rs.Server({ parser: replaced }), /option "parser"/)
  throwsNaming(() => rsClient.io('http://127.0.0.1:1', { parser: replaced, autoConnect: false }), /option "parser"/)
})

// --- client --------------------------------------------------------------------

const CLIENT_REFUSED = [
  ['agent', { agent: new http.Agent() }],
  ['pfx', { pfx: 'x' }],
  ['cert', { key: 'x' }],
  ['key', { cert: 'x' }],
  ['key', { cert: 'x', key: 42 }],
  ['key.passphrase', { cert: 'x', key: [{ pem: 'x', passphrase: 'secret' }] }],
  ['passphrase', { passphrase: 'x' }],
  ['ciphers', { ciphers: 'HIGH' }],
  ['rejectUnauthorized', { rejectUnauthorized: 'no' }],
  ['forceBase64', { forceBase64: true }],
  ['requestTimeout', { requestTimeout: 5000 }],
  ['transportOptions', { transportOptions: { polling: { extraHeaders: { a: 'b' } } } }],
  ['transportImplementations', { transportImplementations: [] }],
  ['withCredentials', { withCredentials: true }],
  ['perMessageDeflate', { perMessageDeflate: { threshold: 1024 } }],
  ['protocols', { protocols: ['chat'] }],
  ['parser', { parser: { Encoder: class {}, Decoder: class {}, protocol: 5 } }],
  ['transports', { transports: ['webtransport'] }],
  ['transports', { transports: 'websocket' }],
  ['reconnectionDelay', { reconnectionDelay: 'fast' }],
  ['randomizationFactor', { randomizationFactor: 2 }],
  ['timeout', { timeout: -5 }],
  ['autoUnref', { autoUnref: 1 }],
  ['query', { query: 5 }],
  ['ca', { ca: 5 }],
]

for (const [name, opts] of CLIENT_REFUSED) {
  test(`client option ${name} = ${JSON.stringify(opts[name]) ?? typeof opts[name]} throws naming it`, () => {
    const re = new RegExp(`^socketio-rs: .*"${name}"`)
    throwsNaming(() => rsClient.io('http://127.0.0.1:1', { forceNew: true, autoConnect: false, ...opts }), re)
    throwsNaming(() => new rsClient.Manager('http://127.0.0.1:1', { autoConnect: false, ...opts }), re)
  })
}

test('a misspelt client option throws, suggesting the right name', () => {
  throwsNaming(() => rsClient.io('http://127.0.0.1:1', { reconectionDelay: 10 }), /unknown option "reconectionDelay"/, /"reconnectionDelay"/)
  throwsNaming(() => new rsClient.Manager('http://127.0.0.1:1', { autoconnect: false }), /"autoconnect"/, /"autoConnect"/)
  const m = new rsClient.Manager('http://127.0.0.1:1', { autoConnect: false })
  throwsNaming(() => m.socket('/', { ackTimout: 10 }), /"ackTimout"/, /"ackTimeout"/)
})

test("the client's harmless and default values are accepted", async (t) => {
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  const c = await rsClientOf(url, {
    agent: false,
    rejectUnauthorized: true,
    withCredentials: false,
    forceBase64: false,
    requestTimeout: 0,
    transportOptions: {},
    perMessageDeflate: false,
    protocols: [],
    closeOnBeforeunload: true,
    useNativeTimers: true,
    parser: require('socket.io-parser'),
    'force new connection': true,
    timeout: false,
    multiplex: true,
  })
  assert.equal(c.connected, true)
  c.disconnect()
})

test('timestampParam names the cache-busting parameter', async (t) => {
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  const conn = next(io, 'connection')
  const c = await rsClientOf(url, { timestampParam: 'cachebust', timestampRequests: true, transports: ['polling'] })
  t.after(() => c.disconnect())
  const [socket] = await conn
  assert.ok('cachebust' in socket.handshake.query, JSON.stringify(socket.handshake.query))
  assert.ok(!('t' in socket.handshake.query))
})

test("transports given as engine.io-client's transport classes", async (t) => {
  const eio = require('engine.io-client')
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  const conn = next(io, 'connection')
  const c = await rsClientOf(url, { transports: [eio.WebSocket] })
  t.after(() => c.disconnect())
  const [socket] = await conn
  assert.equal(socket.conn.transport.name, 'websocket')
})

test('a Manager without a URL connects to hostname and port', async (t) => {
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  const port = new URL(url).port
  const m = new rsClient.Manager({ hostname: '127.0.0.1', port, reconnection: false })
  const s = m.socket('/')
  await next(s, 'connect')
  s.disconnect()
  const viaHost = rsClient.io({ host: `127.0.0.1:${port}`, port, forceNew: true, reconnection: false })
  await next(viaHost, 'connect')
  viaHost.disconnect()
})

test("a socket's own auth, retries and ackTimeout, as socket.io-client reads them", async (t) => {
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  const auths = []
  io.on('connection', (s) => auths.push(s.handshake.auth))
  io.of('/b').on('connection', (s) => auths.push(s.handshake.auth))
  // Manager-level `auth` is not a socket's (as in socket.io-client).
  const m = new rsClient.Manager(url, { reconnection: false, auth: { from: 'manager' } })
  const a = m.socket('/')
  const b = m.socket('/b', { auth: { from: 'socket' } })
  t.after(() => m.close())
  await Promise.all([next(a, 'connect'), next(b, 'connect')])
  assert.deepEqual(auths.map((x) => JSON.stringify(x)).sort(), ['{"from":"socket"}', '{}'])
})

test('autoUnref: a connected client does not keep Node running', async (t) => {
  const [io, url] = rsServer()
  t.after(() => closeAll(io))
  const clientPath = JSON.stringify(path.join(here, '..', 'client.js'))
  const run = (opts) =>
    new Promise((resolve) => {
      const script = `
        const { io } = require(${clientPath})
        const hold = setTimeout(() => {}, 10000)
        const c = io(${JSON.stringify(url)}, ${JSON.stringify(opts)})
        c.on('connect', () => { console.log('connected'); clearTimeout(hold) })
      `
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      // Still running 1.5 s after connecting: kept alive by the client.
      let killer = setTimeout(() => child.kill(), 20000)
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('connected')) {
          clearTimeout(killer)
          killer = setTimeout(() => child.kill(), 1500)
        }
      })
      child.on('exit', (code, signal) => {
        clearTimeout(killer)
        resolve({ out, exited: signal === null })
      })
    })
  const unref = await run({ autoUnref: true, reconnection: false })
  assert.deepEqual([unref.out.trim(), unref.exited], ['connected', true])
  const kept = await run({ reconnection: false })
  assert.deepEqual([kept.out.trim(), kept.exited], ['connected', false])
})

/**
 * A certificate authority made with openssl for test `t` (removed when it
 * ends), or null without openssl: `file(name)` is a path in its directory,
 * `issue(name, cn, ext)` writes `<name>.key` and `<name>.pem` signed by it,
 * `other()` makes another authority (`other.pem`).
 */
function testAuthority(t) {
  let dir
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-ca-'))
  } catch {
    return null
  }
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = (n) => path.join(dir, n)
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  ssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=socketio-rs test CA')
  const issue = (name, cn, ext) => {
    ssl('req', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`)
    fs.writeFileSync(file(`${name}.cnf`), ext)
    ssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '2', '-extfile', file(`${name}.cnf`))
  }
  const other = () => ssl('req', '-x509', ...ec, '-keyout', file('other.key'), '-out', file('other.pem'), '-days', '2', '-subj', '/CN=another CA')
  return { file, issue, other }
}

test('ca and rejectUnauthorized: the trust of an https server', async (t) => {
  const authority = testAuthority(t)
  if (!authority) return t.skip('openssl is not available')
  const f = authority.file
  authority.issue('leaf', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n')
  const srv = https.createServer({ key: fs.readFileSync(f('leaf.key')), cert: fs.readFileSync(f('leaf.pem')) })
  const io = new sio.Server(srv)
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(() => closeAll(io))
  const url = `https://127.0.0.1:${srv.address().port}`
  const ca = fs.readFileSync(f('ca.pem'))
  for (const form of [ca, ca.toString(), [ca.toString()]]) {
    const c = await rsClientOf(url, { ca: form })
    assert.equal(c.connected, true)
    c.disconnect()
  }
  // Without it the certificate is not trusted, unless unchecked.
  const untrusted = rsClient.io(url, { forceNew: true, reconnection: false })
  await next(untrusted, 'connect_error')
  untrusted.close()
  const unchecked = await rsClientOf(url, { rejectUnauthorized: false })
  assert.equal(unchecked.connected, true)
  unchecked.disconnect()
  // `ca` with another authority: refused.
  authority.other()
  const wrong = rsClient.io(url, { forceNew: true, reconnection: false, ca: fs.readFileSync(f('other.pem')) })
  await next(wrong, 'connect_error')
  wrong.close()
})

test('cert and key: a client certificate for an https server that asks for one', async (t) => {
  const authority = testAuthority(t)
  if (!authority) return t.skip('openssl is not available')
  const f = authority.file
  authority.issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n')
  authority.issue('client', 'a client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n')
  const ca = fs.readFileSync(f('ca.pem'))
  const srv = https.createServer({
    key: fs.readFileSync(f('server.key')),
    cert: fs.readFileSync(f('server.pem')),
    ca,
    requestCert: true,
    rejectUnauthorized: true,
  })
  const io = new sio.Server(srv)
  const peers = []
  io.on('connection', (s) => peers.push(s.conn.request.socket.getPeerCertificate().subject.CN))
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(() => closeAll(io))
  const url = `https://127.0.0.1:${srv.address().port}`
  for (const transports of [['polling'], ['websocket']]) {
    const c = await rsClientOf(url, { ca, transports, cert: fs.readFileSync(f('client.pem')), key: fs.readFileSync(f('client.key')).toString() })
    assert.equal(c.connected, true)
    c.disconnect()
  }
  assert.deepEqual(peers, ['a client', 'a client'])
  // Without the certificate the server refuses the connection.
  const without = rsClient.io(url, { forceNew: true, reconnection: false, ca })
  await next(without, 'connect_error')
  without.close()
})

test('a polluted Object.prototype adds no server option', async () => {
  // socket.io's suite sets Object.prototype.foo and goes on making servers.
  Object.prototype.foo = 'bar' // eslint-disable-line no-extend-native
  try {
    const io = new rs.Server({ pingInterval: 1000 })
    await within(io.close(), 8000, 'close')
  } finally {
    delete Object.prototype.foo
  }
})
