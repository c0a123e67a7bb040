'use strict'

// `@socket.io/admin-ui`'s server side: `instrument(io, opts)` and its
// `InMemoryStore`, served by the Rust core (src/admin.rs). The options are
// the npm package's, checked as it checks them.

const cluster = require('node:cluster')
const os = require('node:os')
const { AdminStoreHandle, adminInstrument } = require('../native')

/** The session ids handed to logged-in UIs, kept in this process's memory
 * (the default store). One store may serve several servers. */
class InMemoryStore {
  constructor() {
    Object.defineProperty(this, '_h', { value: new AdminStoreHandle() })
  }

  doesSessionExist(sessionId) {
    return Promise.resolve(this._h.has(String(sessionId)))
  }

  saveSession(sessionId) {
    this._h.save(String(sessionId))
  }
}

/** The auth part of the native options, or a throw with the npm package's
 * message. */
function authOptions(auth) {
  if (auth === undefined) {
    throw new Error('the `auth` option must be specified or explicitly set to `false`')
  }
  if (auth === false) return { auth: 'none' }
  if (auth && auth.type === 'basic') {
    if (typeof auth.password !== 'string') {
      throw new Error('the `password` field must be a valid bcrypt hash')
    }
    return { auth: 'basic', username: String(auth.username), password: auth.password }
  }
  throw new Error('invalid `auth` option, please check the documentation')
}

/**
 * Serves the Socket.IO Admin UI (https://admin.socket.io, or the npm
 * package's `ui/dist`) on `io`, as `@socket.io/admin-ui`'s `instrument`:
 * the `namespaceName` namespace, logins (`auth`), the `server_stats` every
 * 2 s, and in development mode every socket, room and event.
 */
function instrument(io, opts) {
  if (!io || typeof io !== 'object' || !io._native || typeof io.of !== 'function') {
    throw new TypeError('instrument(io, opts): io must be a socketio-rs Server')
  }
  const options = Object.assign(
    {
      namespaceName: '/admin',
      auth: undefined,
      readonly: false,
      serverId: undefined,
      store: undefined,
      mode: process.env.NODE_ENV || 'development',
    },
    opts,
  )
  const native = authOptions(options.auth)
  let store = options.store
  if (store === undefined) {
    store = new InMemoryStore()
  } else if (!(store instanceof InMemoryStore)) {
    throw new TypeError(
      'socketio-rs: the admin UI keeps its sessions in memory only: `store` must be an ' +
        "InMemoryStore of socketio-rs/admin-ui (a RedisStore is not supported)",
    )
  }
  let serverId = options.serverId ? String(options.serverId) : undefined
  if (serverId === undefined && cluster.isWorker) serverId = `${os.hostname()}#${process.pid}`
  adminInstrument(
    io._native,
    {
      ...native,
      development: options.mode === 'development',
      readonly: !!options.readonly,
      namespaceName: String(options.namespaceName),
      serverId,
    },
    store._h,
  )
  // Each socket's `data` now goes to the core too, where the UI reads it.
  io._adminUi = true
}

module.exports = { instrument, InMemoryStore }
