'use strict'

// `io.engine`: engine.io's `Server` as socket.io exposes it, over the Rust
// engine. Its sessions (`EngineSocket`, also `socket.conn`), its events
// (`connection`, `connection_error`, `headers`, `initial_headers`), its
// `generateId` and its `use()` middlewares. The native side asks and tells
// only what someone listens to (`engineWatch`).

const { EventEmitter } = require('node:events')
const crypto = require('node:crypto')
const { emitGuarded, report } = require('./util')
// The bits of the mask the native side is told (`engineWatch`).
const { EngineWatch: W } = require('../native')

/** engine.io's `Server.errorMessages`. */
const ERROR_MESSAGES = Object.freeze({
  0: 'Transport unknown',
  1: 'Session ID unknown',
  2: 'Bad handshake method',
  3: 'Bad request',
  4: 'Forbidden',
  5: 'Unsupported protocol version',
})

/** engine.io's `Server.errors`. */
const ERRORS = Object.freeze({
  UNKNOWN_TRANSPORT: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
})

/** Events of a session that need its packets. */
const PACKET_EVENTS = new Set(['packet', 'data', 'message', 'heartbeat'])

/** How long a middleware's handshake request waits for its session. */
const PENDING_MS = 60000

/**
 * The request of an engine hook as an `http.IncomingMessage` stand-in:
 * `method`, `url`, `headers`, `rawHeaders`, `httpVersion`, `socket` and
 * `connection` (`remoteAddress`), and engine.io's `_query`.
 */
class EngineRequest extends EventEmitter {
  constructor(info) {
    super()
    const url = info.url || '/'
    const q = url.indexOf('?')
    const socket = { remoteAddress: info.remoteAddress || undefined, encrypted: false }
    const [major, minor] = String(info.httpVersion || '1.1').split('.')
    this.method = info.method
    this.url = url
    this.originalUrl = url
    this.headers = info.headers || {}
    this.rawHeaders = Object.entries(this.headers).flat()
    this.httpVersion = info.httpVersion
    this.httpVersionMajor = Number(major)
    this.httpVersionMinor = Number(minor || 0)
    this.socket = socket
    this.connection = socket
    this.complete = true
    this._query = Object.fromEntries(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)))
  }
}

/**
 * The `res` of a middleware: an `http.ServerResponse` stand-in. Headers
 * set on it go out with the engine's answer; a middleware that ends it
 * answers the request itself.
 */
class EngineResponse extends EventEmitter {
  constructor(req) {
    super()
    this.req = req
    this.statusCode = 200
    this.statusMessage = ''
    this.headersSent = false
    this.writableEnded = false
    this.finished = false
    this._headers = new Map()
    this._chunks = []
    this._onEnd = null
  }

  setHeader(name, value) {
    this._headers.set(String(name).toLowerCase(), [String(name), value])
    return this
  }

  appendHeader(name, value) {
    const prev = this.getHeader(name)
    if (prev === undefined) return this.setHeader(name, value)
    return this.setHeader(name, [].concat(prev, value))
  }

  getHeader(name) {
    const e = this._headers.get(String(name).toLowerCase())
    return e && e[1]
  }

  getHeaders() {
    const out = Object.create(null)
    for (const [k, [, v]] of this._headers) out[k] = v
    return out
  }

  getHeaderNames() {
    return [...this._headers.keys()]
  }

  hasHeader(name) {
    return this._headers.has(String(name).toLowerCase())
  }

  removeHeader(name) {
    this._headers.delete(String(name).toLowerCase())
  }

  writeHead(status, message, headers) {
    if (typeof message !== 'string') headers = message
    else this.statusMessage = message
    if (typeof status === 'number') this.statusCode = status
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(headers[i], headers[i + 1])
    } else if (headers) {
      for (const [k, v] of Object.entries(headers)) this.setHeader(k, v)
    }
    this.headersSent = true
    return this
  }

  write(chunk, encoding) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      this._chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8'))
    }
    return true
  }

  end(chunk, encoding, cb) {
    if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined]
    else if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined]
    if (this.writableEnded) return this
    this.write(chunk, encoding)
    if (!this.headersSent) this.writeHead(this.statusCode)
    this.writableEnded = true
    this.finished = true
    const onEnd = this._onEnd
    this._onEnd = null
    if (onEnd) onEnd()
    this.emit('finish')
    if (typeof cb === 'function') process.nextTick(cb)
    return this
  }

  /** The headers as `[[name, value]...]`. */
  _list() {
    return [...this._headers.values()]
  }
}

/** engine.io's `runMiddleware`: one middleware as a promise. */
function runMiddleware(middleware, req, res) {
  return new Promise((resolve, reject) => {
    let settled = false
    const next = (err) => {
      if (settled) return
      settled = true
      if (err) reject(err)
      else resolve()
    }
    try {
      Promise.resolve(middleware(req, res, next)).catch(next)
    } catch (e) {
      next(e)
    }
  })
}

/** A transport as a session shows it (`conn.transport`). */
class Transport {
  constructor(name) {
    this.name = name
    this.writable = true
  }

  get supportsFraming() {
    return this.name === 'websocket'
  }
}

const TRANSPORTS = { polling: new Transport('polling'), websocket: new Transport('websocket') }

/** An Engine.IO session: engine.io's `Socket` (`socket.conn`). */
class EngineSocket extends EventEmitter {
  constructor(engine, handle, request) {
    super()
    this._h = handle
    this._closed = false
    this.id = handle.id
    this.server = engine
    // As engine.io reads it: anything but EIO=4 is a v2 client's protocol 3.
    this.protocol = request._query.EIO === '4' ? 4 : 3
    this.request = request
    this.remoteAddress = request.socket.remoteAddress
    this.upgrading = false
    this._initial = request._query.transport
    this.on('newListener', (event) => engine._listenFor(event))
  }

  /** The transport carrying the session now. */
  get transport() {
    const name = this._closed ? this._lastTransport : this._h.transport
    return TRANSPORTS[name] || new Transport(name)
  }

  get readyState() {
    if (this._closed) return 'closed'
    return this._h.closed ? 'closing' : 'open'
  }

  get upgraded() {
    return this._initial === 'polling' && this.transport.name === 'websocket'
  }

  getAvailableUpgrades() {
    return this.transport.name === 'polling' ? this.server._upgrades() : []
  }

  /** Sends a raw Engine.IO message (a string or binary). */
  send(data, options, callback) {
    if (typeof options === 'function') callback = options
    if (typeof data === 'string') this._h.sendText(data)
    else if (Buffer.isBuffer(data)) this._h.sendBinary(data)
    else if (data instanceof ArrayBuffer) this._h.sendBinary(Buffer.from(data))
    else if (ArrayBuffer.isView(data)) this._h.sendBinary(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    else this._h.sendText(String(data))
    if (typeof callback === 'function') process.nextTick(callback)
    return this
  }

  write(data, options, callback) {
    return this.send(data, options, callback)
  }

  /** Closes the session ("forced close"). */
  close() {
    this._h.close()
    return this
  }

  _onUpgrade() {
    const t = this.transport
    emitGuarded(this, 'upgrading', [t])
    emitGuarded(this, 'upgrade', [t])
  }

  _onPacketCreate(type, data, compress) {
    const packet = data === null || data === undefined ? { type } : { type, data }
    packet.options = { compress }
    emitGuarded(this, 'packetCreate', [packet])
  }

  _onPacket(type, data) {
    const packet = data === null || data === undefined ? { type } : { type, data }
    emitGuarded(this, 'packet', [packet])
    if (type === 'message') {
      emitGuarded(this, 'data', [data])
      emitGuarded(this, 'message', [data])
    } else if (type === 'pong') {
      emitGuarded(this, 'heartbeat', [])
    }
  }

  _onClose(reason) {
    if (this._closed) return
    this._lastTransport = this._h.transport
    this._closed = true
    emitGuarded(this, 'close', [reason])
  }
}

/** socket.io's `io.engine`: engine.io's `Server`. */
class Engine extends EventEmitter {
  constructor(server, native, opts) {
    super()
    this._server = server
    this._native = native
    this._opts = opts
    this._conns = new Map()
    this._pending = new Map()
    this._sticky = 0
    this._mask = 0
    this._generateId = null
    this.middlewares = []
    // Each listener added or removed may change what the native side is
    // asked for; `newListener` comes before the listener is in place.
    this.on('newListener', (event) => this._sync(event))
    this.on('removeListener', () => this._sync())
  }

  /** The options, with engine.io's defaults. */
  get opts() {
    const o = this._opts
    return {
      pingTimeout: 20000,
      pingInterval: 25000,
      upgradeTimeout: 10000,
      maxHttpBufferSize: 1e6,
      transports: ['polling', 'websocket'],
      allowUpgrades: true,
      httpCompression: { threshold: 1024 },
      perMessageDeflate: false,
      cors: false,
      allowEIO3: false,
      ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    }
  }

  /** Open sessions. */
  get clientsCount() {
    return this._native.clientsCount()
  }

  /** The open sessions by id. */
  get clients() {
    const out = {}
    for (const h of this._native.conns()) out[h.id] = this._socketFor(h)
    return out
  }

  /**
   * The id of a new session, from its handshake request; a function
   * returning a string or a promise of one. Ids are 1 to 128 characters
   * among `A-Z a-z 0-9 - _ . ~` and unique: anything else refuses the
   * handshake (400, `connection_error` with `ID_GENERATION_ERROR`).
   */
  get generateId() {
    return this._generateId || defaultGenerateId
  }

  set generateId(fn) {
    if (typeof fn !== 'function') throw new TypeError('socketio-rs: io.engine.generateId must be a function')
    this._generateId = fn === defaultGenerateId ? null : fn
    this._sync()
  }

  /** Adds a middleware `(req, res, next)`, run on every request of the engine. */
  use(fn) {
    if (typeof fn !== 'function') throw new TypeError('socketio-rs: io.engine.use() takes a function (req, res, next)')
    this.middlewares.push(fn)
    this._sync()
    return this
  }

  /** Closes every session. */
  close() {
    for (const h of this._native.conns()) h.close()
    return this
  }

  _upgrades() {
    const o = this.opts
    return o.allowUpgrades && o.transports.includes('websocket') ? ['websocket'] : []
  }

  /** Tells the native side what is listened to now (plus `adding`). */
  _sync(adding) {
    const has = (e) => adding === e || this.listenerCount(e) > 0
    const mw = this.middlewares.length > 0
    let mask = this._sticky
    if (has('connection') || mw) mask |= W.Connection
    if (has('connection_error') || mw) mask |= W.ConnectionError
    if (has('headers') || has('initial_headers')) mask |= W.Headers
    if (this._generateId) mask |= W.GenerateId
    if (mw) mask |= W.Middleware
    if (mask !== this._mask) {
      this._mask = mask
      this._native.engineWatch(mask)
    }
  }

  /** A session got a listener for `event`. */
  _listenFor(event) {
    if (event === 'upgrade' || event === 'upgrading') this._stick(W.Upgrade)
    else if (PACKET_EVENTS.has(event)) this._stick(W.Packet)
    else if (event === 'packetCreate') this._stick(W.PacketCreate)
  }

  _stick(bit) {
    if (this._sticky & bit) return
    this._sticky |= bit
    this._sync()
  }

  /** The JS object of a native session, made on first sight. */
  _socketFor(h) {
    const id = h.id
    let s = this._conns.get(id)
    if (s) return s
    // Closes are told from now on, before the session's state is read:
    // a session seen open here is forgotten on its close.
    this._stick(W.Close)
    s = new EngineSocket(this, h, this._takeRequest(JSON.parse(h.request())))
    if (!h.closed) this._conns.set(id, s)
    else s._onClose(h.reason || 'transport close')
    return s
  }

  /** The session `id`, if open. */
  _conn(id) {
    const s = this._conns.get(id)
    if (s) return s
    const h = this._native.conn(id)
    return h ? this._socketFor(h) : null
  }

  /** The session of a socket.io socket; a closed stand-in once it is gone. */
  _connOf(socket) {
    const id = socket._h.connId
    const open = this._conn(id)
    if (open) return open
    const hs = socket.handshake
    const info = { method: 'GET', url: hs.url, headers: hs.headers, httpVersion: '1.1', remoteAddress: hs.address }
    const transport = socket._h.transport
    const gone = {
      id,
      transport,
      closed: true,
      reason: null,
      request: () => JSON.stringify(info),
      close() {},
      sendText: () => false,
      sendBinary: () => false,
    }
    const s = new EngineSocket(this, gone, new EngineRequest(info))
    s._lastTransport = transport
    s._closed = true
    return s
  }

  /** The request a middleware saw (kept under its tag), or a new one. */
  _requestFor(info) {
    const kept = info.tag != null ? this._pending.get(info.tag) : undefined
    return kept ? kept.req : new EngineRequest(info)
  }

  _takeRequest(info) {
    const req = this._requestFor(info)
    if (info.tag != null) this._pending.delete(info.tag)
    return req
  }

  _keep(tag, req) {
    const now = Date.now()
    // Handshakes that never became sessions (a client gone meanwhile).
    for (const [t, e] of this._pending) {
      if (now - e.time < PENDING_MS) break
      this._pending.delete(t)
    }
    this._pending.set(tag, { req, time: now })
  }

  // --- native events ---------------------------------------------------

  _onConnection(h) {
    const s = this._socketFor(h)
    emitGuarded(this, 'connection', [s])
  }

  _onUpgrade(id) {
    const s = this._conns.get(id)
    if (s) s._onUpgrade()
  }

  _onPacket(id, [type, data]) {
    const s = this._conns.get(id)
    if (s) s._onPacket(type, data)
  }

  _onPacketCreate(id, [type, data, compress]) {
    const s = this._conns.get(id)
    if (s) s._onPacketCreate(type, data, compress)
  }

  _onClose(id, [reason]) {
    const s = this._conns.get(id)
    if (!s) return
    this._conns.delete(id)
    s._onClose(reason)
  }

  /** engine.io's `connection_error` event: `{req, code, message, context}`. */
  _onConnectionError([code, message, context, info]) {
    const req = this._takeRequest(info)
    if (this.listenerCount('connection_error') === 0) return
    let ctx = { ...context }
    if (code === ERRORS.UNKNOWN_TRANSPORT && ctx.transport === '') ctx.transport = undefined
    if (code === ERRORS.UNSUPPORTED_PROTOCOL_VERSION) ctx = { protocol: 3 }
    if (code === ERRORS.FORBIDDEN) {
      // allowRequest's error (null when it gave none) is the context's.
      ctx = { message: message === ERROR_MESSAGES[4] ? null : message }
    }
    if (ctx.name === 'ID_GENERATION_ERROR') ctx.error = new Error(ctx.error)
    emitGuarded(this, 'connection_error', [{ req, code, message: ERROR_MESSAGES[code] || message, context: ctx }])
  }

  /** `headers` and `initial_headers`, on a plain object of the answer's headers. */
  _onHeaders([initial, headers, info], reply) {
    const req = this._requestFor(info)
    if (initial) emitGuarded(this, 'initial_headers', [headers, req])
    emitGuarded(this, 'headers', [headers, req])
    let json
    try {
      json = JSON.stringify(headers)
    } catch (err) {
      report(err)
    }
    reply.answerWith(json === undefined ? 0 : 1, json === undefined ? null : json)
  }

  _onGenerateId([info], reply) {
    const req = this._requestFor(info)
    new Promise((resolve) => resolve(this.generateId(req))).then(
      (id) => {
        if (typeof id === 'string') reply.answerWith(1, id)
        else reply.answerWith(0, `generateId gave ${id === null ? 'null' : typeof id}, not a string`)
      },
      (err) => reply.answerWith(0, String(err && err.message !== undefined ? err.message : err)),
    )
  }

  /** Runs the middlewares on one request, in order, as engine.io does. */
  _onMiddleware([info], reply) {
    const req = new EngineRequest(info)
    const res = new EngineResponse(req)
    const upgrade = String(req.headers.upgrade || '').toLowerCase() === 'websocket'
    if (info.tag != null) this._keep(info.tag, req)
    let answered = false
    const answer = (code, message) => {
      if (answered) return
      answered = true
      if (code !== 1 && info.tag != null) this._pending.delete(info.tag)
      reply.answerWith(code, message)
    }
    // A middleware that ends the response answers the request.
    res._onEnd = () =>
      answer(
        2,
        JSON.stringify({
          status: res.statusCode,
          headers: res._list(),
          body: Buffer.concat(res._chunks).toString('hex'),
        }),
      )
    let chain = Promise.resolve()
    for (const mw of this.middlewares.slice()) chain = chain.then(() => (answered ? undefined : runMiddleware(mw, req, res)))
    chain.then(
      () => {
        if (answered) return
        res._onEnd = null
        // As when the engine writes its answer: what waits for the head
        // (express-session's cookie) runs now...
        try {
          if (!res.headersSent) res.writeHead(res.statusCode)
        } catch (err) {
          report(err)
        }
        answer(1, JSON.stringify(res._list()))
        // ...and the end, which saves a new session; engine.io never ends
        // an upgrade's response (it would destroy the socket).
        if (!upgrade) {
          try {
            res.end()
          } catch (err) {
            report(err)
          }
        }
      },
      (err) => answer(0, String(err && err.message !== undefined ? err.message : err)),
    )
  }
}

/** engine.io's default `generateId`: 15 random bytes, base64url (base64id). */
function defaultGenerateId() {
  return crypto.randomBytes(15).toString('base64url')
}

Engine.errors = ERRORS
Engine.errorMessages = ERROR_MESSAGES

module.exports = { Engine, EngineSocket, EngineRequest, EngineResponse, Transport }
