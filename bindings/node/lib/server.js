'use strict'

const { EventEmitter } = require('node:events')
const { NativeServer } = require('../native')
const { EventKind: K } = require('../native')
const { encode, decode } = require('./payload')
const { emitGuarded, report, Callbacks, ms, nativeDispatcher } = require('./util')
const { Socket, RemoteSocket, RESERVED } = require('./socket')
const { Acks } = require('./ack')
const { BroadcastOperator, ParentBroadcastOperator } = require('./broadcast')
const { attach } = require('./attach')
const { corsOptions, decideOrigin, regexSource } = require('./cors')
const { REDIS, serverOptions, attachOptions, adapterOptions, isJsAdapter, ADAPTER_METHODS } = require('./options')
const { Engine } = require('./engine')

/**
 * The `adapter` option joining a Redis cluster, in the wire protocol of the
 * official Node adapters, so Node socket.io servers with
 * `@socket.io/redis-adapter` (flavour `classic` or `sharded`) or
 * `@socket.io/redis-streams-adapter` (`streams`) can share the cluster:
 *
 *   new Server(3000, { adapter: createRedisAdapter('redis://127.0.0.1:6379') })
 *
 * `url` may be `rediss://` (TLS), carry an ACL user
 * (`redis://user:password@host`), be `redis+sentinel://host:port,.../db/service`,
 * or list the seed nodes of a Redis Cluster: an array of URLs, or one string
 * of comma-separated URLs.
 */
function createRedisAdapter(url, opts = {}) {
  if (Array.isArray(url) && url.length > 0 && url.every((u) => typeof u === 'string')) url = url.join(',')
  if (typeof url !== 'string') throw new TypeError('createRedisAdapter: the Redis url is required')
  const types = { key: 'string', flavour: 'string', publishOnSpecificResponseChannel: 'boolean', subscriptionMode: 'string' }
  for (const [name, type] of Object.entries(types)) {
    if (opts[name] !== undefined && typeof opts[name] !== type) {
      throw new TypeError(`createRedisAdapter: option "${name}" must be a ${type}`)
    }
  }
  const adapter = function socketioRsRedisAdapter() {
    throw new Error('createRedisAdapter() is an option of socketio-rs servers: pass it as `adapter`')
  }
  adapter[REDIS] = {
    url,
    key: typeof opts.key === 'string' ? opts.key : undefined,
    flavour: typeof opts.flavour === 'string' ? opts.flavour : undefined,
    requestsTimeout: ms(opts.requestsTimeout),
    publishOnSpecificResponseChannel:
      typeof opts.publishOnSpecificResponseChannel === 'boolean' ? opts.publishOnSpecificResponseChannel : undefined,
    subscriptionMode: typeof opts.subscriptionMode === 'string' ? opts.subscriptionMode : undefined,
  }
  return adapter
}

/** A namespace: socket.io's `Namespace`. */
class Namespace extends EventEmitter {
  constructor(server, name, handle) {
    super()
    this.server = server
    this.name = name
    this.sockets = new Map()
    // Sockets still in the middlewares (socket.io's `_preConnectSockets`).
    this._preConnectSockets = new Map()
    this._h = handle
    this._fns = []
    this._key = server._addTarget(this)
    this._adapter = null
    // The adapter made by an adapter class written in JS (socket.io's
    // `nsp.adapter`): rooms and broadcasts then run through it.
    this._jsAdapter = null
    // Acknowledgement ids of a JS adapter's broadcasts (socket.io's `_ids`).
    this._ids = 0
    this._serverSide = new Set()
    handle.watchConnections(this._key)
    // As socket.io: a listener for any other event hears what the other
    // servers of the cluster send with `serverSideEmit`.
    this.on('newListener', (event) => {
      if (typeof event !== 'string' || NAMESPACE_EVENTS.has(event) || this._serverSide.has(event)) return
      this._serverSide.add(event)
      if (this._h.onServerSideEmit) this._h.onServerSideEmit(event, this._key)
    })
  }

  use(fn) {
    if (this._fns.length === 0) this._h.useMiddleware(this._key)
    this._fns.push(fn)
    return this
  }

  _op() {
    return new BroadcastOperator(this, null)
  }

  to(room) {
    return this._op().to(room)
  }

  in(room) {
    return this._op().to(room)
  }

  except(room) {
    return this._op().except(room)
  }

  get local() {
    return this._op().local
  }

  get volatile() {
    return this._op().volatile
  }

  compress(compress) {
    return this._op().compress(compress)
  }

  timeout(t) {
    return this._op().timeout(t)
  }

  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return EventEmitter.prototype.emit.call(this, event, ...args)
    }
    return this._op().emit(event, ...args)
  }

  emitWithAck(event, ...args) {
    return this._op().emitWithAck(event, ...args)
  }

  send(...args) {
    this.emit('message', ...args)
    return this
  }

  write(...args) {
    return this.send(...args)
  }

  fetchSockets() {
    return this._op().fetchSockets()
  }

  /** The ids of the namespace's sockets (socket.io's deprecated `allSockets`). */
  allSockets() {
    return this._op().allSockets()
  }

  socketsJoin(room) {
    this._op().socketsJoin(room)
  }

  socketsLeave(room) {
    this._op().socketsLeave(room)
  }

  disconnectSockets(close = false) {
    this._op().disconnectSockets(close)
  }

  /** Sends to the other servers of a cluster (none with this server alone). */
  serverSideEmit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`)
    if (this._jsAdapter) {
      this._jsAdapter.serverSideEmit([event, ...args])
      return true
    }
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() : null
    const [json, bins] = encode(args)
    const id = cb ? this.server._cbs.add((err, res) => cb(err, res === undefined ? [] : res[0])) : undefined
    this.server._native.serverSideEmit(this.name, event, json, bins, this.server._ackTimeout, id)
    return true
  }

  serverSideEmitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      this.serverSideEmit(event, ...args, (err, res) => (err ? reject(err) : resolve(res)))
    })
  }

  /**
   * The namespace's adapter as socket.io shows it: its rooms and their
   * members (built on demand), and its room events (`create-room`,
   * `join-room`, `leave-room`, `delete-room`).
   */
  get adapter() {
    if (this._jsAdapter) return this._jsAdapter
    if (!this._adapter) this._adapter = new NamespaceAdapter(this)
    return this._adapter
  }

  /**
   * socket.io's `_initAdapter` for an adapter class written in JS: made as
   * socket.io makes it (`new adapter(nsp)`), told the rooms of the sockets
   * already here, then `init()`.
   */
  _initAdapter(Adapter) {
    let a
    try {
      a = new Adapter(this)
    } catch (e) {
      throw new TypeError(`socketio-rs: option "adapter": making the adapter of "${this.name}" failed: ${e && e.message}`)
    }
    const missing = ADAPTER_METHODS.filter((m) => a === null || typeof a !== 'object' || typeof a[m] !== 'function')
    if (missing.length > 0) {
      throw new TypeError(
        `socketio-rs: option "adapter": what it made is not an adapter (no ${missing.join('(), ')}()): extend Adapter of socket.io-adapter`,
      )
    }
    const old = this._jsAdapter
    this._jsAdapter = a
    for (const [id, socket] of this.sockets) a.addAll(id, socket.rooms)
    settle(() => (typeof a.init === 'function' ? a.init() : undefined))
    if (old) closeAdapter(old)
  }

  /** Drops the JS adapter (the native one takes over). */
  _dropAdapter() {
    if (!this._jsAdapter) return
    closeAdapter(this._jsAdapter)
    this._jsAdapter = null
  }

  /** What another server of the cluster sent with `serverSideEmit`, as a
   *  JS adapter hands it over (socket.io's `_onServerSideEmit`). */
  _onServerSideEmit(args) {
    emitGuarded(this, args[0], args.slice(1))
  }

  _onconnection(socket) {
    emitGuarded(this, 'connect', [socket])
    emitGuarded(this, 'connection', [socket])
  }

  /** Runs the middlewares in order; the first error refuses. */
  _runMiddlewares(socket, next) {
    const fns = this._fns.slice()
    const pending = socket.nsp._preConnectSockets
    pending.set(socket.id, socket)
    let i = 0
    const step = (err) => {
      if (err || i >= fns.length) pending.delete(socket.id)
      if (err) {
        this.server._sockets.delete(socket._key)
        // A room joined in a middleware is left (socket.io's `_cleanup`).
        if (socket.nsp._jsAdapter) socket.nsp._jsAdapter.delAll(socket.id)
        const data = err.data === undefined ? undefined : JSON.stringify(err.data)
        return next.refuse(String(err && err.message !== undefined ? err.message : err), data)
      }
      if (i >= fns.length) {
        socket._syncData()
        return next.accept()
      }
      const fn = fns[i++]
      let called = false
      try {
        fn(socket, (e) => {
          if (called) return
          called = true
          step(e)
        })
      } catch (e) {
        report(e)
        if (!called) {
          called = true
          step(e)
        }
      }
    }
    step()
  }
}

/** Runs `fn`, reporting what it throws or the promise it returns rejects with. */
function settle(fn) {
  try {
    const r = fn()
    if (r && typeof r.then === 'function') r.then(undefined, report)
  } catch (e) {
    report(e)
  }
}

/** Closes a JS adapter (its timers and subscriptions), as socket.io's `close()`. */
function closeAdapter(a) {
  settle(() => (typeof a.close === 'function' ? a.close() : undefined))
}

/** `io.encoder` for adapters written in JS: each packet is its own encoding. */
const PASSTHROUGH = Object.freeze({ encode: (packet) => [packet] })

/** Events of a namespace itself, never another server's `serverSideEmit`. */
const NAMESPACE_EVENTS = new Set(['connect', 'connection', 'new_namespace', 'newListener', 'removeListener'])

/** The adapter's room events. */
const ROOM_EVENTS = new Set(['create-room', 'delete-room', 'join-room', 'leave-room'])

/** socket.io's `nsp.adapter`: rooms, members and room events. */
class NamespaceAdapter extends EventEmitter {
  constructor(nsp) {
    super()
    this.nsp = nsp
    let watching = false
    this.on('newListener', (event) => {
      if (watching || !ROOM_EVENTS.has(event) || !nsp._h.onRoomEvent) return
      watching = true
      nsp._h.onRoomEvent(nsp._key)
    })
  }

  /** Each room of this server's sockets, with their ids. */
  get rooms() {
    const rooms = new Map()
    for (const [id, s] of this.nsp.sockets) {
      for (const room of s.rooms) {
        if (!rooms.has(room)) rooms.set(room, new Set())
        rooms.get(room).add(id)
      }
    }
    return rooms
  }

  /** Each socket id of this server with its rooms. */
  get sids() {
    const sids = new Map()
    for (const [id, s] of this.nsp.sockets) sids.set(id, s.rooms)
    return sids
  }
}

/** A dynamic namespace (`io.of(regex | fn)`): socket.io's `ParentNamespace`. */
class ParentNamespace extends Namespace {
  constructor(server, matcher) {
    // Not a namespace of its own: no native namespace handle.
    super(server, matcher.toString(), { watchConnections() {}, useMiddleware() {} })
    this._matcher = typeof matcher === 'function' ? matcher : null
    this._regex = matcher instanceof RegExp ? new RegExp(matcher.source, matcher.flags.replace(/[gy]/g, '')) : null
    this._h = this._matcher
      ? server._native.ofFn(this._key)
      : server._native.ofRegex(regexSource(matcher), this._key)
  }

  use(fn) {
    if (this._fns.length === 0) this._h.useMiddleware(this._key)
    this._fns.push(fn)
    return this
  }

  _children() {
    return this._h.children().map((name) => this.server.of(name))
  }

  /**
   * The child namespaces: those its connections created, and those made
   * with `io.of(name)` whose name the RegExp matches, as socket.io attaches
   * them.
   */
  get children() {
    const set = new Set(this._children())
    if (this._regex) {
      for (const [name, nsp] of this.server._nsps) {
        if (this._regex.test(name)) set.add(nsp)
      }
    }
    return set
  }

  _op() {
    return new ParentBroadcastOperator(this)
  }

  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return EventEmitter.prototype.emit.call(this, event, ...args)
    }
    return this._op().emit(event, ...args)
  }

  /** Asks the user's function about a namespace name, with the CONNECT's
   *  `auth` (`{}` when the client sent none), as socket.io's
   *  `_checkNamespace`. */
  _match(name, auth, reply) {
    let answered = false
    const next = (err, ok) => {
      if (answered) return
      answered = true
      reply.answer(!err && !!ok)
    }
    try {
      this._matcher(name, auth, next)
    } catch (e) {
      report(e)
      next(e)
    }
  }
}

/**
 * Runs `make` with the native options `native` (of the JS options `opts`),
 * again with what JS takes over when the core refuses a part of them.
 */
function withFallbacks(native, opts, make) {
  for (;;) {
    try {
      return make(native)
    } catch (err) {
      if (native.cors && native.cors.mode === 'match' && /cors origin pattern/.test(err.message)) {
        // A RegExp origin the Rust regex engine cannot run (lookaround,
        // backreferences) is tested in JS instead.
        native.cors = corsOptions(opts.cors, true)
      } else if (native.serveClient && /^serveClient:/.test(err.message)) {
        // The files found cannot be read: serving them was only the default.
        if (native.serveClientExplicit) {
          throw new TypeError(`socketio-rs: option "serveClient": ${err.message.replace(/^serveClient: /, '')}`)
        }
        native.serveClient = undefined
      } else {
        throw err
      }
    }
  }
}

/** socket.io's `Server`. */
class Server extends EventEmitter {
  constructor(srv, opts) {
    super()
    if (srv !== null && typeof srv === 'object' && typeof srv.listen !== 'function') {
      opts = srv
      srv = undefined
    }
    this.opts = opts || {}
    // The engine's options: the constructor's, merged with those of
    // `attach()` (as socket.io hands engine.io `Object.assign(opts, this.opts)`).
    this._engineOpts = this.opts
    // Every option is checked before anything is made.
    const native = serverOptions(this.opts)
    this._path = (this.opts.path || '/socket.io').replace(/\/$/, '')
    this._recovery = !!this.opts.connectionStateRecovery
    // Other servers read `socket.data` through fetchSockets.
    this._cluster = !!native.adapter
    this._adapterOpt = this.opts.adapter
    // An adapter class written in JS makes every namespace's adapter.
    this._adapterClass = isJsAdapter(this.opts.adapter) ? this.opts.adapter : null
    this._ackTimeout = ms(this.opts.ackTimeout) ?? 5000
    this._cbs = new Callbacks()
    this._targets = new Map()
    this._nextTarget = 1
    this._sockets = new Map()
    this._nspMap = new Map()
    this._parents = []
    this._closed = false
    this._detach = null
    const dispatch = nativeDispatcher((ev) => this._dispatch(ev))
    withFallbacks(native, this.opts, (n) => {
      this._native = new NativeServer(n, dispatch)
    })
    this._acks = new Acks(this._native)
    this.httpServer = null
    /** engine.io's server: `io.engine` (also `io.eio`). */
    this.engine = new Engine(this, this._native, this.opts)
    this.sockets = this.of('/')
    if (srv !== undefined && srv !== null) this.attach(srv)
  }

  get eio() {
    return this.engine
  }

  /**
   * socket.io's `io.encoder`, as adapters written in JS use it: the packets
   * stay as they are (the Rust core encodes them when
   * `socket.client.writeToEngine()` hands them over).
   */
  get encoder() {
    return PASSTHROUGH
  }

  /** The namespaces by name (socket.io's `_nsps`), without those dropped. */
  get _nsps() {
    for (const [name, nsp] of this._nspMap) {
      if (nsp._h.removed) this._nspMap.delete(name)
    }
    return this._nspMap
  }

  _addTarget(obj) {
    const key = this._nextTarget++
    this._targets.set(key, obj)
    return key
  }

  /**
   * socket.io's `io.adapter()`: the adapter given (undefined for the
   * in-memory one). Set, until the first client connects (listening or
   * attached already is fine), to `createRedisAdapter(url)` or a factory
   * of `@socket.io/redis-adapter` (`createAdapter(pub, sub)`,
   * `createShardedAdapter(...)`): every namespace then runs on the native
   * adapter of that cluster, handlers and room listeners kept. Afterwards
   * it throws: the rooms the sockets joined would be lost (socket.io
   * loses them). An adapter class written in JS (extending socket.io-adapter's
   * `Adapter`, or the factory of a `ClusterAdapter` such as
   * `@socket.io/cluster-adapter`) can be set at any time, as in socket.io:
   * every namespace gets one, told the rooms its sockets are in.
   */
  adapter(v) {
    if (v === undefined) return this._adapterOpt
    const native = adapterOptions(v, this._recovery)
    const js = isJsAdapter(v)
    if (!js || this._cluster) {
      try {
        this._native.setAdapter({ adapter: native })
      } catch (err) {
        if (/fixed once a client has connected/.test(err.message)) {
          throw new Error(`socketio-rs: io.adapter(...) after a client connected: ${err.message}; set it before the server takes connections`)
        }
        throw err
      }
    }
    this._adapterOpt = v
    this._cluster = !!native
    this._adapterClass = js ? v : null
    for (const nsp of this._nsps.values()) {
      if (js) nsp._initAdapter(v)
      else nsp._dropAdapter()
    }
    return this
  }

  path(v) {
    if (v === undefined) return this._path
    throw new Error('the path is fixed once the server is created: pass it in the options')
  }

  /** Listens on a port, or attaches to an `http.Server`. */
  listen(srv, opts) {
    return this.attach(srv, opts)
  }

  attach(srv, opts) {
    const merged = attachOptions(opts, this.opts)
    if (merged) {
      const native = serverOptions(merged)
      try {
        withFallbacks(native, merged, (n) => this._native.setEngineOptions(n))
      } catch (err) {
        if (!/fixed once the server has served/.test(err.message)) throw err
        throw new Error(
          `socketio-rs: the options of attach()/listen() (${Object.keys(opts).join(', ')}) come too late: this server has served already and its engine's options are fixed`,
        )
      }
      this._engineOpts = merged
      this.engine._opts = merged
    }
    // As socket.io, a closed server listens again (same namespaces and
    // handlers); the native side reopens when it binds.
    const reopening = this._closed
    if (typeof srv === 'number' || typeof srv === 'string') {
      const port = Number(srv)
      let bound
      try {
        bound = this._native.listen(`[::]:${port}`)
      } catch {
        bound = this._native.listen(`0.0.0.0:${port}`)
      }
      if (reopening) this._closed = false
      // While listening, the server keeps Node running, as socket.io's
      // http.Server does.
      this._native.setRef(true)
      this.httpServer = listeningShim(bound)
      return this
    }
    const port = this._native.listen('127.0.0.1:0')
    if (reopening) this._closed = false
    // The engine's path (`io.path()` stays the constructor's, as socket.io's).
    const enginePath = (this._engineOpts.path || this._path).replace(/\/$/, '')
    this._detach = attach(srv, enginePath, port, {
      destroyUpgrade: this._engineOpts.destroyUpgrade !== false,
      destroyUpgradeTimeout: this._engineOpts.destroyUpgradeTimeout || 1000,
      serveFd: (fd, head) => this._native.serveFd(fd, head),
    })
    this.httpServer = srv
    srv.once('close', () => this._closeNative())
    return this
  }

  /** A namespace by name, or a dynamic one by RegExp or function. */
  of(name, fn) {
    if (typeof name === 'function' || name instanceof RegExp) {
      const parent = new ParentNamespace(this, name)
      this._parents.push(parent)
      if (fn) parent.on('connection', fn)
      return parent
    }
    name = String(name)
    if (!name.startsWith('/')) name = '/' + name
    let nsp = this._nspMap.get(name)
    if (nsp && nsp._h.removed) {
      // An empty dynamic child the server dropped
      // (`cleanupEmptyChildNamespaces`): the name is free again.
      this._nspMap.delete(name)
      nsp = undefined
    }
    if (!nsp) {
      nsp = new Namespace(this, name, this._native.of(name))
      if (this._adapterClass) nsp._initAdapter(this._adapterClass)
      this._nspMap.set(name, nsp)
      // As socket.io, for every namespace after the main one: made here or
      // by a connection to a dynamic namespace's child.
      if (this.sockets) EventEmitter.prototype.emit.call(this.sockets, 'new_namespace', nsp)
    }
    if (fn) nsp.on('connection', fn)
    return nsp
  }

  use(fn) {
    this.sockets.use(fn)
    return this
  }

  to(room) {
    return this.sockets.to(room)
  }

  in(room) {
    return this.sockets.to(room)
  }

  except(room) {
    return this.sockets.except(room)
  }

  get local() {
    return this.sockets.local
  }

  get volatile() {
    return this.sockets.volatile
  }

  compress(c) {
    return this.sockets.compress(c)
  }

  timeout(t) {
    return this.sockets.timeout(t)
  }

  emit(event, ...args) {
    if (event === 'newListener' || event === 'removeListener') {
      return EventEmitter.prototype.emit.call(this, event, ...args)
    }
    this.sockets.emit(event, ...args)
    return true
  }

  emitWithAck(event, ...args) {
    return this.sockets.emitWithAck(event, ...args)
  }

  send(...args) {
    this.sockets.send(...args)
    return this
  }

  write(...args) {
    return this.send(...args)
  }

  fetchSockets() {
    return this.sockets.fetchSockets()
  }

  /** The ids of the main namespace's sockets (socket.io's deprecated `allSockets`). */
  allSockets() {
    return this.sockets.allSockets()
  }

  socketsJoin(room) {
    this.sockets.socketsJoin(room)
  }

  socketsLeave(room) {
    this.sockets.socketsLeave(room)
  }

  disconnectSockets(close = false) {
    this.sockets.disconnectSockets(close)
  }

  serverSideEmit(event, ...args) {
    return this.sockets.serverSideEmit(event, ...args)
  }

  serverSideEmitWithAck(event, ...args) {
    return this.sockets.serverSideEmitWithAck(event, ...args)
  }

  /**
   * Disconnects every client and stops serving (and closes the attached
   * `http.Server`, as socket.io does); resolves once done.
   */
  close(fn) {
    return new Promise((resolve) => {
      const finish = (err) => {
        if (fn) {
          try {
            fn(err)
          } catch (e) {
            report(e)
          }
        }
        resolve()
      }
      const srv = this.httpServer
      // As socket.io: the sessions are closed, then the http.Server at
      // once, so its port is free by the time a client hears of the close
      // (connections already open go on: a polling client's pending poll
      // gets the close packet through the relay, which stays until the
      // sessions are gone). An http.Server that is not running answers
      // ERR_SERVER_NOT_RUNNING, which socket.io hands to the callback too.
      let pending = 2
      let srvErr
      const step = () => {
        if (--pending === 0) finish(srvErr)
      }
      this._closeNative(step)
      if (srv) {
        srv.close((err) => {
          srvErr = err
          step()
        })
      } else step()
    })
  }

  _closeNative(done) {
    if (this._closed) {
      if (done) this._whenClosed.then(done)
      return
    }
    this._closed = true
    // Referenced until the native side confirms, so the confirmation (and
    // the sockets' `disconnect` events before it) are delivered.
    this._native.setRef(true)
    this._whenClosed = new Promise((resolve) => {
      const id = this._cbs.add(() => {
        // The relay stays until the sessions are gone: polling clients
        // fetch the close packet through it.
        if (this._detach) {
          this._detach()
          this._detach = null
        }
        this._native.setRef(false)
        // As socket.io, the adapters close with the server (a cluster
        // adapter's timers and subscriptions with them).
        for (const nsp of this._nspMap.values()) if (nsp._jsAdapter) closeAdapter(nsp._jsAdapter)
        resolve()
      })
      this._native.close(id)
    })
    if (done) this._whenClosed.then(done)
  }

  /**
   * engine.io's `allowRequest(req, fn)` for one handshake; `req` stands in
   * for the `http.IncomingMessage` (method, url, headers, httpVersion,
   * `_query`, `socket.remoteAddress`), the one `io.engine.use()`
   * middlewares saw.
   */
  _allowRequest([method, url, headers, httpVersion, remoteAddress, tag], reply) {
    const req = this.engine._requestFor({ method, url, headers, httpVersion, remoteAddress, tag })
    let answered = false
    const fn = (err, success) => {
      if (answered) return
      answered = true
      if (success) return reply.answerWith(1, null)
      // engine.io answers 403 with the error as the message, or "Forbidden".
      reply.answerWith(0, err ? String(err) : null)
    }
    try {
      this._engineOpts.allowRequest(req, fn)
    } catch (err) {
      report(err)
      fn(null, false)
    }
  }

  /** An engine question: answered whatever happens, the engine waits. */
  _askEngine(ev, method) {
    try {
      this.engine[method](decode(ev.json, ev.bins), ev.reply)
    } catch (err) {
      report(err)
      ev.reply.answerWith(0, String(err))
    }
  }

  /** The JS socket of a native handle, created on first sight. */
  _socketFor(h) {
    let s = this._sockets.get(h.key)
    if (!s) {
      s = new Socket(this.of(h.nsp), h)
      this._sockets.set(h.key, s)
    }
    return s
  }

  /** Every native event arrives here, on the JS thread. */
  _dispatch(ev) {
    try {
      this._handle(ev)
    } catch (err) {
      report(err)
    }
  }

  _handle(ev) {
    switch (ev.kind) {
      case K.Connection: {
        const target = this._targets.get(ev.target)
        const socket = this._socketFor(ev.socket)
        socket.nsp.sockets.set(socket.id, socket)
        // socket.io's `_onconnect` joins the socket's own room.
        if (socket.nsp._jsAdapter) socket.nsp._jsAdapter.addAll(socket.id, socket.rooms)
        if (target) target._onconnection(socket)
        socket._syncData()
        break
      }
      case K.Event: {
        const s = this._sockets.get(ev.target)
        if (s) s._onevent(ev.name, ev, ev.ack)
        else if (ev.ack !== undefined) this._acks.drop(ev.ack)
        break
      }
      case K.ServerSideEmit: {
        const nsp = this._targets.get(ev.target)
        if (nsp) {
          const args = decode(ev.json, ev.bins)
          let ack
          if (ev.ack !== undefined) {
            ack = this._acks.make(ev.ack)
            args.push(ack.fn)
          }
          emitGuarded(nsp, ev.name, args)
          if (ack !== undefined) this._acks.settle(ack)
        } else if (ev.ack !== undefined) this._acks.drop(ev.ack)
        break
      }
      case K.RoomEvent: {
        const nsp = this._targets.get(ev.target)
        if (nsp && nsp._adapter) emitGuarded(nsp._adapter, ev.name, decode(ev.json, ev.bins))
        break
      }
      case K.SocketError: {
        const s = this._sockets.get(ev.target)
        if (s) {
          const [err] = decode(ev.json, ev.bins)
          emitGuarded(s, 'error', [new Error(typeof err === 'string' ? err : JSON.stringify(err))])
        }
        break
      }
      case K.AnyOutgoing: {
        const s = this._sockets.get(ev.target)
        if (s) s._onany(s._anyOut, ev.name, decode(ev.json, ev.bins))
        break
      }
      case K.Disconnecting: {
        const s = this._sockets.get(ev.target)
        if (s) {
          s._roomsSnapshot = new Set(decode(ev.json, ev.bins)[0])
          emitGuarded(s, 'disconnecting', [ev.name])
          s._roomsSnapshot = null
        }
        break
      }
      case K.Disconnect: {
        const s = this._sockets.get(ev.target)
        if (s) {
          this._sockets.delete(ev.target)
          s.nsp.sockets.delete(s.id)
          if (s.nsp._jsAdapter) s.nsp._jsAdapter.delAll(s.id)
          emitGuarded(s, 'disconnect', [ev.name])
        }
        break
      }
      case K.Middleware: {
        const target = this._targets.get(ev.target)
        const socket = this._socketFor(ev.socket)
        if (target) target._runMiddlewares(socket, ev.next)
        else ev.next.accept()
        break
      }
      case K.Done:
      case K.Failed: {
        const cb = this._cbs.take(ev.target)
        if (!cb) break
        const args = ev.json != null ? decode(ev.json, ev.bins) : undefined
        cb(ev.kind === K.Failed ? new Error(ev.name) : null, args, ev)
        break
      }
      case K.Origin: {
        decideOrigin(this._engineOpts.cors.origin, ev.name === null ? undefined : ev.name, (code) => ev.reply.answerCode(code), report)
        break
      }
      case K.AllowRequest: {
        this._allowRequest(decode(ev.json, ev.bins), ev.reply)
        break
      }
      case K.EngineMiddleware: {
        this._askEngine(ev, '_onMiddleware')
        break
      }
      case K.GenerateId: {
        this._askEngine(ev, '_onGenerateId')
        break
      }
      case K.Headers: {
        this._askEngine(ev, '_onHeaders')
        break
      }
      case K.ConnectionError: {
        this.engine._onConnectionError(decode(ev.json, ev.bins))
        break
      }
      case K.EngineConnection: {
        this.engine._onConnection(ev.engine)
        break
      }
      case K.EngineUpgrade: {
        this.engine._onUpgrade(ev.name)
        break
      }
      case K.EnginePacket: {
        this.engine._onPacket(ev.name, decode(ev.json, ev.bins))
        break
      }
      case K.EnginePacketCreate: {
        this.engine._onPacketCreate(ev.name, decode(ev.json, ev.bins))
        break
      }
      case K.EngineClose: {
        this.engine._onClose(ev.name, decode(ev.json, ev.bins))
        break
      }
      case K.Match: {
        const target = this._targets.get(ev.target)
        if (target && target._match) target._match(ev.name, decode(ev.json, ev.bins)[0], ev.reply)
        else ev.reply.answer(false)
        break
      }
      default:
        break
    }
  }
}

/** What `io.httpServer` answers when the server listens by itself. */
function listeningShim(port) {
  const shim = {
    listening: true,
    address: () => ({ address: '::', family: 'IPv6', port }),
    close: (cb) => {
      let err
      if (!shim.listening) {
        err = new Error('Server is not running.')
        err.code = 'ERR_SERVER_NOT_RUNNING'
      }
      shim.listening = false
      if (cb) process.nextTick(cb, err)
    },
  }
  return shim
}

// Like socket.io, `io.on(...)` and the other listener methods act on the
// main namespace.
for (const m of [
  'on',
  'once',
  'off',
  'addListener',
  'prependListener',
  'prependOnceListener',
  'removeListener',
  'removeAllListeners',
  'listeners',
  'rawListeners',
  'listenerCount',
  'eventNames',
]) {
  Server.prototype[m] = function (...args) {
    const r = this.sockets[m](...args)
    return r === this.sockets ? this : r
  }
}

module.exports = { Server, Namespace, ParentNamespace, createRedisAdapter }
