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

/**
 * socket.io-client's emitters (component-emitter) remove every listener of
 * an event with `off(event)`, and every listener with `off()`.
 */
function off(emitter, event, listener) {
  if (listener !== undefined) return EventEmitter.prototype.removeListener.call(emitter, event, listener)
  if (event === undefined) return emitter.removeAllListeners()
  return emitter.removeAllListeners(event)
}

/** Managers shared by `io()` calls for the same server, as socket.io-client. */
const cache = Object.create(null)

/**
 * The CONNECT payload to `done`: `auth` itself, or what the function
 * `auth` answers through its callback, now or later (its first answer).
 * False when the function threw.
 */
function withAuth(auth, self, done) {
  if (typeof auth !== 'function') {
    done(auth)
    return true
  }
  let answered = false
  try {
    auth.call(self, (v) => {
      if (answered) return
      answered = true
      done(v)
    })
    return true
  } catch (err) {
    report(err)
    return false
  }
}

function json(v) {
  return v === undefined ? undefined : JSON.stringify(v)
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
function nativeOptions(managerOpts, socketOpts, payload, nsp, forceNew) {
  // Read now: the manager's setters (`reconnectionDelay(v)`...) may have
  // changed them.
  const native = clientOptions(managerOpts)
  const headers = {}
  for (const [k, v] of Object.entries(managerOpts.extraHeaders || {})) headers[k] = String(v)
  const retries = socketOpts.retries
  return {
    ...native,
    namespace: nsp,
    auth: json(payload),
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

  /** socket.io-client's name of `close()`. */
  _close() {
    return this.close()
  }

  off(event, listener) {
    return off(this, event, listener)
  }

  removeListener(event, listener) {
    return off(this, event, listener)
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
    // The CONNECT payload the native client was made with (JSON).
    this._nativeAuth = undefined
    // The `auth` function's answer being waited for.
    this._asking = null
    this._cbs = new Callbacks()
    this._refd = false
    this._open = false
    this._skipDisconnect = 0
    // The native client forwards the events that have listeners.
    this._onNew = (event) => {
      if (this._native && !RESERVED.has(event) && this.listenerCount(event) === 0) this._native.on(event)
    }
    this._onRemove = (event) => {
      if (this._native && !RESERVED.has(event) && this.listenerCount(event) === 0) this._native.off(event)
    }
    this._hooks()
    if (io.opts.autoConnect !== false) this.open()
  }

  _hooks() {
    if (!this.listeners('newListener').includes(this._onNew)) this.on('newListener', this._onNew)
    if (!this.listeners('removeListener').includes(this._onRemove)) this.on('removeListener', this._onRemove)
  }

  off(event, listener) {
    return off(this, event, listener)
  }

  removeListener(event, listener) {
    return off(this, event, listener)
  }

  removeAllListeners(...event) {
    super.removeAllListeners(...event)
    // Not the hooks that keep the native client's forwarding right.
    this._hooks()
    return this
  }

  get disconnected() {
    return !this.connected
  }

  get active() {
    if (this._asking) return true
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
    if (this.connected || this._asking) return this
    // A new attempt sends the socket's `auth` as it is now (socket.io-client
    // reads it, or calls it, for every CONNECT): a client given up on is
    // made anew when that payload may differ.
    if (this._native && !this._native.active && (typeof this.auth === 'function' || json(this.auth) !== this._nativeAuth)) {
      this._drop()
    }
    if (this._native) {
      this._start()
      return this
    }
    const asking = {}
    this._asking = asking
    const ok = withAuth(this.auth, this, (payload) => {
      // Not after `disconnect()`, nor for an earlier call.
      if (this._asking !== asking) return
      this._asking = null
      this._create(payload)
      this._start()
    })
    // A throwing `auth` leaves the socket inactive.
    if (!ok && this._asking === asking) this._asking = null
    return this
  }

  _start() {
    this._native.connect()
    this._ref(true)
    const buffered = this.sendBuffer
    this.sendBuffer = []
    for (const [event, args, flags, t] of buffered) {
      if (!t) {
        this._send(event, args, flags)
        continue
      }
      // What is left of the ack's time.
      clearTimeout(t.timer)
      this._send(event, args, { ...flags, timeout: Math.max(0, t.deadline - Date.now()) })
    }
    return this
  }

  connect() {
    return this.open()
  }

  _create(payload) {
    const forceNew = !this.io._shared
    const opts = nativeOptions(this.io.opts, this._opts, payload, this.nsp, forceNew)
    this._nativeAuth = json(payload)
    const native = new NativeClient(this.io.uri, opts, (ev) => this._dispatch(ev, native))
    this._native = native
    for (const event of this.eventNames()) {
      if (typeof event === 'string' && !RESERVED.has(event)) this._native.on(event)
    }
    if (this._anyIn.length) this._native.onAny()
  }

  /** Lets go of a native client that gave up, for a new one. */
  _drop() {
    const old = this._native
    this._ref(false)
    this._native = null
    this._refd = false
    // Its last events are not this socket's any more.
    this._skipDisconnect = 0
    this._open = false
    old.close()
  }

  /** Emits to the server; a function as last argument asks for an ack. */
  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return emitLocal.call(this, event, ...args)
    }
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`)
    const flags = this.flags
    this.flags = {}
    if (!this._native || !this._native.active) {
      // Not connecting: buffered until `connect()`, a volatile packet
      // dropped; an ack with a timeout times out meanwhile.
      const entry = [event, args, flags]
      const timer = this._ackTimer(entry, flags)
      if (timer) entry.push(timer)
      if (!flags.volatile) this.sendBuffer.push(entry)
      return this
    }
    this._send(event, args, flags)
    return this
  }

  /**
   * The timer of a buffered emit's ack (with `timeout()` or `ackTimeout`),
   * as socket.io-client's: at the end it leaves the buffer and the ack gets
   * the timeout error.
   */
  _ackTimer(entry, flags) {
    const cb = entry[1][entry[1].length - 1]
    const timeout = ms(flags.timeout !== undefined ? flags.timeout : this._opts.ackTimeout)
    if (typeof cb !== 'function' || timeout === undefined) return undefined
    // With `retries` the packet waits in the queue, its time not counted.
    if (this._opts.retries && !flags.volatile) return undefined
    const timer = setTimeout(() => {
      const i = this.sendBuffer.indexOf(entry)
      if (i >= 0) this.sendBuffer.splice(i, 1)
      guard(cb, this, [new Error('operation has timed out')])
    }, timeout)
    return { timer, deadline: Date.now() + timeout }
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
    this._asking = null
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

  _dispatch(ev, native) {
    // A dropped client's acknowledgements are still this socket's; nothing
    // else of it is.
    if (native !== this._native && ev.kind !== K.DONE && ev.kind !== K.FAILED) return
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
