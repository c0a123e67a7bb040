'use strict'

const { EventEmitter } = require('node:events')
const { NativeClient } = require('../native')
const K = require('./kinds')
const { encode, decode } = require('./payload')
const { guard, emitGuarded, emitLocal, report, Callbacks, ms } = require('./util')
const { clientOptions, urlFromOptions } = require('./options')

/** Events a client socket cannot emit (socket.io-client's list). */
const RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
])

/** Managers shared by `io()` calls for the same server, as socket.io-client. */
const cache = Object.create(null)

/** The CONNECT payload: an object, or a function answering through a callback. */
function authValue(auth) {
  if (typeof auth !== 'function') return auth
  let value
  // Only a synchronous answer can be used: the payload is fixed at connect.
  auth((v) => {
    value = v
  })
  return value
}

function queryObject(q) {
  if (!q) return undefined
  const entries = typeof q === 'string' ? new URLSearchParams(q).entries() : Object.entries(q)
  const out = {}
  for (const [k, v] of entries) out[k] = String(v)
  return out
}

/**
 * The native client's options: the manager's (checked when it was made)
 * and, from the socket's own options, `auth`, `retries` and `ackTimeout`,
 * as socket.io-client's `Socket` reads them.
 */
function nativeOptions(managerOpts, socketOpts, auth, nsp, forceNew) {
  // Read now: the manager's setters (`reconnectionDelay(v)`...) may have
  // changed them.
  const native = clientOptions(managerOpts)
  const payload = authValue(auth)
  const headers = {}
  for (const [k, v] of Object.entries(managerOpts.extraHeaders || {})) headers[k] = String(v)
  const retries = socketOpts.retries
  return {
    ...native,
    namespace: nsp,
    auth: payload === undefined ? undefined : JSON.stringify(payload),
    query: queryObject(managerOpts.query),
    extraHeaders: headers,
    ackTimeout: ms(socketOpts.ackTimeout),
    retries: typeof retries === 'number' && retries >= 0 ? Math.floor(retries) : undefined,
    forceNew,
  }
}

/**
 * socket.io-client's `Manager`: the options and the reconnection events
 * of a connection; `socket(nsp)` gives its sockets.
 */
class Manager extends EventEmitter {
  constructor(uri, opts) {
    super()
    if (uri && typeof uri === 'object') {
      opts = uri
      uri = undefined
    }
    opts = opts || {}
    // Every option is checked before anything is made.
    clientOptions(opts)
    this.uri = uri || urlFromOptions(opts)
    this.opts = { path: '/socket.io', ...opts }
    this.nsps = Object.create(null)
    this._shared = false
  }

  /** The socket of namespace `nsp`, created on first use. */
  socket(nsp, opts) {
    if (opts) clientOptions(opts)
    let s = this.nsps[nsp]
    if (!s) {
      s = new Socket(this, nsp, opts || {})
      this.nsps[nsp] = s
    } else if (this.opts.autoConnect !== false && !s.active) {
      s.connect()
    }
    return s
  }

  _opt(name, v) {
    if (v === undefined) return this.opts[name]
    this.opts[name] = v
    return this
  }

  reconnection(v) {
    return v === undefined ? this.opts.reconnection !== false : this._opt('reconnection', !!v)
  }

  reconnectionAttempts(v) {
    return v === undefined ? (this.opts.reconnectionAttempts ?? Infinity) : this._opt('reconnectionAttempts', v)
  }

  reconnectionDelay(v) {
    return v === undefined ? (this.opts.reconnectionDelay ?? 1000) : this._opt('reconnectionDelay', v)
  }

  reconnectionDelayMax(v) {
    return v === undefined ? (this.opts.reconnectionDelayMax ?? 5000) : this._opt('reconnectionDelayMax', v)
  }

  randomizationFactor(v) {
    return v === undefined ? (this.opts.randomizationFactor ?? 0.5) : this._opt('randomizationFactor', v)
  }

  timeout(v) {
    return v === undefined ? (this.opts.timeout ?? 20000) : this._opt('timeout', v)
  }

  /** Connects every socket of this manager. */
  open(fn) {
    const sockets = Object.values(this.nsps)
    for (const s of sockets) s.connect()
    if (fn) {
      const first = sockets[0]
      if (!first) process.nextTick(fn)
      else {
        const ok = () => {
          first.off('connect_error', ko)
          fn()
        }
        const ko = (err) => {
          first.off('connect', ok)
          fn(err)
        }
        first.once('connect', ok)
        first.once('connect_error', ko)
      }
    }
    return this
  }

  connect(fn) {
    return this.open(fn)
  }

  /** Disconnects every socket of this manager. */
  close() {
    for (const s of Object.values(this.nsps)) s.disconnect()
    return this
  }

  disconnect() {
    return this.close()
  }

  /** The socket whose native client reports this manager's events. */
  _reporter() {
    return Object.values(this.nsps)[0]
  }
}

/** socket.io-client's `Socket`. */
class Socket extends EventEmitter {
  constructor(io, nsp, opts) {
    super()
    this.io = io
    this.nsp = nsp
    this.id = undefined
    this.connected = false
    this.recovered = false
    // socket.io-client's `Socket` takes `auth` from its own options only.
    this.auth = opts.auth
    this.sendBuffer = []
    this.receiveBuffer = []
    this.flags = {}
    this._opts = opts
    this._anyIn = []
    this._anyOut = []
    this._native = null
    this._cbs = new Callbacks()
    this._refd = false
    this._open = false
    this._skipDisconnect = 0
    this.on('newListener', (event) => {
      if (this._native && !RESERVED.has(event) && this.listenerCount(event) === 0) this._native.on(event)
    })
    this.on('removeListener', (event) => {
      if (this._native && !RESERVED.has(event) && this.listenerCount(event) === 0) this._native.off(event)
    })
    if (io.opts.autoConnect !== false) this.open()
  }

  get disconnected() {
    return !this.connected
  }

  get active() {
    return this._native ? this._native.active : false
  }

  get volatile() {
    this.flags.volatile = true
    return this
  }

  timeout(t) {
    this.flags.timeout = t
    return this
  }

  compress(c) {
    this.flags.compress = c
    return this
  }

  /** Connects (again). */
  open() {
    if (this.connected) return this
    if (!this._native) this._create()
    this._native.connect()
    this._ref(true)
    const buffered = this.sendBuffer
    this.sendBuffer = []
    for (const [event, args, flags] of buffered) this._send(event, args, flags)
    return this
  }

  connect() {
    return this.open()
  }

  _create() {
    const forceNew = !this.io._shared
    const native = nativeOptions(this.io.opts, this._opts, this.auth, this.nsp, forceNew)
    this._native = new NativeClient(this.io.uri, native, (ev) => this._dispatch(ev))
    for (const event of this.eventNames()) {
      if (typeof event === 'string' && !RESERVED.has(event)) this._native.on(event)
    }
    if (this._anyIn.length) this._native.onAny()
  }

  /** Emits to the server; a function as last argument asks for an ack. */
  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return emitLocal.call(this, event, ...args)
    }
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`)
    const flags = this.flags
    this.flags = {}
    if (!this._native) {
      if (!flags.volatile) this.sendBuffer.push([event, args, flags])
      return this
    }
    this._send(event, args, flags)
    return this
  }

  _send(event, args, flags) {
    for (const l of this._anyOut.slice()) guard(l, this, [event, ...args])
    if (typeof args[args.length - 1] === 'function') {
      const cb = args.pop()
      const timeout = flags.timeout !== undefined ? flags.timeout : this._opts.ackTimeout
      const withError = cb.withError || timeout !== undefined
      const id = this._cbs.add((err, res) => {
        if (withError) cb(err, ...(res || []))
        else if (!err) cb(...res)
      })
      const [json, bins] = encode(args)
      try {
        this._native.emitWithAck(event, json, bins, ms(timeout), id)
      } catch (err) {
        this._cbs.take(id)
        if (withError) cb(err)
        else report(err)
      }
      return
    }
    const [json, bins] = encode(args)
    this._native.emit(event, json, bins, !!flags.volatile)
  }

  /** Emits and resolves with the server's acknowledgement. */
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      const fn = (err, res) => (err ? reject(err) : resolve(res))
      fn.withError = true
      this.emit(event, ...args, fn)
    })
  }

  send(...args) {
    return this.emit('message', ...args)
  }

  /** Leaves the namespace; no reconnection until `connect()`. */
  disconnect() {
    if (this._native) {
      if (this.connected) this._skipDisconnect++
      this._native.disconnect()
    }
    this._ref(false)
    if (this.connected) {
      this.connected = false
      this.id = undefined
      emitGuarded(this, 'disconnect', ['io client disconnect'])
    }
    return this
  }

  close() {
    return this.disconnect()
  }

  onAny(listener) {
    this._anyIn.push(listener)
    if (this._anyIn.length === 1 && this._native) this._native.onAny()
    return this
  }

  prependAny(listener) {
    this._anyIn.unshift(listener)
    if (this._anyIn.length === 1 && this._native) this._native.onAny()
    return this
  }

  offAny(listener) {
    this._anyIn = listener ? this._anyIn.filter((l) => l !== listener) : []
    return this
  }

  listenersAny() {
    return this._anyIn.slice()
  }

  onAnyOutgoing(listener) {
    this._anyOut.push(listener)
    return this
  }

  prependAnyOutgoing(listener) {
    this._anyOut.unshift(listener)
    return this
  }

  offAnyOutgoing(listener) {
    this._anyOut = listener ? this._anyOut.filter((l) => l !== listener) : []
    return this
  }

  listenersAnyOutgoing() {
    return this._anyOut.slice()
  }

  /** Whether this client keeps Node running (while it wants a connection). */
  _ref(on) {
    // `autoUnref`: the client never keeps Node running, as engine.io-client's
    // unref'ed timers.
    if (on && this.io.opts.autoUnref) return
    if (this._native && this._refd !== on) {
      this._refd = on
      this._native.setRef(on)
    }
  }

  _dispatch(ev) {
    try {
      this._handle(ev)
    } catch (err) {
      report(err)
    }
  }

  _handle(ev) {
    const manager = this.io._reporter() === this ? this.io : null
    switch (ev.kind) {
      case K.CONNECT:
        // socket.io-client's manager opens before its sockets connect.
        if (!this._open) {
          this._open = true
          if (manager) emitGuarded(manager, 'open', [])
        }
        this.connected = true
        this.id = this._native.id || undefined
        this.recovered = this._native.recovered
        emitGuarded(this, 'connect', [])
        break
      case K.DISCONNECT: {
        if (ev.name === 'io client disconnect' && this._skipDisconnect > 0) {
          this._skipDisconnect--
          break
        }
        this.connected = false
        this.id = undefined
        if (!this._native.active) this._ref(false)
        emitGuarded(this, 'disconnect', [ev.name])
        break
      }
      case K.CONNECT_ERROR: {
        const err = new Error(ev.name)
        if (ev.json != null) err.data = decode(ev.json, ev.bins)[0]
        // A refusal leaves the socket inactive; any other failure is the
        // connection's, which socket.io-client's manager reports as `error`.
        const refused = !this._native.active
        if (!refused && manager) emitGuarded(manager, 'error', [err])
        // No retry will follow: nothing left to wait for.
        const reconnects = this.io.opts.reconnection
        if (refused || reconnects === false) this._ref(false)
        emitGuarded(this, 'connect_error', [err])
        break
      }
      case K.EVENT: {
        const args = decode(ev.json, ev.bins)
        if (ev.ack) {
          const ack = ev.ack
          let sent = false
          args.push((...a) => {
            if (sent) return
            sent = true
            const [json, bins] = encode(a)
            ack.send(json, bins)
          })
        }
        emitGuarded(this, ev.name, args)
        break
      }
      case K.ANY: {
        const args = decode(ev.json, ev.bins)
        for (const l of this._anyIn.slice()) guard(l, this, [ev.name, ...args])
        break
      }
      case K.RECONNECT_ATTEMPT:
        if (manager) emitGuarded(manager, 'reconnect_attempt', [ev.num])
        break
      case K.RECONNECT:
        if (manager) emitGuarded(manager, 'reconnect', [ev.num])
        break
      case K.RECONNECT_ERROR:
        if (manager) emitGuarded(manager, 'reconnect_error', [new Error(ev.name)])
        break
      case K.CLOSE:
        this._open = false
        if (manager) emitGuarded(manager, 'close', [ev.name])
        break
      case K.RECONNECT_FAILED:
        this._ref(false)
        if (manager) emitGuarded(manager, 'reconnect_failed', [])
        break
      case K.DONE:
      case K.FAILED: {
        const cb = this._cbs.take(ev.target)
        if (!cb) break
        const args = ev.json != null ? decode(ev.json, ev.bins) : undefined
        cb(ev.kind === K.FAILED ? new Error(ev.name) : null, args)
        break
      }
      default:
        break
    }
  }
}

/** `io(url, opts)`: a socket of a (shared) manager, as socket.io-client's `lookup`. */
function lookup(uri, opts) {
  if (uri && typeof uri === 'object') {
    opts = uri
    uri = undefined
  }
  opts = opts || {}
  clientOptions(opts)
  const url = new URL(uri || urlFromOptions(opts))
  const source = url.origin
  const nsp = url.pathname && url.pathname !== '' ? url.pathname : '/'
  const id = source + (opts.path || '/socket.io')
  const same = cache[id] && nsp in cache[id].nsps
  const fresh = opts.forceNew || opts['force new connection'] || opts.multiplex === false || same
  if (url.search && !opts.query) opts = { ...opts, query: url.search.slice(1) }
  let manager
  if (fresh) {
    manager = new Manager(source, opts)
  } else {
    if (!cache[id]) {
      cache[id] = new Manager(source, opts)
      cache[id]._shared = true
    }
    manager = cache[id]
  }
  return manager.socket(nsp, opts)
}

module.exports = { io: lookup, lookup, connect: lookup, Manager, Socket }
