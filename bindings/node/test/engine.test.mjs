// The engine surface, side by side with npm socket.io where the two can be
// compared: `io.engine` (`clientsCount`, `generateId`, `use()` middlewares,
// the `connection`, `connection_error`, `headers` and `initial_headers`
// events), `socket.conn` (its transport, state and events) and
// `socket.request`.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { rsServer, npmServer, within, next, sleep, rs, sioClient } from './helpers.mjs'

const require = createRequire(import.meta.url)

/** The clients of each test, closed before its servers. */
const clients = new WeakMap()

/**
 * Closes a client and waits for its connection to be gone (an upgrade in
 * flight defers the close), so no server close waits for it.
 */
async function closeClient(c) {
  const engine = c.io.engine
  if (engine && engine.upgrading) {
    // A close waits for the upgrade anyway.
    await within(new Promise((resolve) => engine.once('upgrade', resolve).once('upgradeError', resolve)), 3000, 'the upgrade').catch(() => {})
  }
  const closed = engine && engine.readyState !== 'closed' ? new Promise((resolve) => engine.once('close', resolve)) : null
  c.close()
  if (closed) await within(closed, 3000, 'a client close').catch(() => {})
}

async function closeClients(t) {
  await Promise.all((clients.get(t) || []).map(closeClient))
}

/** Both servers with the same options: [[name, io, url], ...]. */
function both(t, opts) {
  const out = [
    ['ours', ...rsServer(opts)],
    ['npm', ...npmServer(opts)],
  ]
  t.after(async () => {
    await closeClients(t)
    // The servers see them go, so no close waits for a final poll.
    await until(() => out.every(([, io]) => io.engine.clientsCount === 0), 'the sessions to end', 3000).catch(() => {})
    for (const [, io] of out) await within(io.close(), 8000, 'close')
  })
  return out
}

/** A client of `url`, closed when the test ends. */
function client(t, url, opts = {}) {
  const c = sioClient.io(url, { forceNew: true, reconnection: false, ...opts })
  if (!clients.has(t)) {
    clients.set(t, [])
    // For tests without `both`.
    t.after(() => closeClients(t))
  }
  clients.get(t).push(c)
  return c
}

/** Ends a polling session opened by hand, so that no close waits for it. */
async function leave(url, sid) {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' })
  await res.text()
}

const IGNORED = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

function headersOf(res) {
  return Object.fromEntries([...res.headers].filter(([k]) => !IGNORED.has(k)))
}

/** Resolves once `cond()` holds (checked every 10 ms). */
async function until(cond, what, ms = 5000) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

test('connection_error: code, message, context and req as socket.io', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    const seen = []
    io.engine.on('connection_error', (e) => {
      seen.push({
        code: e.code,
        message: e.message,
        context: e.context,
        url: e.req.url,
        method: e.req.method,
        query: e.req._query,
        hasHeaders: typeof e.req.headers === 'object',
      })
    })
    const base = `${url}/socket.io/`
    await (await fetch(`${base}?EIO=4&transport=foo`)).text()
    await (await fetch(`${base}?EIO=4`)).text()
    await (await fetch(`${base}?EIO=4&transport=polling&sid=nope`)).text()
    await (await fetch(`${base}?EIO=4&transport=polling`, { method: 'POST', body: 'x' })).text()
    await (await fetch(`${base}?EIO=4&transport=websocket`)).text()
    await (await fetch(`${base}?EIO=3&transport=polling`)).text()
    const open = await (await fetch(`${base}?EIO=4&transport=polling`)).text()
    const sid = JSON.parse(open.slice(1)).sid
    await (await fetch(`${base}?EIO=4&transport=websocket&sid=${sid}`)).text()
    await until(() => seen.length === 7, `${name}'s connection errors`)
    await leave(url, sid)
    // Session ids differ from server to server.
    for (const e of seen) {
      e.url = e.url.replace(sid, 'SID')
      if (e.query.sid === sid) e.query.sid = 'SID'
    }
    results[name] = seen
  }
  assert.deepEqual(results.ours, results.npm)
  assert.deepEqual(
    results.ours.map((e) => [e.code, e.context.name || Object.keys(e.context)[0]]),
    [
      [0, 'transport'],
      [0, 'transport'],
      [1, 'sid'],
      [2, 'method'],
      [3, 'TRANSPORT_HANDSHAKE_ERROR'],
      [5, 'protocol'],
      [3, 'TRANSPORT_MISMATCH'],
    ],
  )
})

test('connection_error: allowRequest refusals carry its message', async (t) => {
  const results = {}
  const allowRequest = (req, fn) => fn(req._query.why || null, false)
  for (const [name, io, url] of both(t, { allowRequest })) {
    const seen = []
    io.engine.on('connection_error', (e) => seen.push([e.code, e.message, e.context]))
    const a = await fetch(`${url}/socket.io/?EIO=4&transport=polling&why=go+away`)
    const b = await fetch(`${url}/socket.io/?EIO=4&transport=polling`)
    seen.push([a.status, await a.json(), b.status, await b.json()])
    await until(() => seen.length === 3, `${name}'s refusals`)
    results[name] = seen
  }
  assert.deepEqual(results.ours, results.npm)
})

test('headers and initial_headers: the listeners edit the answers as with socket.io', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t, { cookie: true })) {
    const objects = []
    io.engine.on('initial_headers', (headers, req) => {
      headers['X-Initial'] = 'yes'
      headers['X-Query'] = req._query.transport
      headers['X-Many'] = ['a', 'b']
    })
    io.engine.on('headers', (headers, req) => {
      const copy = { ...headers }
      delete copy['Content-Length']
      objects.push([req._query.sid ? 'session' : 'handshake', copy])
      headers['X-Every'] = req._query.sid ? 'session' : 'handshake'
      delete headers['cache-control']
    })
    const base = `${url}/socket.io/`
    const hs = await fetch(`${base}?EIO=4&transport=polling`)
    const open = await hs.text()
    const sid = JSON.parse(open.slice(1)).sid
    const post = await fetch(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40' })
    await post.text()
    const poll = await fetch(`${base}?EIO=4&transport=polling&sid=${sid}`)
    await poll.text()
    await leave(url, sid)
    const strip = (h) => {
      if (h['set-cookie']) h['set-cookie'] = h['set-cookie'].replace(sid, 'SID')
      return h
    }
    results[name] = {
      handshake: strip(headersOf(hs)),
      post: headersOf(post),
      poll: headersOf(poll),
      objects: JSON.parse(JSON.stringify(objects).replaceAll(sid, 'SID')),
    }
  }
  assert.deepEqual(results.ours, results.npm)
  assert.equal(results.ours.handshake['x-initial'], 'yes')
  assert.equal(results.ours.poll['x-every'], 'session')
  assert.equal(results.ours.poll['cache-control'], undefined)
})

test('headers: a WebSocket handshake gets the listeners\' headers', async (t) => {
  const [io, url] = rsServer({ transports: ['websocket'] })
  t.after(() => within(io.close(), 8000, 'close'))
  const seen = []
  io.engine.on('initial_headers', (headers) => {
    seen.push(Object.keys(headers))
    headers['x-ws'] = 'hello'
  })
  const { WebSocket } = await import('ws')
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
  t.after(() => ws.terminate())
  const [res] = await next(ws, 'upgrade')
  assert.equal(res.headers['x-ws'], 'hello')
  assert.equal(res.headers.upgrade, 'websocket')
  // The handshake's own headers are not the application's to edit.
  assert.deepEqual(seen, [[]])
})

test('clientsCount follows the sessions as socket.io\'s does', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    const counts = [io.engine.clientsCount]
    const a = client(t, url)
    const b = client(t, url, { transports: ['websocket'] })
    await within(Promise.all([next(a, 'connect'), next(b, 'connect')]), 5000, 'connect')
    counts.push(io.engine.clientsCount)
    const ws = [...io.sockets.sockets.values()].find((s) => s.handshake.query.transport === 'websocket')
    const gone = new Promise((resolve) => ws.conn.once('close', resolve))
    b.close()
    await within(gone, 5000, 'close')
    counts.push(io.engine.clientsCount)
    results[name] = counts
  }
  assert.deepEqual(results.ours, [0, 2, 1])
  assert.deepEqual(results.ours, results.npm)
})

test('generateId names the sessions, sync or async', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    let n = 0
    io.engine.generateId = (req) => (req._query.async ? Promise.resolve(`async-${++n}`) : `id-${++n}.x~y_z`)
    const ids = []
    const sync = client(t, url)
    const [s1] = await within(new Promise((resolve) => io.once('connection', (s) => resolve([s]))), 5000, 'connection')
    ids.push(s1.conn.id, sync.io.engine.id)
    const async = client(t, url, { query: { async: 1 }, transports: ['websocket'] })
    const [s2] = await within(new Promise((resolve) => io.once('connection', (s) => resolve([s]))), 5000, 'connection')
    ids.push(s2.conn.id, async.io.engine.id)
    results[name] = ids
  }
  assert.deepEqual(results.ours, ['id-1.x~y_z', 'id-1.x~y_z', 'async-2', 'async-2'])
  assert.deepEqual(results.ours, results.npm)
})

test('generateId: unusable ids refuse the handshake clearly', async (t) => {
  const [io, url] = rsServer()
  t.after(() => within(io.close(), 8000, 'close'))
  const errors = []
  io.engine.on('connection_error', (e) => errors.push(e))
  const gen = {
    empty: () => '',
    spaces: () => 'a b',
    number: () => 42,
    throws: () => {
      throw new Error('no id today')
    },
    rejects: () => Promise.reject(new Error('later, no id')),
    taken: () => 'taken',
  }
  const random = io.engine.generateId
  io.engine.generateId = () => 'taken'
  const first = await fetch(`${url}/socket.io/?EIO=4&transport=polling`)
  assert.equal(JSON.parse((await first.text()).slice(1)).sid, 'taken')
  for (const [what, fn] of Object.entries(gen)) {
    io.engine.generateId = fn
    const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`)
    assert.equal(res.status, 400, what)
    assert.deepEqual(await res.json(), { code: 3, message: 'Bad request' })
  }
  await until(() => errors.length === 6, 'the refusals')
  const reasons = errors.map((e) => [e.code, e.context.name, e.context.error.message])
  assert.deepEqual(
    reasons.map(([code, n]) => [code, n]),
    Array(6).fill([3, 'ID_GENERATION_ERROR']),
  )
  assert.match(reasons[0][2], /empty/)
  assert.match(reasons[1][2], /' '/)
  assert.match(reasons[2][2], /not a string/)
  assert.match(reasons[3][2], /no id today/)
  assert.match(reasons[4][2], /later, no id/)
  assert.match(reasons[5][2], /already in use/)
  await leave(url, 'taken')
  // Back to the default: random 20-character ids.
  io.engine.generateId = random
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`)
  const sid = JSON.parse((await res.text()).slice(1)).sid
  assert.match(sid, /^[\w-]{20}$/)
  await leave(url, sid)
})

/**
 * A tiny session middleware: a `sid` cookie naming a session kept in
 * memory; a new session sets the cookie on the answer.
 */
function sessionMiddleware() {
  const store = new Map()
  let n = 0
  const mw = (req, res, next) => {
    const m = /(?:^|;\s*)sid=(\w+)/.exec(req.headers.cookie || '')
    let id = m && store.has(m[1]) ? m[1] : null
    if (!id) {
      id = `s${++n}`
      store.set(id, { views: 0 })
      res.setHeader('Set-Cookie', `sid=${id}; Path=/; HttpOnly`)
    }
    req.sessionID = id
    req.session = store.get(id)
    req.session.views++
    next()
  }
  mw.store = store
  return mw
}

test('io.engine.use: the express-session recipe, socket.request.session', async (t) => {
  const results = {}
  for (const transports of [['polling', 'websocket'], ['websocket']]) {
    for (const [name, io, url] of both(t)) {
      const mw = sessionMiddleware()
      io.engine.use(mw)
      const got = new Promise((resolve) =>
        io.on('connection', (socket) => {
          resolve({
            session: socket.request.session === mw.store.get('known'),
            id: socket.request.sessionID,
            same: socket.request === socket.conn.request && socket.client.request === socket.request,
            transport: socket.request._query.transport,
          })
        }),
      )
      // A returning browser: its cookie names a session the store knows.
      mw.store.set('known', { views: 10 })
      const c = client(t, url, { transports, extraHeaders: { cookie: 'a=1; sid=known' } })
      const seen = await within(got, 5000, `${name}'s connection`)
      // A new visitor gets the cookie with the handshake.
      const hs = await fetch(`${url}/socket.io/?EIO=4&transport=polling`)
      await leave(url, JSON.parse((await hs.text()).slice(1)).sid)
      seen.cookie = hs.headers.get('set-cookie')
      seen.views = mw.store.get('known').views > 10
      c.close()
      results[`${name} ${transports}`] = seen
    }
    assert.deepEqual(results[`ours ${transports}`], results[`npm ${transports}`])
  }
  assert.equal(results['ours polling,websocket'].session, true)
  assert.equal(results['ours polling,websocket'].views, true)
  assert.equal(results['ours websocket'].id, 'known')
  assert.match(results['ours websocket'].cookie, /^sid=s\d+; Path=\/; HttpOnly$/)
})

test('allowRequest, generateId and the session see the request the middlewares saw', async (t) => {
  const results = {}
  const allowRequest = (req, fn) => fn(null, req.user === 'u1')
  for (const [name, io, url] of both(t, { allowRequest })) {
    io.engine.use((req, res, next) => {
      req.user = 'u1'
      next()
    })
    io.engine.generateId = (req) => `${req.user}-${req._query.n}`
    const got = new Promise((resolve) => io.on('connection', (s) => resolve([s.conn.id, s.request.user])))
    client(t, url, { query: { n: 7 } })
    results[name] = await within(got, 5000, `${name}'s connection`)
  }
  assert.deepEqual(results.ours, ['u1-7', 'u1'])
  assert.deepEqual(results.ours, results.npm)
})

test('io.engine.use: failures and answers of their own, as socket.io', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    const order = []
    io.engine.use((req, res, next) => {
      order.push(`a ${req.method} ${req._query.sid ? 'session' : 'handshake'}`)
      next()
    })
    io.engine.use(async (req, res, next) => {
      await sleep(1)
      if (req._query.deny) return next(new Error('denied'))
      if (req._query.teapot) {
        res.writeHead(418, { 'x-tea': 'earl grey' })
        return res.end('short and stout')
      }
      next()
    })
    const errors = []
    io.engine.on('connection_error', (e) => errors.push([e.code, e.message, e.context]))
    const deny = await fetch(`${url}/socket.io/?EIO=4&transport=polling&deny=1`)
    const tea = await fetch(`${url}/socket.io/?EIO=4&transport=polling&teapot=1`)
    // Before the engine's own checks.
    const bad = await fetch(`${url}/socket.io/?EIO=4&transport=nope&deny=1`)
    results[name] = {
      deny: [deny.status, await deny.json()],
      tea: [tea.status, tea.headers.get('x-tea'), await tea.text()],
      bad: [bad.status, await bad.json()],
      errors,
      order,
    }
  }
  assert.deepEqual(results.ours, results.npm)
  assert.deepEqual(results.ours.deny, [400, { code: 3, message: 'Bad request' }])
  assert.equal(results.ours.errors[0][2].name, 'MIDDLEWARE_FAILURE')
})

test('io.engine.use runs on every request of a session, polls and upgrade included', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    const seen = []
    io.engine.use((req, res, next) => {
      seen.push(`${req.method} ${req._query.transport} ${req._query.sid ? 'session' : 'handshake'}`)
      next()
    })
    const c = client(t, url)
    await within(next(c, 'connect'), 5000, 'connect')
    await until(() => c.io.engine.transport.name === 'websocket', 'the upgrade')
    c.close()
    results[name] = [...new Set(seen)].sort()
  }
  assert.deepEqual(results.ours, results.npm)
  assert.deepEqual(results.ours, [
    'GET polling handshake',
    'GET polling session',
    'GET websocket session',
    'POST polling session',
  ])
})

test('socket.conn: id, transport, readyState, upgrade and close as socket.io', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    const log = []
    io.engine.on('connection', (conn) => log.push(['engine connection', conn.transport.name, conn.readyState]))
    const done = new Promise((resolve) => {
      io.on('connection', (socket) => {
        const conn = socket.conn
        log.push(['connection', conn.id === socket.client.conn.id, conn.transport.name, conn.readyState, conn.protocol])
        conn.on('upgrade', (transport) => {
          log.push(['upgrade', transport.name, conn.transport.name, conn.upgraded])
          socket.disconnect(true)
        })
        conn.on('close', (reason) => {
          log.push(['close', reason, conn.readyState])
          resolve()
        })
      })
    })
    client(t, url)
    await within(done, 5000, `${name}'s session`)
    results[name] = log
  }
  assert.deepEqual(results.ours, [
    ['engine connection', 'polling', 'open'],
    ['connection', true, 'polling', 'open', 4],
    ['upgrade', 'websocket', 'websocket', true],
    ['close', 'forced close', 'closed'],
  ])
  assert.deepEqual(results.ours, results.npm)
})

test('socket.conn: packets from the client, raw sends, close by the client', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t, { transports: ['websocket'] })) {
    const log = []
    const done = new Promise((resolve) => {
      io.on('connection', (socket) => {
        socket.conn.on('packet', (p) => {
          if (p.type === 'message') log.push(['packet', p.type, p.data])
        })
        socket.conn.on('close', (reason) => {
          log.push(['close', reason])
          resolve()
        })
        // A raw Engine.IO message: here, a Socket.IO event.
        socket.on('hello', () => socket.conn.send('2["raw",1]'))
      })
    })
    const c = client(t, url, { transports: ['websocket'] })
    c.on('raw', (n) => {
      log.push(['raw', n])
      c.close()
    })
    await within(next(c, 'connect'), 5000, 'connect')
    c.emit('hello', 1)
    await within(done, 5000, `${name}'s session`)
    results[name] = log
  }
  assert.deepEqual(results.ours, results.npm)
  assert.deepEqual(results.ours.at(-1), ['close', 'transport close'])
})

test('socket.conn: packetCreate for what the server writes, with its compress option', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t, { transports: ['websocket'] })) {
    const log = []
    io.on('connection', (socket) => {
      socket.conn.on('packetCreate', (p) => {
        if (p.type === 'message') log.push([p.data, p.options.compress])
      })
      socket.emit('a', 1)
      socket.compress(false).emit('b', 2)
      socket.compress(true).emit('c', 3)
    })
    const c = client(t, url, { transports: ['websocket'] })
    await within(next(c, 'c'), 5000, `${name}: c`)
    c.close()
    results[name] = log
  }
  assert.deepEqual(results.ours, [
    ['2["a",1]', true],
    ['2["b",2]', false],
    ['2["c",3]', true],
  ])
  assert.deepEqual(results.ours, results.npm)
})

test('socket.request: an IncomingMessage stand-in of the handshake', async (t) => {
  const results = {}
  for (const [name, io, url] of both(t)) {
    const got = new Promise((resolve) =>
      io.on('connection', (socket) => {
        const r = socket.request
        resolve({
          method: r.method,
          url: r.url.replace(/&t=[^&]+/, ''),
          httpVersion: r.httpVersion,
          xToken: r.headers['x-token'],
          host: typeof r.headers.host,
          remoteAddress: r.socket.remoteAddress.replace(/^::ffff:/, ''),
          connection: r.connection.remoteAddress === r.socket.remoteAddress,
          query: r._query.k,
          same: r === socket.request,
        })
      }),
    )
    client(t, url, { extraHeaders: { 'x-token': 'abc' }, query: { k: 'v' } })
    results[name] = await within(got, 5000, 'connection')
  }
  assert.deepEqual(results.ours, results.npm)
  assert.equal(results.ours.method, 'GET')
  assert.equal(results.ours.xToken, 'abc')
})

test('an engine connection listener runs before the namespace\'s, and may drop the request', async (t) => {
  for (const [name, io, url] of both(t)) {
    const order = []
    io.engine.on('connection', (conn) => {
      order.push('engine')
      delete conn.request
    })
    const got = new Promise((resolve) =>
      io.on('connection', (socket) => {
        order.push('socket')
        resolve(socket.handshake)
      }),
    )
    client(t, url)
    const hs = await within(got, 5000, 'connection')
    assert.deepEqual(order, ['engine', 'socket'], name)
    assert.deepEqual([hs.secure, hs.headers, hs.query], [true, {}, {}], name)
  }
})

test('io.eio is io.engine; engine.opts has the options', () => {
  const io = new rs.Server({ pingTimeout: 6000 })
  assert.equal(io.eio, io.engine)
  assert.equal(io.engine.opts.pingTimeout, 6000)
  assert.equal(io.engine.opts.pingInterval, 25000)
  assert.equal(io.engine.clientsCount, 0)
  assert.equal(typeof io.engine.generateId(), 'string')
  assert.throws(() => io.engine.use('nope'), TypeError)
  assert.throws(() => (io.engine.generateId = 42), TypeError)
  // engine.io's error tables.
  const eio = require('engine.io')
  assert.deepEqual(io.engine.constructor.errors, eio.Server.errors)
  assert.deepEqual(io.engine.constructor.errorMessages, eio.Server.errorMessages)
  return io.close()
})
