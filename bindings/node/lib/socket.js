'use strict'

const { EventEmitter } = require('node:events')
const { encode, decode } = require('./payload')
const { guard, emitGuarded, emitLocal, report } = require('./util')
const { BroadcastOperator } = require('./broadcast')
const turn = require('./turn')

/** Events a socket cannot emit to its peer (socket.io's list). */
const RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
])

// Shared by every socket until it has flags or listeners of its own (then
// replaced, never written): an idle connection holds no arrays or flag
// objects of its own, and an emit without flags allocates none.
const NO_FLAGS = Object.freeze({})
const NONE = Object.freeze([])

/** Calls `cb` with the outcome of an acknowledged emit. */
function ackCallback(cb, withError) {
  return (err, args) => {
    if (withError) cb(err, ...(args || []))
    else if (!err) cb(...args)
  }
}

const EE = EventEmitter.prototype

// Every event of the socket reaches JS, listened to or not (see
// `watch_socket` in src/socket.rs): `_onevent` hands it to the listeners
// there are when its turn comes, as socket.io. The protocol errors of the
// connection cross once someone listens to `error`.

/** Before a listener of `event` is added. */
function listening(socket, event) {
  if (event === 'error' && !socket._errorsWatched) {
    socket._errorsWatched = true
    socket._h.onError()
  }
}

/**
 * A client's connection to a namespace: socket.io's server-side `Socket`.
 */
class Socket extends EventEmitter {
  constructor(nsp, handle) {
    super()
    this.nsp = nsp
    this.server = nsp.server
    this.id = handle.id
    this._h = handle
    this._key = handle.key
    this._connId = handle.connId
    this._flags = NO_FLAGS
    this._fns = NONE
    this._anyIn = NONE
    this._anyOut = NONE
    this._anyOutId = null
    this._lastData = undefined
    this._roomsSnapshot = null
    // `handshake` and `data` are read from the core when first used: an
    // idle connection of an application that never reads them costs no
    // JS objects for them (the core keeps them anyway).
    this._handshake = undefined
    this._data = undefined
    this._conn = null
    this._client = null
    this._errorsWatched = false
    this._jsAcks = null
  }

  addListener(event, listener) {
    // An invalid listener is refused by EventEmitter before anything changes.
    if (typeof listener === 'function') listening(this, event)
    return EE.addListener.call(this, event, listener)
  }

  on(event, listener) {
    return this.addListener(event, listener)
  }

  prependListener(event, listener) {
    if (typeof listener === 'function') listening(this, event)
    return EE.prependListener.call(this, event, listener)
  }

  /** socket.io's `socket.handshake`. */
  get handshake() {
    if (this._handshake === undefined) this._handshake = this._readHandshake()
    return this._handshake
  }

  set handshake(v) {
    this._handshake = v
  }

  _readHandshake() {
    const hs = JSON.parse(this._h.handshake())
    const handshake = {
      headers: hs.headers,
      time: new Date(hs.issued).toString(),
      address: hs.address,
      xdomain: hs.xdomain,
      secure: hs.secure,
      issued: hs.issued,
      url: hs.url,
      query: hs.query,
      auth: hs.auth == null ? {} : hs.auth,
    }
    const engine = this.server.engine
    if (engine._conns.size > 0) {
      // An `io.engine` `connection` listener took the session's request
      // away (as for a WebTransport session): the handshake has none.
      const conn = engine._conns.get(this._connId)
      if (conn && !conn.request) {
        Object.assign(handshake, { headers: {}, xdomain: false, secure: true, url: undefined, query: {} })
      }
    }
    return handshake
  }

  /** socket.io's `socket.data` (restored with the session on recovery). */
  get data() {
    if (this._data === undefined) {
      const data = JSON.parse(this._h.getData())
      this._data = data == null ? {} : data
    }
    return this._data
  }

  set data(v) {
    this._data = v
  }

  get connected() {
    return this._h.connected
  }

  get disconnected() {
    return !this._h.connected
  }

  get rooms() {
    if (this._roomsSnapshot) return new Set(this._roomsSnapshot)
    return new Set(this._h.rooms())
  }

  get recovered() {
    return this._h.recovered
  }

  /** The Engine.IO session carrying the socket (engine.io's `Socket`). */
  get conn() {
    if (!this._conn) this._conn = this.server.engine._connOf(this)
    return this._conn
  }

  /** The handshake request (an `http.IncomingMessage` stand-in). */
  get request() {
    return this.conn.request
  }

  /** socket.io's `Client`: the connection, shared by its namespaces. */
  get client() {
    if (!this._client) this._client = new Client(this)
    return this._client
  }

  /** Emits to the client; a function as last argument asks for an ack. */
  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return emitLocal.call(this, event, ...args)
    }
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`)
    const flags = this._flags
    if (flags !== NO_FLAGS) this._flags = NO_FLAGS
    if (flags.volatile && turn.busy(this)) return true
    turn.wroteTo(this)
    if (typeof args[args.length - 1] === 'function') {
      const cb = args.pop()
      const withError = flags.timeout !== undefined
      const id = this.server._cbs.add(ackCallback(cb, withError))
      const [json, bins] = encode(args)
      this._h.emitWithAck(event, json, bins, withError ? flags.timeout : Infinity, id, !!flags.volatile, flags.compress === undefined ? undefined : !!flags.compress)
      return true
    }
    const [json, bins] = encode(args)
    this._h.emit(event, json, bins, !!flags.volatile, flags.compress === undefined ? undefined : !!flags.compress)
    return true
  }

  /** Emits and resolves with the client's acknowledgement. */
  emitWithAck(event, ...args) {
    const withError = this._flags.timeout !== undefined
    return new Promise((resolve, reject) => {
      this.emit(
        event,
        ...args,
        withError ? (err, res) => (err ? reject(err) : resolve(res)) : (res) => resolve(res),
      )
    })
  }

  send(...args) {
    this.emit('message', ...args)
    return this
  }

  write(...args) {
    return this.send(...args)
  }

  /** The next emit's acknowledgement fails after `ms`. */
  timeout(ms) {
    this._ownFlags().timeout = ms
    return this
  }

  get volatile() {
    this._ownFlags().volatile = true
    return this
  }

  compress(compress) {
    this._ownFlags().compress = compress
    return this
  }

  /** The next emit's flags, writable. */
  _ownFlags() {
    if (this._flags === NO_FLAGS) this._flags = {}
    return this._flags
  }

  get broadcast() {
    return new BroadcastOperator(this.nsp, this)
  }

  get local() {
    return this.broadcast.local
  }

  to(room) {
    return this.broadcast.to(room)
  }

  in(room) {
    return this.broadcast.to(room)
  }

  except(room) {
    return this.broadcast.except(room)
  }

  /** Joins rooms; with an adapter written in JS, what its `addAll` returns. */
  join(rooms) {
    const list = Array.isArray(rooms) ? rooms.map(String) : [String(rooms)]
    this._h.join(list)
    const a = this.nsp._jsAdapter
    if (a) return a.addAll(this.id, new Set(list))
  }

  /** Leaves a room; with an adapter written in JS, what its `del` returns. */
  leave(room) {
    this._h.leave(String(room))
    const a = this.nsp._jsAdapter
    if (a) return a.del(this.id, String(room))
  }

  /** Leaves every room, its own included (socket.io's `leaveAll`). */
  leaveAll() {
    for (const room of this._h.rooms()) this._h.leave(room)
    const a = this.nsp._jsAdapter
    if (a) a.delAll(this.id)
  }

  /**
   * The acknowledgements an adapter written in JS waits for, by packet id
   * (socket.io's `socket.acks`, which `broadcastWithAck` fills).
   */
  get acks() {
    if (!this._jsAcks) this._jsAcks = new Map()
    return this._jsAcks
  }

  /**
   * Writes one packet of an adapter written in JS (what its
   * `socket.client.writeToEngine()` gets from `io.encoder`, i.e. the packet
   * itself, with its `encoding`): an event, acknowledged through
   * `socket.acks` when it has an id.
   */
  _writePacket(packet, { event, json, bins }, opts) {
    const volatile = !!(opts && opts.volatile)
    if (volatile && turn.busy(this)) return
    turn.wroteTo(this)
    const compress = opts && opts.compress !== undefined ? !!opts.compress : undefined
    if (packet.id === undefined) {
      this._h.emit(event, json, bins, volatile, compress)
      return
    }
    const pid = packet.id
    const id = this.server._cbs.add((err, res) => {
      const ack = this.acks.get(pid)
      this.acks.delete(pid)
      if (!err && typeof ack === 'function') guard(ack, this, res || [])
    })
    this._h.emitWithAck(event, json, bins, Infinity, id, volatile, compress)
  }

  disconnect(close = false) {
    this._h.disconnect(!!close)
    return this
  }

  /**
   * A middleware for this socket's incoming events: every event, also
   * those no listener waits for (a middleware may rename them).
   */
  use(fn) {
    if (this._fns === NONE) this._fns = []
    this._fns.push(fn)
    return this
  }

  onAny(listener) {
    if (this._anyIn === NONE) this._anyIn = []
    this._anyIn.push(listener)
    return this
  }

  prependAny(listener) {
    if (this._anyIn === NONE) this._anyIn = []
    this._anyIn.unshift(listener)
    return this
  }

  offAny(listener) {
    this._anyIn = listener ? this._anyIn.filter((l) => l !== listener) : NONE
    return this
  }

  listenersAny() {
    return this._anyIn.slice()
  }

  onAnyOutgoing(listener) {
    if (this._anyOut === NONE) this._anyOut = []
    this._anyOut.push(listener)
    this._watchAnyOutgoing()
    return this
  }

  prependAnyOutgoing(listener) {
    if (this._anyOut === NONE) this._anyOut = []
    this._anyOut.unshift(listener)
    this._watchAnyOutgoing()
    return this
  }

  offAnyOutgoing(listener) {
    this._anyOut = listener ? this._anyOut.filter((l) => l !== listener) : NONE
    if (this._anyOut.length === 0 && this._anyOutId !== null) {
      this._h.offAnyOutgoing(this._anyOutId)
      this._anyOutId = null
    }
    return this
  }

  listenersAnyOutgoing() {
    return this._anyOut.slice()
  }

  _watchAnyOutgoing() {
    if (this._anyOutId === null) this._anyOutId = this._h.onAnyOutgoing()
  }

  /** An incoming event (its payload in `ev`, decoded once someone
   *  listens): catch-all listeners, socket middlewares, then the listeners. */
  _onevent(event, ev, key) {
    const acks = this.server._acks
    // As socket.io: an event still waiting for its turn when the socket
    // disconnected (the client sent it with its DISCONNECT) is dropped.
    if (!this._h.connected) {
      if (key !== undefined) acks.drop(key)
      return
    }
    const anyIn = this._anyIn
    if (anyIn.length === 0 && this._fns.length === 0 && this.listenerCount(event) === 0) {
      // Nobody listens: dropped, as socket.io; a request nobody can answer
      // is let go now rather than at the next garbage collection.
      if (key !== undefined) acks.drop(key)
      return
    }
    const args = decode(ev.json, ev.bins)
    let ack
    if (key !== undefined) {
      ack = acks.make(key)
      args.push(ack.fn)
    }
    // As socket.io: the catch-all listeners first, with the
    // acknowledgement function, then the middlewares and the listeners.
    if (anyIn.length !== 0) this._onany(anyIn, event, args)
    if (this._fns.length === 0) {
      emitGuarded(this, event, args)
    } else {
      const packet = [event, ...args]
      let i = 0
      const step = (err) => {
        if (err) return emitGuarded(this, 'error', [err])
        if (i >= this._fns.length) return emitGuarded(this, packet[0], packet.slice(1))
        const fn = this._fns[i++]
        let called = false
        try {
          fn(packet, (e) => {
            if (called) return
            called = true
            step(e)
          })
        } catch (e) {
          report(e)
        }
      }
      step()
    }
    if (ack !== undefined) acks.settle(ack)
    this._syncData()
  }

  _onany(list, event, args) {
    for (const l of list.slice()) guard(l, this, [event, ...args])
  }

  /** Keeps the native copy of `data` current, for connection state recovery,
   * the Admin UI and the other servers of a cluster. */
  _syncData() {
    if (!this.server._recovery && !this.server._adminUi && !this.server._cluster) return
    let json
    try {
      json = JSON.stringify(this.data)
    } catch (err) {
      return report(err)
    }
    if (json !== undefined && json !== this._lastData) {
      this._lastData = json
      this._h.setData(json)
    }
  }
}

/**
 * socket.io's `RemoteSocket`: a socket of another server of the cluster,
 * as `fetchSockets()` describes it; its methods act through a broadcast to
 * its id.
 */
class RemoteSocket {
  constructor(nsp, details) {
    this.id = details.id
    this.handshake = details.handshake
    this.rooms = new Set(details.rooms)
    this.data = details.data
    this._op = new BroadcastOperator(nsp, null, {
      rooms: [details.id],
      except: [],
      local: false,
      volatile: false,
      single: true,
    })
  }

  /** The next emit's acknowledgement fails after `ms`. */
  timeout(ms) {
    return this._op.timeout(ms)
  }

  emit(event, ...args) {
    return this._op.emit(event, ...args)
  }

  join(room) {
    this._op.socketsJoin(room)
  }

  leave(room) {
    this._op.socketsLeave(room)
  }

  disconnect(close = false) {
    this._op.disconnectSockets(close)
    return this
  }
}

/** The encodings of the packet arrays JS adapters deliver, by array. */
const ENCODINGS = new WeakMap()

/** An event packet of `io.encoder`, encoded for the core. */
function encodePacket(packet) {
  if (packet === null || typeof packet !== 'object' || !Array.isArray(packet.data) || (packet.type !== 2 && packet.type !== 5)) {
    throw new TypeError('socketio-rs: writeToEngine() takes the packets io.encoder made: events only')
  }
  const [event, ...args] = packet.data
  const [json, bins] = encode(args)
  return { event: String(event), json, bins }
}

/** socket.io's `Client` as a socket shows it: its connection and request. */
class Client {
  constructor(socket) {
    this.server = socket.server
    this._socket = socket
  }

  /** The Engine.IO session, looked up when first read (an adapter written
   *  in JS reaches `writeToEngine` without it). */
  get conn() {
    return this._socket.conn
  }

  get id() {
    return this.conn.id
  }

  /**
   * socket.io's `client.writeToEngine(encodedPackets, opts)`, through which
   * adapters written in JS deliver their broadcasts.
   */
  writeToEngine(packets, opts) {
    // An adapter hands every recipient of a broadcast the same array from
    // `io.encoder`: the packets are encoded once per broadcast.
    let encodings = ENCODINGS.get(packets)
    if (!encodings) {
      encodings = packets.map(encodePacket)
      ENCODINGS.set(packets, encodings)
    }
    for (let i = 0; i < packets.length; i++) this._socket._writePacket(packets[i], encodings[i], opts)
  }

  get request() {
    return this.conn.request
  }

  /**
   * socket.io's `Client.ondata`, for what its decoder cannot read: the
   * connection's sockets get the `error`, then the connection closes.
   * Packets themselves come from the connection.
   */
  ondata(data) {
    if (typeof data === 'string' || Buffer.isBuffer(data) || data instanceof ArrayBuffer) {
      throw new TypeError('socketio-rs: client.ondata(): packets come from the connection, not from JS')
    }
    const err = new Error(`Unknown type: ${data}`)
    for (const s of this.server._sockets.values()) {
      if (s._h.connId === this.id) emitGuarded(s, 'error', [err])
    }
    this.conn.close()
  }
}

module.exports = { Socket, RemoteSocket, RESERVED, ackCallback }
