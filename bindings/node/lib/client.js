'use strict'

const { EventEmitter } = require('node:events')
const { NativeManager } = require('../native')
const { EventKind: K } = require('../native')
const { encode, decode } = require('./payload')
const { guard, emitGuarded, emitLocal, report, Callbacks, ms, nativeDispatcher } = require('./util')
const { Acks } = require('./ack')
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

function queryObject(q) {
  if (!q) return undefined
  const entries = typeof q === 'string' ? new URLSearchParams(q).entries() : Object.entries(q)
  const out = {}
  for (const [k, v] of entries) out[k] = String(v)
  return out
}

/** The connection options of a manager, for the native side. */
function nativeOptions(opts) {
  const native = clientOptions(opts)
  const headers = {}
  for (const [k, v] of Object.entries(opts.extraHeaders || {})) headers[k] = String(v)
  return { ...native, query: queryObject(opts.query), extraHeaders: headers }
}

/** A socket's own options, for the native side. */
function socketOptions(opts) {
  const retries = opts.retries
  return {
    ackTimeout: ms(opts.ackTimeout),
    retries: typeof retries === 'number' && retries >= 0 ? Math.floor(retries) : undefined,
  }
}

/** Binary payloads as `binaryType` asks: Buffers, or ArrayBuffers. */
function binaries(bins, binaryType) {
  if (!bins || binaryType !== 'arraybuffer') return bins
  return bins.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

/** Engine listeners that need every packet of the connection reported. */
const PACKET_EVENTS = new Set(['packet', 'packetCreate', 'data', 'message', 'heartbeat'])

/**
 * socket.io-client's `manager.engine`: engine.io-client's `Socket`, one
 * per connection attempt, over the Rust core's Engine.IO session. `id`,
 * `transport.name` and `readyState` follow the session; `close()` closes
 * it (the manager then reconnects if reconnection is on); events `open`,
 * `handshake`, `packet`, `packetCreate`, `heartbeat`, `data`, `message`,
 * `ping`, `upgrading`, `upgrade`, `error` and `close`.
 */
class Engine extends EventEmitter {
  constructor(manager, transport) {
    super()
    this._manager = manager
    this.id = undefined
    this.readyState = 'opening'
    this.transport = { name: transport, query: {} }
    this.upgrading = false
    this.protocol = 4
    this.writeBuffer = []
    this._binaryType = 'nodebuffer'
    this._onNew = (event) => {
      // Before the listener is added: packets from now on are reported.
      if (PACKET_EVENTS.has(event) && manager.engine === this) manager._setWatch(true)
    }
    this._onRemove = (event) => {
      if (PACKET_EVENTS.has(event) && manager.engine === this) manager._watch()
    }
    this._hooks()
  }

  _hooks() {
    if (!this.listeners('newListener').includes(this._onNew)) this.on('newListener', this._onNew)
    if (!this.listeners('removeListener').includes(this._onRemove)) this.on('removeListener', this._onRemove)
  }

  removeAllListeners(...event) {
    super.removeAllListeners(...event)
    // Not the hooks that keep the packet reports right.
    this._hooks()
    if (this._manager.engine === this) this._manager._watch()
    return this
  }

  /** `nodebuffer` (Buffers, the default in Node) or `arraybuffer`. */
  get binaryType() {
    return this._binaryType
  }

  set binaryType(v) {
    if (v !== 'nodebuffer' && v !== 'arraybuffer') {
      throw new TypeError(`socketio-rs: binaryType must be "nodebuffer" or "arraybuffer", not ${JSON.stringify(v)}`)
    }
    this._binaryType = v
  }

  off(event, listener) {
    return off(this, event, listener)
  }

  removeListener(event, listener) {
    return off(this, event, listener)
  }

  /** Closes the session with reason "forced close". */
  close() {
    if (this.readyState === 'opening' || this.readyState === 'open') {
      const m = this._manager
      if (m.engine === this) {
        this.readyState = 'closing'
        m._native.closeEngine()
      }
    }
    return this
  }

  /** Whether the current listeners need every packet reported. */
  _watched() {
    for (const e of PACKET_EVENTS) if (this.listenerCount(e) > 0) return true
    return false
  }

  _closed(reason, description) {
    if (this.readyState === 'closed') return
    this.readyState = 'closed'
    this.id = null
    this.upgrading = false
    emitGuarded(this, 'close', description === undefined ? [reason] : [reason, description])
  }
}

/**
 * socket.io-client's `Manager`: one connection, shared by the sockets of
 * its namespaces (`socket(nsp)`), with its Engine.IO session
 * (`manager.engine`), its events (`open`, `close`, `error`, `ping`,
 * `reconnect_attempt`, `reconnect`, `reconnect_error`, `reconnect_failed`)
 * and the reconnection settings, which apply to the running connection.
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
    this.engine = undefined
    this._readyState = 'closed'
    this._reconnecting = false
    this._skipReconnect = false
    this._autoConnect = opts.autoConnect !== false
    this._shared = false
    this._sockets = new Map()
    this._nextKey = 1
    this._cbs = new Callbacks()
    this._refd = false
    this._openPending = false
    this._openCbs = []
    this._watching = false
    this._deferred = []
    this._connectsQueued = 0
    // The open sessions' engines, by id, until their close is told.
    this._sessions = new Map()
    const native = nativeOptions(this.opts)
    this._firstTransport = (native.transports && native.transports[0]) || 'polling'
    this._native = new NativeManager(this.uri, native, nativeDispatcher((ev) => this._dispatch(ev)))
    this._acks = new Acks(this._native)
    this._reconnection = opts.reconnection !== false
    this._reconnectionAttempts = opts.reconnectionAttempts || Infinity
    this._reconnectionDelay = opts.reconnectionDelay || 1000
    this._reconnectionDelayMax = opts.reconnectionDelayMax || 5000
    this._randomizationFactor = opts.randomizationFactor ?? 0.5
    this._timeout = opts.timeout == null ? 20000 : opts.timeout
    if (this._autoConnect) this.open()
  }

  /** The socket of namespace `nsp`, created on first use. */
  socket(nsp, opts) {
    if (opts) clientOptions(opts)
    let s = this.nsps[nsp]
    if (!s) {
      s = new Socket(this, nsp, opts || {})
      this.nsps[nsp] = s
    } else if (this._autoConnect && !s.active) {
      s.connect()
    }
    return s
  }

  reconnection(v) {
    if (v === undefined) return this._reconnection
    this._reconnection = !!v
    this._native.setReconnection(!!v)
    // The loop in progress stops (the manager then tells it is idle).
    if (!v) this._reconnecting = false
    return this
  }

  reconnectionAttempts(v) {
    if (v === undefined) return this._reconnectionAttempts
    this._reconnectionAttempts = v
    this._native.setReconnectionAttempts(typeof v === 'number' && v >= 0 ? v : Infinity)
    return this
  }

  reconnectionDelay(v) {
    if (v === undefined) return this._reconnectionDelay
    this._reconnectionDelay = v
    this._native.setReconnectionDelay(Number(v) || 0)
    return this
  }

  reconnectionDelayMax(v) {
    if (v === undefined) return this._reconnectionDelayMax
    this._reconnectionDelayMax = v
    this._native.setReconnectionDelayMax(Number(v) || 0)
    return this
  }

  randomizationFactor(v) {
    if (v === undefined) return this._randomizationFactor
    this._randomizationFactor = v
    this._native.setRandomizationFactor(Math.min(1, Math.max(0, Number(v) || 0)))
    return this
  }

  /** Milliseconds; `false`: no limit. */
  timeout(v) {
    if (v === undefined) return this._timeout
    this._timeout = v
    this._native.setTimeout(v === false ? Infinity : Number(v) || 0)
    return this
  }

  /**
   * Opens the connection (its sockets that want to be connected join
   * their namespaces); `fn(err)` hears how the attempt ended.
   */
  open(fn) {
    if (this._readyState.includes('open') || this._reconnecting) return this
    this._newEngine()
    this._readyState = 'opening'
    this._skipReconnect = false
    this._openPending = true
    if (fn) this._openCbs.push(fn)
    this._ref(true)
    // A socket joining in the same turn opens the connection itself: one
    // attempt, as socket.io-client makes one.
    this._defer(() => {
      if (this._connectsQueued === 0) this._native.open()
    })
    return this
  }

  /**
   * Runs `fn` after the current JS turn, in order with the other deferred
   * calls: a connection starts once the listeners registered in the same
   * turn are in place (`io(url).io.engine.on('packet', ...)` sees the
   * handshake), as engine.io-client starts its I/O.
   */
  _defer(fn) {
    this._deferred.push(fn)
    if (this._deferred.length === 1) process.nextTick(() => this._runDeferred())
  }

  /** Runs `fn` now, or after the deferred calls while there are some. */
  _inOrder(fn) {
    if (this._deferred.length) this._deferred.push(fn)
    else fn()
  }

  _runDeferred() {
    const calls = this._deferred
    this._deferred = []
    for (const fn of calls) {
      try {
        fn()
      } catch (err) {
        report(err)
      }
    }
  }

  connect(fn) {
    return this.open(fn)
  }

  /**
   * Closes the connection, with no reconnection: its sockets disconnect
   * with "forced close" (and reconnect with the next `open()` or
   * `connect()`).
   */
  _close() {
    this._skipReconnect = true
    this._reconnecting = false
    this._openPending = false
    if (this._readyState !== 'closed') {
      this._readyState = 'closed'
      if (this.engine && this.engine.readyState !== 'closed') this.engine.readyState = 'closing'
    }
    this._inOrder(() => this._native.close())
    return this
  }

  close() {
    return this._close()
  }

  disconnect() {
    return this._close()
  }

  off(event, listener) {
    return off(this, event, listener)
  }

  removeListener(event, listener) {
    return off(this, event, listener)
  }

  _newEngine() {
    this.engine = new Engine(this, this._firstTransport)
    this._watch()
  }

  /** Packets are reported while the engine has listeners for them. */
  _watch() {
    this._setWatch(!!this.engine && this.engine._watched())
  }

  _setWatch(on) {
    if (on !== this._watching) {
      this._watching = on
      this._native.watchPackets(on)
    }
  }

  _register(socket) {
    const key = this._nextKey++
    this._sockets.set(key, socket)
    return key
  }

  /** Whether this manager keeps Node running (while it wants a connection). */
  _ref(on) {
    // `autoUnref`: never, as engine.io-client's unref'ed timers.
    if (on && this.opts.autoUnref) return
    if (this._refd !== on) {
      this._refd = on
      this._native.setRef(on)
    }
  }

  /** Binary payloads as the engine's `binaryType` asks. */
  _bins(bins) {
    return binaries(bins, this.engine && this.engine.binaryType)
  }

  _dispatch(ev) {
    try {
      if (ev.kind === K.Done || ev.kind === K.Failed) {
        const cb = this._cbs.take(ev.target)
        if (!cb) return
        const args = ev.json != null ? decode(ev.json, this._bins(ev.bins)) : undefined
        cb(ev.kind === K.Failed ? new Error(ev.name) : null, args)
      } else if (ev.target) {
        const socket = this._sockets.get(ev.target)
        if (socket) socket._handle(ev)
        else if (ev.ack !== undefined) this._acks.drop(ev.ack)
      } else {
        try {
          this._handle(ev)
        } finally {
          // The connection waits until the listeners and what they started
          // in promise continuations have run.
          if (ev.reply) {
            const reply = ev.reply
            setImmediate(() => reply.answerCode(1))
          }
        }
      }
    } catch (err) {
      report(err)
    }
  }

  _handle(ev) {
    switch (ev.kind) {
      case K.ClientOpen: {
        this._openPending = false
        this._reconnecting = false
        // The core opened by itself (a socket connecting): a session of its own.
        if (!this.engine || this.engine.readyState === 'closed' || this.engine.readyState === 'closing') {
          this._newEngine()
        }
        const engine = this.engine
        const [transport] = decode(ev.json)
        this._sessions.set(ev.name, engine)
        engine.id = ev.name
        engine.transport = { name: transport, query: { sid: ev.name } }
        engine.readyState = 'open'
        this._readyState = 'open'
        this._ref(true)
        emitGuarded(engine, 'open', [])
        emitGuarded(this, 'open', [])
        for (const fn of this._openCbs.splice(0)) guard(fn, this, [])
        break
      }
      case K.ClientOpenError: {
        this._openPending = false
        const err = new Error(ev.name)
        const engine = this.engine
        if (engine && engine.readyState !== 'closed' && !engine.id) {
          emitGuarded(engine, 'error', [err])
          engine._closed('transport error', err)
        }
        this._readyState = 'closed'
        this._reconnecting = ev.num === 1 && !this._skipReconnect
        emitGuarded(this, 'error', [err])
        for (const fn of this._openCbs.splice(0)) guard(fn, this, [err])
        break
      }
      case K.ClientUpgrade: {
        const engine = this.engine
        if (!engine || engine.readyState !== 'open') break
        const transport = { name: ev.name, query: { sid: engine.id } }
        engine.upgrading = true
        emitGuarded(engine, 'upgrading', [transport])
        engine.transport = transport
        engine.upgrading = false
        emitGuarded(engine, 'upgrade', [transport])
        break
      }
      case K.ClientPing:
        if (this.engine && this.engine.readyState === 'open') {
          emitGuarded(this.engine, 'ping', [])
          emitGuarded(this.engine, 'pong', [])
        }
        emitGuarded(this, 'ping', [])
        break
      case K.ClientPacket:
      case K.ClientPacketCreate: {
        const engine = this.engine
        if (!engine || engine.readyState === 'closed') break
        const packet = { type: ev.name }
        if (ev.json != null) packet.data = decode(ev.json, binaries(ev.bins, engine.binaryType))[0]
        if (ev.kind === K.ClientPacket) {
          emitGuarded(engine, 'packet', [packet])
          emitGuarded(engine, 'heartbeat', [])
          if (packet.type === 'open') emitGuarded(engine, 'handshake', [JSON.parse(packet.data)])
          if (packet.type === 'message') {
            emitGuarded(engine, 'data', [packet.data])
            emitGuarded(engine, 'message', [packet.data])
          }
        } else if (packet.type !== 'close' && packet.type !== 'upgrade') {
          // engine.io-client's transports write these themselves.
          packet.options = { compress: true }
          emitGuarded(engine, 'packetCreate', [packet])
        }
        break
      }
      case K.ClientEngineClose: {
        const [sid] = ev.json != null ? decode(ev.json) : []
        if (sid !== undefined) {
          // The session that closed, even if a newer one replaced it.
          const engine = this._sessions.get(sid)
          this._sessions.delete(sid)
          if (engine) engine._closed(ev.name)
        } else {
          // No session was open: the attempt the current engine stood for.
          const engine = this.engine
          if (engine && (engine.readyState === 'closing' || (engine.readyState === 'opening' && !this._openPending))) {
            engine._closed(ev.name)
          }
        }
        if (!this._openPending) this._readyState = 'closed'
        this._reconnecting = ev.num === 1 && !this._skipReconnect
        break
      }
      case K.ClientIdle:
        // The manager stopped, after telling everything that led there:
        // nothing left to keep Node running for, unless JS asked for more.
        this._reconnecting = false
        if (!this._openPending && this._connectsQueued === 0) this._ref(false)
        break
      case K.Close:
        emitGuarded(this, 'close', [ev.name])
        break
      case K.ReconnectAttempt:
        this._reconnecting = true
        this._ref(true)
        emitGuarded(this, 'reconnect_attempt', [ev.num])
        // The attempt's session, unless a listener stopped it.
        if (!this._skipReconnect && this._reconnecting) {
          this._newEngine()
          this._readyState = 'opening'
        }
        break
      case K.Reconnect:
        this._reconnecting = false
        emitGuarded(this, 'reconnect', [ev.num])
        break
      case K.ReconnectError:
        emitGuarded(this, 'reconnect_error', [new Error(ev.name)])
        break
      case K.ReconnectFailed:
        this._reconnecting = false
        emitGuarded(this, 'reconnect_failed', [])
        break
      default:
        break
    }
  }
}

/** socket.io-client's `Socket`: one namespace on its manager's connection. */
class Socket extends EventEmitter {
  constructor(io, nsp, opts) {
    super()
    this.io = io
    this.nsp = nsp
    this.id = undefined
    this.connected = false
    this.recovered = false
    // socket.io-client's `Socket` takes `auth` from its own options only;
    // read (or called) for every CONNECT, reconnections included.
    this.auth = opts.auth
    this.sendBuffer = []
    this.receiveBuffer = []
    this.flags = {}
    this._opts = opts
    this._anyIn = []
    this._anyOut = []
    this._skipDisconnect = 0
    // connect() and disconnect() calls the native side has yet to see.
    this._queuedConnect = null
    this._queuedDisconnect = false
    this._key = io._register(this)
    this._native = io._native.socket(nsp, socketOptions(opts), this._key)
    if (io._autoConnect) this.open()
  }

  off(event, listener) {
    return off(this, event, listener)
  }

  removeListener(event, listener) {
    return off(this, event, listener)
  }

  get disconnected() {
    return !this.connected
  }

  get active() {
    if (this._queuedConnect) return true
    if (this._queuedDisconnect) return false
    return this._native.active
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

  /** Connects (again), opening the manager's connection if needed. */
  open() {
    if (this.connected) return this
    if (!this.io._reconnecting) this.io.open()
    this.io._ref(true)
    if (!this._queuedConnect) {
      // Its own token: a disconnect() and connect() in the same turn queue
      // a new one, in order behind the disconnect.
      const token = {}
      this._queuedConnect = token
      this.io._connectsQueued++
      this.io._defer(() => this._connectNow(token))
    }
    return this
  }

  _connectNow(token) {
    if (this._queuedConnect !== token) return
    this._queuedConnect = null
    this.io._connectsQueued--
    // An `auth` object is read now, for the CONNECT that follows: no
    // question to JS on the way (a function is called for each CONNECT,
    // and any later CONNECT reads the object again).
    let prime = typeof this.auth !== 'function'
    let json
    if (prime) {
      try {
        json = this.auth === undefined ? undefined : JSON.stringify(this.auth)
      } catch {
        prime = false
      }
    }
    this._native.connect(prime, json)
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
  }

  connect() {
    return this.open()
  }

  /** Emits to the server; a function as last argument asks for an ack. */
  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return emitLocal.call(this, event, ...args)
    }
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`)
    const flags = this.flags
    this.flags = {}
    if (this._queuedConnect || this._queuedDisconnect || !this._native.active) {
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
      const cbs = this.io._cbs
      const id = cbs.add((err, res) => {
        if (withError) cb(err, ...(res || []))
        else if (!err) cb(...res)
      })
      const [json, bins] = encode(args)
      try {
        this._native.emitWithAck(event, json, bins, ms(timeout), id)
      } catch (err) {
        cbs.take(id)
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
    if (this.connected) this._skipDisconnect++
    if (this._queuedConnect) {
      this._queuedConnect = null
      this.io._connectsQueued--
    }
    this._queuedDisconnect = true
    this.io._inOrder(() => {
      this._queuedDisconnect = false
      this._native.disconnect()
    })
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
    return this
  }

  prependAny(listener) {
    this._anyIn.unshift(listener)
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

  /** socket.io-client reads `auth` (or calls it) for every CONNECT. */
  _answerAuth(reply) {
    let answered = false
    const answer = (data) => {
      if (answered) return
      answered = true
      let json
      try {
        json = data === undefined ? undefined : JSON.stringify(data)
      } catch (err) {
        reply.answerWith(0, `invalid auth: ${err.message}`)
        return
      }
      reply.answerWith(1, json)
    }
    try {
      if (typeof this.auth === 'function') this.auth(answer)
      else answer(this.auth)
    } catch (err) {
      report(err)
      if (!answered) {
        answered = true
        reply.answerWith(0, `auth threw: ${err && err.message !== undefined ? err.message : String(err)}`)
      }
    }
  }

  _handle(ev) {
    switch (ev.kind) {
      case K.ClientAuth:
        this._answerAuth(ev.reply)
        break
      case K.Connect:
        this.connected = true
        this.id = this._native.id || undefined
        this.recovered = this._native.recovered
        emitGuarded(this, 'connect', [])
        break
      case K.Disconnect: {
        if (ev.name === 'io client disconnect' && this._skipDisconnect > 0) {
          this._skipDisconnect--
          break
        }
        this.connected = false
        this.id = undefined
        emitGuarded(this, 'disconnect', [ev.name])
        break
      }
      case K.ConnectError: {
        const err = new Error(ev.name)
        if (ev.json != null) err.data = decode(ev.json, ev.bins)[0]
        emitGuarded(this, 'connect_error', [err])
        break
      }
      case K.Event: {
        // Every event crosses: handed to the listeners there are now, as
        // socket.io-client's `emitEvent` (catch-all listeners first, with
        // the acknowledgement function).
        const anyIn = this._anyIn
        if (anyIn.length === 0 && this.listenerCount(ev.name) === 0) {
          if (ev.ack !== undefined) this.io._acks.drop(ev.ack)
          break
        }
        const args = decode(ev.json, this.io._bins(ev.bins))
        let ack
        if (ev.ack !== undefined) {
          ack = this.io._acks.make(ev.ack)
          args.push(ack.fn)
        }
        if (anyIn.length !== 0) {
          for (const l of anyIn.slice()) guard(l, this, [ev.name, ...args])
        }
        emitGuarded(this, ev.name, args)
        if (ack !== undefined) this.io._acks.settle(ack)
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
