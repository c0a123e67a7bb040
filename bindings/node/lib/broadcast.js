'use strict'

const { encode } = require('./payload')

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
    if (typeof args[args.length - 1] === 'function') {
      const cb = args.pop()
      const id = this._nsp.server._cbs.add((err, res) => cb(err, res === undefined ? [] : res[0]))
      const [json, bins] = encode(args)
      this._target.bcastEmitWithAck(this._f, event, json, bins, id)
      return true
    }
    const [json, bins] = encode(args)
    this._target.bcastEmit(this._f, event, json, bins)
    return true
  }

  /** Emits and resolves with the array of answers. */
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      this.emit(event, ...args, (err, responses) => (err ? reject(err) : resolve(responses)))
    })
  }

  /** The selected sockets. */
  fetchSockets() {
    return new Promise((resolve, reject) => {
      const server = this._nsp.server
      const id = server._cbs.add((err, _res, ev) => {
        if (err) return reject(err)
        resolve((ev.sockets || []).map((h) => server._socketFor(h)))
      })
      this._target.bcastAct(this._f, 'fetch', [], false, id)
    })
  }

  socketsJoin(room) {
    this._target.bcastAct(this._f, 'join', [].concat(room).map(String), false, 0)
  }

  socketsLeave(room) {
    this._target.bcastAct(this._f, 'leave', [].concat(room).map(String), false, 0)
  }

  disconnectSockets(close = false) {
    this._target.bcastAct(this._f, 'disconnect', [], !!close, 0)
  }
}

module.exports = { BroadcastOperator }
