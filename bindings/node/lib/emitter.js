'use strict'

// @socket.io/redis-emitter's API on the Rust core: emits to the clients of
// a cluster of servers on the classic Redis adapter (socketio-rs servers,
// Rust servers, npm socket.io servers on @socket.io/redis-adapter) from a
// process that is not a server, with the npm emitter's bytes.

const { NativeEmitter, EmitterAction: A } = require('../native')
const { encode } = require('./payload')

const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])

/**
 * The Redis URL of a client of the `redis` package (v4+: `createClient({
 * url })` or `{ socket: { host, port, tls } }`) or of `ioredis`, or a URL
 * given as is: the Rust core makes its own connection to that Redis.
 */
function redisUrl(client) {
  if (typeof client === 'string') return client
  // A cluster client: its nodes, comma-separated, as the seeds of a Redis
  // Cluster (ioredis's `new Cluster(nodes)`; redis v4+'s `createCluster()`,
  // connected, shows its masters but not its credentials: give it a URL
  // list then).
  const seeds =
    client && ((client.options && client.options.rootNodes) || client.startupNodes || (client.isOpen !== undefined && client.masters))
  if (Array.isArray(seeds) && seeds.length > 0) {
    const defaults = (client.options && client.options.defaults) || (client.options && client.options.redisOptions) || {}
    return seeds.map((n) => nodeUrl(n, defaults)).join(',')
  }
  const o = client && client.options
  if (!o || typeof o !== 'object') {
    throw new TypeError('socketio-rs emitter: pass a client of the "redis" or "ioredis" package, or a Redis URL')
  }
  if (typeof o.url === 'string') return o.url
  // redis v4+ keeps the address under `socket`; ioredis at the top.
  const s = o.socket && typeof o.socket === 'object' ? o.socket : o
  if (typeof s.path === 'string') return `unix://${s.path}`
  const tls = !!s.tls
  const host = s.host || 'localhost'
  const port = s.port || 6379
  const user = o.username ? encodeURIComponent(o.username) : ''
  const auth = o.password ? `${user}:${encodeURIComponent(o.password)}@` : user ? `${user}@` : ''
  const db = o.database ?? o.db
  return `${tls ? 'rediss' : 'redis'}://${auth}${host.includes(':') ? `[${host}]` : host}:${port}${db ? `/${db}` : ''}`
}

/** One seed node of a cluster client as a URL, with the shared options'
 *  credentials and TLS. */
function nodeUrl(n, defaults) {
  if (typeof n === 'string') return /^rediss?:\/\//.test(n) ? n : `redis://${n}`
  if (typeof n === 'number') return `redis://127.0.0.1:${n}`
  if (n && typeof n.url === 'string') return n.url
  const o = { ...defaults, ...(n || {}) }
  // redis v4+ keeps the address under `socket`; ioredis at the top.
  if (defaults.socket || (n && n.socket)) o.socket = { ...(defaults.socket || {}), ...((n && n.socket) || {}) }
  return redisUrl({ options: o })
}

/** What every emitter of one `new Emitter()` shares: the connection and
 *  the order of the operations (each waits for the one before, so they
 *  reach Redis in call order). */
class Link {
  constructor(url, key) {
    this.native = new NativeEmitter(url, key)
    this.tail = Promise.resolve()
  }

  run(op, args) {
    const [json, bins] = encode(args)
    const p = this.tail.then(() => this.native.run(op, json, bins))
    // A failed operation does not stop the ones after it.
    this.tail = p.catch(() => {})
    return p
  }
}

function operation(action, nsp, b, extra = {}) {
  return {
    action,
    nsp,
    rooms: [...b.rooms],
    except: [...b.exceptRooms],
    volatile: b.flags.volatile === true,
    compress: typeof b.flags.compress === 'boolean' ? b.flags.compress : undefined,
    compressFirst: Object.keys(b.flags)[0] === 'compress',
    targetRooms: [],
    close: false,
    ...extra,
  }
}

/** A failed emit (which returns `true` at once) is reported as a warning,
 *  not as an unhandled rejection. */
function warnOnFailure(p) {
  p.catch((e) => process.emitWarning(`socketio-rs emitter: ${e && e.message}`))
}

/** @socket.io/redis-emitter's `BroadcastOperator`. */
class BroadcastOperator {
  constructor(link, nsp, rooms = new Set(), exceptRooms = new Set(), flags = {}) {
    this._link = link
    this._nsp = nsp
    this.rooms = rooms
    this.exceptRooms = exceptRooms
    this.flags = flags
  }

  to(room) {
    const rooms = new Set(this.rooms)
    for (const r of Array.isArray(room) ? room : [room]) rooms.add(r)
    return new BroadcastOperator(this._link, this._nsp, rooms, this.exceptRooms, this.flags)
  }

  in(room) {
    return this.to(room)
  }

  except(room) {
    const exceptRooms = new Set(this.exceptRooms)
    for (const r of Array.isArray(room) ? room : [room]) exceptRooms.add(r)
    return new BroadcastOperator(this._link, this._nsp, this.rooms, exceptRooms, this.flags)
  }

  compress(compress) {
    return new BroadcastOperator(this._link, this._nsp, this.rooms, this.exceptRooms, {
      ...this.flags,
      compress,
    })
  }

  get volatile() {
    return new BroadcastOperator(this._link, this._nsp, this.rooms, this.exceptRooms, {
      ...this.flags,
      volatile: true,
    })
  }

  /** Emits to the matching clients; always true, as the npm emitter. */
  emit(ev, ...args) {
    if (RESERVED.has(ev)) throw new Error(`"${ev}" is a reserved event name`)
    warnOnFailure(this._link.run(operation(A.Emit, this._nsp, this, { event: String(ev) }), args))
    return true
  }

  /** The matching sockets join `rooms`; resolves once Redis took it. */
  socketsJoin(rooms) {
    return this._act(A.SocketsJoin, { targetRooms: (Array.isArray(rooms) ? rooms : [rooms]).map(String) })
  }

  /** The matching sockets leave `rooms`; resolves once Redis took it. */
  socketsLeave(rooms) {
    return this._act(A.SocketsLeave, { targetRooms: (Array.isArray(rooms) ? rooms : [rooms]).map(String) })
  }

  /** The matching sockets are disconnected; resolves once Redis took it. */
  disconnectSockets(close = false) {
    return this._act(A.DisconnectSockets, { close: !!close })
  }

  _act(action, extra) {
    const p = this._link.run(operation(action, this._nsp, this, extra), [])
    // The npm emitter returns nothing: a caller that ignores the promise
    // gets a warning rather than an unhandled rejection.
    warnOnFailure(p)
    return p
  }
}

/** @socket.io/redis-emitter's `Emitter`: `new Emitter(redisClient, { key
 *  }, nsp)`, where the client only tells which Redis to reach. */
class Emitter {
  constructor(redisClient, opts, nsp = '/') {
    this.opts = { key: 'socket.io', ...opts }
    this.nsp = nsp
    this._link = redisClient instanceof Link ? redisClient : new Link(redisUrl(redisClient), String(this.opts.key))
    this.redisClient = redisClient
  }

  /** The emitter of another namespace, on the same connection. */
  of(nsp) {
    const e = new Emitter(this._link, this.opts, (nsp[0] !== '/' ? '/' : '') + nsp)
    e.redisClient = this.redisClient
    return e
  }

  _op() {
    return new BroadcastOperator(this._link, this.nsp)
  }

  emit(ev, ...args) {
    return this._op().emit(ev, ...args)
  }

  to(room) {
    return this._op().to(room)
  }

  in(room) {
    return this._op().in(room)
  }

  except(room) {
    return this._op().except(room)
  }

  get volatile() {
    return this._op().volatile
  }

  compress(compress) {
    return this._op().compress(compress)
  }

  socketsJoin(rooms) {
    return this._op().socketsJoin(rooms)
  }

  socketsLeave(rooms) {
    return this._op().socketsLeave(rooms)
  }

  disconnectSockets(close = false) {
    return this._op().disconnectSockets(close)
  }

  /** Sends to the servers' `serverSideEmit` listeners; no
   *  acknowledgements (the npm emitter refuses them too). */
  serverSideEmit(...args) {
    if (typeof args[args.length - 1] === 'function') throw new Error('Acknowledgements are not supported')
    const [ev, ...rest] = args
    const p = this._link.run(operation(A.ServerSideEmit, this.nsp, this._op(), { event: String(ev) }), rest)
    warnOnFailure(p)
    return p
  }
}

module.exports = { Emitter, BroadcastOperator, RESERVED_EVENTS: RESERVED, redisUrl }
