'use strict'

const { BroadcastAction } = require('../native')
const { encode } = require('./payload')
const turn = require('./turn')
const { report } = require('./util')

/** socket.io's reserved names, which no broadcast may use. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])

/**
 * socket.io's `BroadcastOperator`: immutable, each operator returns a new
 * one; the selection runs natively in one call.
 */
class BroadcastOperator {
  constructor(nsp, socket = null, flags) {
    this._nsp = nsp
    this._socket = socket
    this._f = flags || { rooms: [], except: [], local: false, volatile: false }
  }

  _with(patch) {
    return new BroadcastOperator(this._nsp, this._socket, { ...this._f, ...patch })
  }

  get _target() {
    return this._socket ? this._socket._h : this._nsp._h
  }

  /**
   * The selection as an adapter written in JS takes it (socket.io's
   * `{ rooms, except, flags }`): a socket's operator leaves the socket out.
   */
  _opts() {
    const except = new Set(this._f.except)
    if (this._socket) except.add(this._socket.id)
    const flags = this.flags
    if (this._f.single) flags.expectSingleResponse = true
    return { rooms: new Set(this._f.rooms), except, flags }
  }

  /** The target rooms, as socket.io's operator keeps them. */
  get rooms() {
    return new Set(this._f.rooms)
  }

  /** The excluded rooms. */
  get exceptRooms() {
    return new Set(this._f.except)
  }

  /** The flags set so far (`local`, `volatile`, `compress`, `timeout`), as socket.io shows them. */
  get flags() {
    const flags = {}
    if (this._f.local) flags.local = true
    if (this._f.volatile) flags.volatile = true
    if (this._f.compress !== undefined) flags.compress = this._f.compress
    if (this._f.timeout !== undefined) flags.timeout = this._f.timeout
    return flags
  }

  to(room) {
    return this._with({ rooms: this._f.rooms.concat(room).map(String) })
  }

  in(room) {
    return this.to(room)
  }

  except(room) {
    return this._with({ except: this._f.except.concat(room).map(String) })
  }

  get local() {
    return this._with({ local: true })
  }

  get volatile() {
    return this._with({ volatile: true })
  }

  compress(compress) {
    return this._with({ compress: !!compress })
  }

  timeout(ms) {
    return this._with({ timeout: ms })
  }

  /** Emits to the selection; a function as last argument collects acks. */
  emit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`)
    const js = this._nsp._jsAdapter
    if (js) return this._emitThrough(js, event, args)
    if (typeof args[args.length - 1] === 'function') {
      const cb = args.pop()
      // One socket's operator (a RemoteSocket's) answers with its one
      // response, as socket.io's `expectSingleResponse`.
      const single = !!this._f.single
      const id = this._nsp.server._cbs.add((err, res) => {
        const responses = res === undefined ? [] : res[0]
        cb(err, single ? (responses.length > 0 ? responses[0] : null) : responses)
      })
      const [json, bins] = encode(args)
      this._target.bcastEmitWithAck(this._f, event, json, bins, id)
      return true
    }
    let flags = this._f
    if (flags.volatile) {
      const busy = turn.busyIn(this._nsp)
      if (busy === null) return true
      if (busy.length > 0) flags = { ...flags, except: flags.except.concat(busy) }
    }
    turn.broadcastIn(this._nsp)
    const [json, bins] = encode(args)
    this._target.bcastEmit(flags, event, json, bins)
    return true
  }

  /**
   * socket.io's `BroadcastOperator.emit` over an adapter written in JS: the
   * adapter delivers, and counts the clients (and servers) that answer.
   */
  _emitThrough(adapter, event, args) {
    const packet = { type: 2, data: [event, ...args] }
    if (typeof args[args.length - 1] !== 'function') {
      adapter.broadcast(packet, this._opts())
      return true
    }
    const ack = packet.data.pop()
    const single = !!this._f.single
    let timedOut = false
    const responses = []
    const timer = setTimeout(
      () => {
        timedOut = true
        const err = new Error('operation has timed out')
        ack(err, single ? null : responses)
      },
      this._f.timeout ?? this._nsp.server._ackTimeout,
    )
    let expectedServers = -1
    let servers = 0
    let expectedClients = 0
    const check = () => {
      if (!timedOut && expectedServers === servers && responses.length === expectedClients) {
        clearTimeout(timer)
        ack(null, single ? responses[0] : responses)
      }
    }
    adapter.broadcastWithAck(
      packet,
      this._opts(),
      (clientCount) => {
        expectedClients += clientCount
        servers++
        check()
      },
      (response) => {
        responses.push(response)
        check()
      },
    )
    Promise.resolve(adapter.serverCount()).then((count) => {
      expectedServers = count
      check()
    }, report)
    return true
  }

  /**
   * Emits and resolves with the array of answers; on a timeout the error
   * carries the answers that came (`err.responses`), as socket.io's.
   */
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      this.emit(event, ...args, (err, responses) => {
        if (!err) return resolve(responses)
        err.responses = responses
        reject(err)
      })
    })
  }

  /** The selected sockets. */
  fetchSockets() {
    const js = this._nsp._jsAdapter
    if (js) {
      const { Socket, RemoteSocket } = require('./socket')
      return Promise.resolve(js.fetchSockets(this._opts())).then((sockets) =>
        sockets.map((s) => (s instanceof Socket ? s : new RemoteSocket(this._nsp, s))),
      )
    }
    return new Promise((resolve, reject) => {
      const server = this._nsp.server
      const id = server._cbs.add((err, res, ev) => {
        if (err) return reject(err)
        // This server's sockets, then the other servers' (RemoteSocket).
        const { RemoteSocket } = require('./socket')
        const local = (ev.sockets || []).map((h) => server._socketFor(h))
        const remote = (res && res[0]) || []
        resolve(local.concat(remote.map((d) => new RemoteSocket(this._nsp, d))))
      })
      this._target.bcastAct(this._f, BroadcastAction.Fetch, [], false, id)
    })
  }

  /** The ids of the selected sockets (socket.io's deprecated `allSockets`). */
  allSockets() {
    return this.fetchSockets().then((sockets) => new Set(sockets.map((s) => s.id)))
  }

  socketsJoin(room) {
    const rooms = [].concat(room).map(String)
    const js = this._nsp._jsAdapter
    if (js) js.addSockets(this._opts(), rooms)
    else this._target.bcastAct(this._f, BroadcastAction.Join, rooms, false, 0)
  }

  socketsLeave(room) {
    const rooms = [].concat(room).map(String)
    const js = this._nsp._jsAdapter
    if (js) js.delSockets(this._opts(), rooms)
    else this._target.bcastAct(this._f, BroadcastAction.Leave, rooms, false, 0)
  }

  disconnectSockets(close = false) {
    const js = this._nsp._jsAdapter
    if (js) js.disconnectSockets(this._opts(), !!close)
    else this._target.bcastAct(this._f, BroadcastAction.Disconnect, [], !!close, 0)
  }
}

/**
 * What a parent namespace's operators do (socket.io's
 * `ParentBroadcastAdapter`): the same selection in every child namespace.
 */
class ParentBroadcastOperator {
  constructor(parent, steps = []) {
    this._parent = parent
    this._steps = steps
  }

  _with(step) {
    return new ParentBroadcastOperator(this._parent, this._steps.concat([step]))
  }

  _each() {
    return this._parent._children().map((c) => this._steps.reduce((op, step) => step(op), c._op()))
  }

  to(room) {
    return this._with((op) => op.to(room))
  }

  in(room) {
    return this.to(room)
  }

  except(room) {
    return this._with((op) => op.except(room))
  }

  get local() {
    return this._with((op) => op.local)
  }

  get volatile() {
    return this._with((op) => op.volatile)
  }

  compress(compress) {
    return this._with((op) => op.compress(compress))
  }

  timeout(ms) {
    return this._with((op) => op.timeout(ms))
  }

  emit(event, ...args) {
    if (typeof args[args.length - 1] === 'function') {
      throw new Error('a parent namespace cannot broadcast with acknowledgements: use one of its children')
    }
    for (const op of this._each()) op.emit(event, ...args)
    return true
  }

  emitWithAck() {
    return Promise.reject(new Error('a parent namespace cannot broadcast with acknowledgements: use one of its children'))
  }

  fetchSockets() {
    return Promise.all(this._each().map((op) => op.fetchSockets())).then((l) => l.flat())
  }

  allSockets() {
    return this.fetchSockets().then((sockets) => new Set(sockets.map((s) => s.id)))
  }

  socketsJoin(room) {
    for (const op of this._each()) op.socketsJoin(room)
  }

  socketsLeave(room) {
    for (const op of this._each()) op.socketsLeave(room)
  }

  disconnectSockets(close = false) {
    for (const op of this._each()) op.disconnectSockets(close)
  }
}

module.exports = { BroadcastOperator, ParentBroadcastOperator }
