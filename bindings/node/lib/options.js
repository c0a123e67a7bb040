'use strict'

// The options of socket.io's `Server` and of socket.io-client's `io()` /
// `Manager`, checked when the server or client is made: each one is either
// honoured as socket.io honours it, accepted when its value is socket.io's
// default or has no effect outside a browser, or refused with a TypeError
// naming it. None is silently ignored, and a misspelt name throws.

const path = require('node:path')
const { corsOptions } = require('./cors')
const { ms } = require('./util')

/** Marks the `adapter` of `createRedisAdapter()`. */
const REDIS = Symbol('socketio-rs redis adapter')

function fail(message) {
  throw new TypeError(`socketio-rs: ${message}`)
}

/** Refuses a value of `name` the Rust core cannot honour. */
function unsupported(name, why) {
  fail(`option "${name}" is not supported yet${why ? ` (${why})` : ''}`)
}

/** Absent: `undefined`, or `null` (socket.io's defaults then apply too). */
function given(v) {
  return v !== undefined && v !== null
}

function number(name, v) {
  if (!given(v)) return undefined
  if (typeof v !== 'number' || !(v >= 0)) fail(`option "${name}" must be a non-negative number`)
  return v
}

function boolean(name, v) {
  if (!given(v)) return undefined
  if (typeof v !== 'boolean') fail(`option "${name}" must be a boolean`)
  return v
}

function string(name, v) {
  if (!given(v)) return undefined
  if (typeof v !== 'string') fail(`option "${name}" must be a string`)
  return v
}

/** Accepts only the values that change nothing (`ok(v)` true). */
function inert(name, v, ok, why) {
  if (given(v) && !ok(v)) unsupported(name, why)
}

function distance(a, b) {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return d[b.length]
}

/** Throws on a name not in `known`, suggesting the closest one. */
function checkNames(opts, known, what, prefix = '') {
  for (const k of Object.keys(opts)) {
    if (known.has(k)) continue
    let best = null
    let bestD = 3
    for (const n of known) {
      const dist = n.toLowerCase() === k.toLowerCase() ? 0 : distance(k, n)
      if (dist < bestD) {
        best = n
        bestD = dist
      }
    }
    const hint = best ? ` (did you mean "${prefix}${best}"?)` : ''
    fail(`unknown option "${prefix}${k}": not an option of ${what}${hint}`)
  }
}

function object(name, v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`option "${name}" must be an object`)
  return v
}

// --- module identity ---------------------------------------------------

/** The npm package a loaded file belongs to (`@scope/name` or `name`). */
function packageOf(file) {
  const parts = file.split(/[\\/]/)
  const i = parts.lastIndexOf('node_modules')
  if (i < 0 || i + 1 >= parts.length) return null
  return parts[i + 1].startsWith('@') ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1]
}

/**
 * The loaded copies of the npm packages `names` (every CommonJS module,
 * including those brought in by `import`, is in `require.cache`).
 */
function loaded(names) {
  const out = []
  for (const [file, mod] of Object.entries(require.cache)) {
    const pkg = packageOf(file)
    if (pkg && names.includes(pkg) && mod && mod.exports) out.push([pkg, mod.exports])
  }
  return out
}

// --- parser --------------------------------------------------------------

const PARSERS = { 'socket.io-parser': 'default', 'socket.io-msgpack-parser': 'msgpack' }

/** `{type: EVENT, nsp: '/', data: ['probe', 1]}` as socket.io-msgpack-parser writes it. */
const MSGPACK_PROBE = Buffer.from('83a47479706502a36e7370a12fa46461746192a570726f626501', 'hex')

const parserKinds = new WeakMap()

function isBytes(v) {
  return v instanceof Uint8Array || v instanceof ArrayBuffer
}

/**
 * A parser that is not one of the loaded packages (bundled, copied) is
 * recognised by what it writes and reads back: exactly the default
 * parser's text, or exactly socket.io-msgpack-parser's bytes.
 */
function probeParser(p) {
  if (typeof p.Encoder !== 'function' || typeof p.Decoder !== 'function' || p.protocol !== 5) return null
  try {
    const out = new p.Encoder().encode({ type: 2, nsp: '/', data: ['probe', 1] })
    if (!Array.isArray(out) || out.length !== 1) return null
    const wire = out[0]
    let kind = null
    if (wire === '2["probe",1]') {
      // A custom JSON replacer would show on a Date.
      const dated = new p.Encoder().encode({ type: 2, nsp: '/', data: [new Date(0)] })
      if (dated.length === 1 && dated[0] === '2["1970-01-01T00:00:00.000Z"]') kind = 'default'
    } else if (isBytes(wire) && Buffer.from(wire).equals(MSGPACK_PROBE)) {
      kind = 'msgpack'
    }
    if (!kind) return null
    let decoded = null
    const d = new p.Decoder()
    d.on('decoded', (packet) => {
      decoded = packet
    })
    d.add(wire)
    const ok =
      decoded && decoded.type === 2 && decoded.nsp === '/' && JSON.stringify(decoded.data) === '["probe",1]'
    return ok ? kind : null
  } catch {
    return null
  }
}

/**
 * `'default'` or `'msgpack'` for the `parser` option of a server or client:
 * socket.io-parser (the default) and socket.io-msgpack-parser, the module
 * itself or its `Encoder`/`Decoder` pair (an ESM namespace import); any
 * other parser throws.
 */
function parserKind(name, p) {
  if (!given(p)) return 'default'
  if ((typeof p === 'object' || typeof p === 'function') && parserKinds.has(p)) return parserKinds.get(p)
  let kind = null
  if (typeof p === 'object' || typeof p === 'function') {
    for (const [pkg, exp] of loaded(Object.keys(PARSERS))) {
      if (exp === p || (typeof p.Encoder === 'function' && exp.Encoder === p.Encoder && exp.Decoder === p.Decoder)) {
        kind = PARSERS[pkg]
        break
      }
    }
    if (!kind) kind = probeParser(p)
  }
  if (!kind) {
    unsupported(
      name,
      'the Rust core speaks the default parser and socket.io-msgpack-parser only: pass require("socket.io-msgpack-parser") or leave it out',
    )
  }
  parserKinds.set(p, kind)
  return kind
}

// --- adapter -------------------------------------------------------------

/** socket.io-adapter's in-memory adapters (socket.io's defaults). */
function memoryAdapter(a) {
  for (const [, exp] of loaded(['socket.io-adapter'])) {
    if (a === exp.Adapter) return 'Adapter'
    if (a === exp.SessionAwareAdapter) return 'SessionAwareAdapter'
  }
  return null
}

/** What the official Node adapters' factories build, told by their code. */
function nodeRedisAdapter(a) {
  let src
  try {
    src = Function.prototype.toString.call(a)
  } catch {
    return null
  }
  if (/\bnew\s+ShardedRedisAdapter\s*\(/.test(src)) {
    return ['createShardedAdapter() of @socket.io/redis-adapter', 'sharded']
  }
  if (/\bnew\s+RedisStreamsAdapter\s*\(/.test(src)) {
    return ['createAdapter() of @socket.io/redis-streams-adapter', 'streams']
  }
  if (/\bnew\s+RedisAdapter\s*\(/.test(src)) return ['createAdapter() of @socket.io/redis-adapter', 'classic']
  return null
}

/** What the official adapters' constructors read of a namespace. */
function standInNamespace() {
  return { name: '/', server: { encoder: { encode: (p) => [p] }, opts: {}, _opts: {} }, sockets: new Map() }
}

/**
 * The native options of a factory of `@socket.io/redis-adapter`
 * (`createAdapter(pub, sub, opts)` or `createShardedAdapter(...)`): its
 * clients and options are read off an adapter it makes for a stand-in
 * namespace, closed at once (its subscriptions undone). The Rust core makes
 * its own connections to the same Redis and speaks the same protocol.
 */
function officialRedisOptions(factory, [what, flavour]) {
  let probe
  try {
    probe = factory(standInNamespace())
  } catch (e) {
    fail(`option "adapter": the ${what} could not be read (${e && e.message}): pass clients of the "redis" or "ioredis" package`)
  }
  try {
    const { redisUrl } = require('./emitter')
    let url
    try {
      url = redisUrl(probe.pubClient)
    } catch (e) {
      fail(`option "adapter": the ${what}'s Redis client: ${e && e.message}`)
    }
    if (flavour === 'sharded') {
      const o = probe.opts || {}
      return {
        url,
        key: String(o.channelPrefix ?? 'socket.io'),
        flavour,
        subscriptionMode: o.subscriptionMode === undefined ? undefined : String(o.subscriptionMode),
      }
    }
    if (!isNotepack(probe.parser)) {
      fail(`option "adapter": a custom parser for the ${what} is not supported (the Rust core speaks its default msgpack encoding)`)
    }
    const suffix = '#/#'
    const channel = String(probe.channel || '')
    const key = channel.endsWith(suffix) ? channel.slice(0, -suffix.length) : 'socket.io'
    return {
      url,
      key,
      flavour,
      requestsTimeout: ms(probe.requestsTimeout),
      publishOnSpecificResponseChannel: !!probe.publishOnSpecificResponseChannel,
    }
  } finally {
    try {
      const closed = probe.close()
      if (closed && typeof closed.catch === 'function') closed.catch(() => {})
    } catch {
      // A client that cannot unsubscribe had not subscribed either.
    }
  }
}

/** Whether `p` is the notepack.io module the classic adapter encodes with by default. */
function isNotepack(p) {
  if (p === undefined || p === null) return true
  for (const [, exp] of loaded(['notepack.io'])) if (p === exp) return true
  return false
}

/**
 * The native Redis options of the `adapter` option, or undefined for the
 * in-memory adapter and for an adapter that runs in JS (checked here);
 * anything else throws.
 */
function adapterOptions(a, recovery) {
  if (!given(a)) return undefined
  if (a[REDIS]) return a[REDIS]
  const memory = typeof a === 'function' ? memoryAdapter(a) : null
  if (memory === 'Adapter' && !recovery) return undefined
  if (memory === 'SessionAwareAdapter' && recovery) return undefined
  if (memory) {
    fail(
      `option "adapter": socket.io-adapter's ${memory} ${
        recovery ? 'keeps no sessions: connectionStateRecovery would never recover' : 'needs connectionStateRecovery'
      }; leave "adapter" out for the in-memory adapter`,
    )
  }
  const node = typeof a === 'function' ? nodeRedisAdapter(a) : null
  if (node && node[1] !== 'streams') return officialRedisOptions(a, node)
  if (node && recovery) {
    // Its factory reads the stream in Node from the moment it is made, so
    // it runs in JS, where the core's sessions are out of its reach.
    fail(
      `option "adapter": the ${node[0]} runs in JS here, and connectionStateRecovery with an adapter written in JS is not supported; ` +
        `use createRedisAdapter(url, { flavour: '${node[1]}' }) from socketio-rs instead (same Redis protocol, sessions recovered, Node servers on that adapter share the cluster)`,
    )
  }
  checkJsAdapter(a, recovery)
  return undefined
}

/**
 * What socket.io-adapter's `Adapter` offers and socket.io calls: an adapter
 * running in JS must have them all.
 */
const ADAPTER_METHODS = [
  'addAll',
  'del',
  'delAll',
  'broadcast',
  'broadcastWithAck',
  'fetchSockets',
  'addSockets',
  'delSockets',
  'disconnectSockets',
  'serverSideEmit',
  'serverCount',
]

/**
 * Whether `a` is an adapter that runs in JS: any class or factory that is
 * none of the adapters the Rust core runs itself (socket.io-adapter's
 * in-memory ones, `createRedisAdapter`, the factories of
 * `@socket.io/redis-adapter`). `@socket.io/redis-streams-adapter`'s runs
 * in JS: it reads the stream in Node from the moment it is made.
 */
function isJsAdapter(a) {
  if (typeof a !== 'function' || a[REDIS] || memoryAdapter(a)) return false
  const node = nodeRedisAdapter(a)
  return !node || node[1] === 'streams'
}

/**
 * Refuses what cannot be a JS adapter before anything is made: what
 * socket.io's `new adapter(nsp)` could not construct, a class without the
 * adapter's methods, and connection state recovery, whose sessions the
 * core keeps (a JS adapter's `persistSession` would never be called).
 * A factory function is checked when it makes the main namespace's adapter.
 */
function checkJsAdapter(a, recovery) {
  if (typeof a !== 'function' || !a.prototype) {
    fail(
      'option "adapter" must be an adapter class (extending Adapter of socket.io-adapter), a factory socket.io calls with `new`, ' +
        'or createRedisAdapter(url, { flavour }) from socketio-rs',
    )
  }
  if (/^class\b/.test(Function.prototype.toString.call(a))) {
    const missing = ADAPTER_METHODS.filter((m) => typeof a.prototype[m] !== 'function')
    if (missing.length > 0) {
      fail(`option "adapter": ${a.name || 'the class'} is not an adapter (no ${missing.join('(), ')}()): extend Adapter of socket.io-adapter`)
    }
  }
  if (recovery) {
    fail(
      'option "adapter": connectionStateRecovery with an adapter written in JS is not supported (the Rust core keeps the sessions); ' +
        'leave "adapter" out or use createRedisAdapter(url, { flavour })',
    )
  }
}

// --- server ----------------------------------------------------------------

/**
 * socket.io's own options (and socketio-rs's `ackTimeout`): read from the
 * constructor's options only (socket.io's `attach()` hands the merged
 * options to engine.io alone).
 */
const SOCKET_IO_ONLY = new Set([
  'serveClient',
  'adapter',
  'parser',
  'connectTimeout',
  'connectionStateRecovery',
  'cleanupEmptyChildNamespaces',
  'ackTimeout',
])

const SERVER = new Set([
  // socket.io (the engine's path too)
  'path',
  ...SOCKET_IO_ONLY,
  // engine.io `ServerOptions`
  'pingTimeout',
  'pingInterval',
  'upgradeTimeout',
  'maxHttpBufferSize',
  'allowRequest',
  'transports',
  'allowUpgrades',
  'perMessageDeflate',
  'httpCompression',
  'wsEngine',
  'initialPacket',
  'cookie',
  'cors',
  'allowEIO3',
  // engine.io `AttachOptions`
  'destroyUpgrade',
  'destroyUpgradeTimeout',
  'addTrailingSlash',
])

const COOKIE = new Set([
  'name',
  'path',
  'httpOnly',
  'sameSite',
  'secure',
  'maxAge',
  'domain',
  'expires',
  'partitioned',
  'priority',
  'encode',
])

/** A cookie attribute value: visible ASCII, no `;` (what `cookie` accepts). */
function cookieText(name, v) {
  if (typeof v !== 'string' || !/^[\u0021-\u003a\u003c-\u007e]+$/.test(v)) {
    fail(`option "${name}" must be a string of visible ASCII characters without ";"`)
  }
  return v
}

/** engine.io's `cookie`: its defaults, then the `cookie` package's attributes. */
function cookieOptions(c) {
  if (!c) return undefined
  if (c === true) c = {}
  object('cookie', c)
  checkNames(c, COOKIE, 'the cookie package', 'cookie.')
  for (const k of ['expires', 'partitioned', 'priority', 'encode']) {
    if (given(c[k]) && c[k] !== false) unsupported(`cookie.${k}`)
  }
  const o = { name: 'io', path: '/', httpOnly: true, sameSite: 'lax', ...c }
  const out = { name: cookieText('cookie.name', o.name) }
  if (o.path) out.path = cookieText('cookie.path', o.path)
  if (o.domain) out.domain = cookieText('cookie.domain', o.domain)
  out.httpOnly = !!o.httpOnly
  out.secure = !!o.secure
  if (given(o.maxAge)) {
    if (typeof o.maxAge !== 'number' || !Number.isFinite(o.maxAge) || o.maxAge < 0) {
      fail('option "cookie.maxAge" must be a non-negative number of seconds')
    }
    out.maxAge = Math.floor(o.maxAge)
  }
  const s = typeof o.sameSite === 'string' ? o.sameSite.toLowerCase() : o.sameSite
  if (s === true || s === 'strict') out.sameSite = 'Strict'
  else if (s === 'lax') out.sameSite = 'Lax'
  else if (s === 'none') out.sameSite = 'None'
  else if (s) fail('option "cookie.sameSite" must be true, false, "strict", "lax" or "none"')
  return out
}

/**
 * The directory of the package whose browser client files `serveClient`
 * serves: socket.io's own copy (what socket.io serves), else
 * socket.io-client's, from the application, else from this package.
 */
function clientFilesDir() {
  for (const base of [process.cwd(), path.join(__dirname, '..')]) {
    for (const pkg of ['socket.io', 'socket.io-client']) {
      try {
        return path.dirname(require.resolve(`${pkg}/package.json`, { paths: [base] }))
      } catch {
        // not installed there
      }
    }
  }
  return null
}

/**
 * `serveClient`: `[dir, explicit]`, the package directory to serve the
 * browser client from (socket.io serves it unless `serveClient: false`).
 */
function serveClientOption(v) {
  if (v === false) return [undefined, false]
  if (given(v) && v !== true) fail('option "serveClient" must be a boolean')
  const dir = clientFilesDir()
  if (v === true && !dir) {
    fail('option "serveClient": the browser client files come from the socket.io-client package, which is not installed (npm install socket.io-client)')
  }
  return [dir || undefined, v === true]
}

/** socket.io's default WebSocket engine, `require('ws').Server`. */
function isWsServer(e) {
  for (const [, exp] of loaded(['ws'])) {
    if (e === exp.Server || e === exp.WebSocketServer) return true
  }
  return false
}

function transportsOption(name, list, ctors) {
  if (!given(list)) return undefined
  if (!Array.isArray(list)) fail(`option "${name}" must be an array`)
  if (list.length === 0) fail(`option "${name}" needs at least one transport`)
  return list.map((t) => {
    let n = t
    // engine.io-client's transport classes name themselves.
    if (ctors && typeof t === 'function' && t.prototype) {
      try {
        n = Reflect.get(t.prototype, 'name')
      } catch {
        n = undefined
      }
    }
    if (n === 'polling' || n === 'websocket') return n
    if (n === 'webtransport') unsupported(name, 'WebTransport')
    return fail(`option "${name}": unknown transport ${typeof t === 'function' ? t.name : JSON.stringify(t)}`)
  })
}

/** engine.io's path ends with a slash: `/socket.io` serves `/socket.io/`. */
function trailingSlash(p) {
  return p === undefined || p.endsWith('/') ? p : `${p}/`
}

/**
 * `perMessageDeflate` as a threshold in bytes (engine.io's default 1024), 0
 * for none. ws's zlib settings are the Rust core's.
 */
function perMessageDeflateThreshold(v) {
  if (!given(v) || v === false) return given(v) ? 0 : undefined
  if (v === true) return 1024
  object('perMessageDeflate', v)
  for (const k of Object.keys(v)) {
    if (k !== 'threshold') unsupported(`perMessageDeflate.${k}`, 'the compression settings are the Rust core\'s')
  }
  const t = number('perMessageDeflate.threshold', v.threshold)
  return t === undefined ? 1024 : Math.max(1, t)
}

/** `httpCompression` as a threshold in bytes, 0 for none. */
function httpCompressionThreshold(v) {
  if (!given(v) || v === true) return v === true ? 1 : undefined
  if (v === false) return 0
  object('httpCompression', v)
  for (const k of Object.keys(v)) {
    if (k !== 'threshold') unsupported(`httpCompression.${k}`, 'the compression settings are the Rust core\'s')
  }
  // engine.io compresses every response without a threshold.
  const t = number('httpCompression.threshold', v.threshold)
  return t === undefined ? 1 : Math.max(1, t)
}

function recoveryOptions(csr) {
  if (!csr) return undefined
  if (csr === true) return {}
  object('connectionStateRecovery', csr)
  checkNames(
    csr,
    new Set(['maxDisconnectionDuration', 'skipMiddlewares']),
    'connectionStateRecovery',
    'connectionStateRecovery.',
  )
  return {
    maxDisconnectionDuration: number('connectionStateRecovery.maxDisconnectionDuration', csr.maxDisconnectionDuration),
    skipMiddlewares: boolean('connectionStateRecovery.skipMiddlewares', csr.skipMiddlewares),
  }
}

/**
 * The native server's options from socket.io's, after checking every one.
 * `cors` is left to the caller (it may be retried in another mode).
 */
function serverOptions(opts) {
  object('options', opts)
  checkNames(opts, SERVER, 'socket.io or engine.io servers')
  const o = opts
  inert('wsEngine', o.wsEngine, isWsServer, 'the WebSocket server is the Rust core\'s')
  inert('initialPacket', o.initialPacket, (v) => !v)
  if (given(o.allowRequest) && typeof o.allowRequest !== 'function') fail('option "allowRequest" must be a function')
  boolean('addTrailingSlash', o.addTrailingSlash)
  boolean('destroyUpgrade', o.destroyUpgrade)
  number('destroyUpgradeTimeout', o.destroyUpgradeTimeout)
  const recovery = recoveryOptions(o.connectionStateRecovery)
  const transports = transportsOption('transports', o.transports, false)
  const cookie = cookieOptions(o.cookie)
  if (cookie && transports && !transports.includes('polling')) {
    unsupported('cookie', 'set on polling handshakes only, and "transports" leaves polling out')
  }
  // Keyed by socket.io's names; the Rust core's option table maps each one
  // to its setting (and refuses a name it does not know). No prototype: the
  // core reads every enumerable key, inherited ones included, and a
  // polluted Object.prototype must not add options.
  const native = Object.assign(Object.create(null), {
    path: trailingSlash(string('path', o.path) || undefined),
    pingInterval: number('pingInterval', o.pingInterval),
    pingTimeout: number('pingTimeout', o.pingTimeout),
    upgradeTimeout: number('upgradeTimeout', o.upgradeTimeout),
    maxHttpBufferSize: number('maxHttpBufferSize', o.maxHttpBufferSize),
    transports,
    allowUpgrades: boolean('allowUpgrades', o.allowUpgrades),
    allowEIO3: boolean('allowEIO3', o.allowEIO3),
    // socket.io: `opts.connectTimeout || 45000`.
    connectTimeout: number('connectTimeout', o.connectTimeout) || undefined,
    ackTimeout: number('ackTimeout', o.ackTimeout),
    cleanupEmptyChildNamespaces: boolean('cleanupEmptyChildNamespaces', o.cleanupEmptyChildNamespaces),
    httpCompression: httpCompressionThreshold(o.httpCompression),
    perMessageDeflate: perMessageDeflateThreshold(o.perMessageDeflate),
    connectionStateRecovery: recovery,
    adapter: adapterOptions(o.adapter, !!recovery),
    parser: parserKind('parser', o.parser),
    cookie,
    allowRequest: typeof o.allowRequest === 'function',
  })
  const [dir, explicit] = serveClientOption(o.serveClient)
  native.serveClient = dir
  // Told apart when the files cannot be read: only an explicit request fails.
  Object.defineProperty(native, 'serveClientExplicit', { value: explicit, enumerable: false })
  if (o.cors) native.cors = corsOptions(o.cors)
  return native
}

/**
 * The options of `io.attach(srv, opts)` / `io.listen(port, opts)`, merged
 * as socket.io merges them: `Object.assign(opts, this.opts)`, the
 * constructor's options win and `opts` fills in the engine's others. Returns
 * the merged options when `opts` adds an engine option, else null. A
 * socket.io option there would be ignored by socket.io: it throws here.
 */
function attachOptions(opts, ctorOpts) {
  if (!given(opts)) return null
  object('options', opts)
  checkNames(opts, SERVER, 'socket.io or engine.io servers')
  const added = {}
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined || Object.prototype.hasOwnProperty.call(ctorOpts, k)) continue
    if (SOCKET_IO_ONLY.has(k)) {
      fail(`option "${k}" of attach()/listen() is not supported: it is read from new Server() only (as socket.io reads its own options), pass it there`)
    }
    added[k] = v
  }
  if (Object.keys(added).length === 0) return null
  return Object.assign({}, opts, ctorOpts)
}

// --- client ----------------------------------------------------------------

const CLIENT = new Set([
  // socket.io-client `ManagerOptions`
  'forceNew',
  'multiplex',
  'path',
  'reconnection',
  'reconnectionAttempts',
  'reconnectionDelay',
  'reconnectionDelayMax',
  'randomizationFactor',
  'timeout',
  'autoConnect',
  'parser',
  // socket.io-client `SocketOptions`
  'auth',
  'retries',
  'ackTimeout',
  // socket.io-client's older spelling of `forceNew`
  'force new connection',
  // engine.io-client `SocketOptions`
  'host',
  'hostname',
  'secure',
  'port',
  'query',
  'agent',
  'upgrade',
  'forceBase64',
  'timestampParam',
  'timestampRequests',
  'transports',
  'transportImplementations',
  'tryAllTransports',
  'rememberUpgrade',
  'requestTimeout',
  'transportOptions',
  'pfx',
  'key',
  'passphrase',
  'cert',
  'ca',
  'ciphers',
  'rejectUnauthorized',
  'extraHeaders',
  'withCredentials',
  'closeOnBeforeunload',
  'useNativeTimers',
  'autoUnref',
  'perMessageDeflate',
  'addTrailingSlash',
  'protocols',
])

function pem(v) {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8')
  return fail('option "ca" must be a string, a Buffer or an array of them (PEM)')
}

/**
 * Checks socket.io-client options; returns the native options that do not
 * depend on the socket (the manager's).
 */
function clientOptions(opts) {
  object('options', opts)
  checkNames(opts, CLIENT, 'socket.io-client or engine.io-client')
  const o = opts
  inert('pfx', o.pfx, () => false, 'give the certificate and its key as PEM in "cert" and "key"')
  inert('passphrase', o.passphrase, () => false, 'encrypted keys: give "key" unencrypted')
  inert('ciphers', o.ciphers, () => false, "the cipher suites are the Rust core's (rustls's safe defaults)")
  inert('agent', o.agent, (v) => v === false, 'the connections are the Rust core\'s')
  inert('forceBase64', o.forceBase64, (v) => v === false)
  inert('requestTimeout', o.requestTimeout, (v) => v === 0)
  inert('transportOptions', o.transportOptions, (v) => typeof v === 'object' && Object.keys(v).length === 0)
  inert('transportImplementations', o.transportImplementations, () => false, 'use "transports"')
  inert('withCredentials', o.withCredentials, (v) => v === false, 'no cookie jar')
  inert('perMessageDeflate', o.perMessageDeflate, (v) => v === false, 'WebSocket compression')
  inert('protocols', o.protocols, (v) => Array.isArray(v) && v.length === 0, 'WebSocket sub-protocols')
  for (const k of ['forceNew', 'force new connection', 'multiplex', 'autoConnect', 'closeOnBeforeunload', 'useNativeTimers', 'autoUnref', 'secure']) {
    boolean(k, o[k])
  }
  for (const k of ['host', 'hostname']) string(k, o[k])
  if (given(o.port) && typeof o.port !== 'string' && typeof o.port !== 'number') fail('option "port" must be a number or a string')
  if (given(o.auth) && typeof o.auth !== 'object' && typeof o.auth !== 'function') {
    fail('option "auth" must be an object or a function')
  }
  if (given(o.query) && typeof o.query !== 'object' && typeof o.query !== 'string') {
    fail('option "query" must be an object or a string')
  }
  if (given(o.extraHeaders)) object('extraHeaders', o.extraHeaders)
  let ca
  if (given(o.ca)) ca = (Array.isArray(o.ca) ? o.ca : [o.ca]).map(pem)
  // Node's `cert` and `key`: a client certificate for servers that ask for
  // one (mutual TLS); one without the other is Node's error too.
  const cert = given(o.cert) ? pemList('cert', o.cert) : undefined
  const key = given(o.key) ? pemList('key', o.key) : undefined
  if ((cert === undefined) !== (key === undefined)) {
    fail(`option "${cert === undefined ? 'cert' : 'key'}" is missing: a client certificate needs both "cert" and "key"`)
  }
  const timeout = o.timeout === false ? Infinity : number('timeout', o.timeout)
  const factor = number('randomizationFactor', o.randomizationFactor)
  if (factor !== undefined && factor > 1) fail('option "randomizationFactor" must be between 0 and 1')
  number('retries', o.retries)
  number('ackTimeout', o.ackTimeout)
  return {
    path: string('path', o.path),
    transports: transportsOption('transports', o.transports, true),
    upgrade: boolean('upgrade', o.upgrade),
    rememberUpgrade: boolean('rememberUpgrade', o.rememberUpgrade),
    tryAllTransports: boolean('tryAllTransports', o.tryAllTransports),
    timestampRequests: boolean('timestampRequests', o.timestampRequests),
    timestampParam: string('timestampParam', o.timestampParam),
    addTrailingSlash: boolean('addTrailingSlash', o.addTrailingSlash),
    reconnection: boolean('reconnection', o.reconnection),
    reconnectionAttempts: number('reconnectionAttempts', o.reconnectionAttempts),
    reconnectionDelay: number('reconnectionDelay', o.reconnectionDelay),
    reconnectionDelayMax: number('reconnectionDelayMax', o.reconnectionDelayMax),
    randomizationFactor: factor,
    timeout,
    msgpack: parserKind('parser', o.parser) === 'msgpack',
    ca,
    cert,
    key,
    rejectUnauthorized: boolean('rejectUnauthorized', o.rejectUnauthorized),
  }
}

/** A PEM option given as Node takes it (a string, a Buffer, or an array of them), as one PEM text. */
function pemList(name, v) {
  const items = Array.isArray(v) ? v : [v]
  return items
    .map((item) => {
      if (typeof item === 'string') return item
      if (item instanceof Uint8Array) return Buffer.from(item).toString('utf8')
      if (item !== null && typeof item === 'object' && item.passphrase !== undefined) {
        return unsupported(`${name}.passphrase`, 'encrypted keys: give the key unencrypted')
      }
      if (item !== null && typeof item === 'object' && given(item.pem)) return pemList(name, item.pem)
      return fail(`option "${name}" must be a string, a Buffer or an array of them (PEM)`)
    })
    .join('\n')
}

/**
 * The URL engine.io-client builds from `host` / `hostname` / `secure` /
 * `port` when it is given none (with a URL, those options are replaced by
 * the URL's parts, as in engine.io-client).
 */
function urlFromOptions(o) {
  const secure = o.secure === true
  let hostname = o.hostname
  if (!hostname && o.host) hostname = new URL(`http://${o.host}`).hostname
  if (!hostname) hostname = 'localhost'
  const port = given(o.port) ? String(o.port) : secure ? '443' : '80'
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname
  return `${secure ? 'https' : 'http'}://${host}:${port}`
}

module.exports = {
  REDIS,
  adapterOptions,
  isJsAdapter,
  ADAPTER_METHODS,
  serverOptions,
  attachOptions,
  clientOptions,
  urlFromOptions,
  parserKind,
}
