'use strict'

// socketio-rs: socket.io's server API and socket.io-client's client API on
// the socketio-rs Rust core.
//
//   const { Server } = require('socketio-rs')          // socket.io
//   const { io } = require('socketio-rs/client')       // socket.io-client

const { Server, Namespace, ParentNamespace, createRedisAdapter } = require('./lib/server')
const { Socket } = require('./lib/socket')
const { BroadcastOperator } = require('./lib/broadcast')
const { Engine, EngineSocket } = require('./lib/engine')
const client = require('./lib/client')
const { buildProfile } = require('./native')

/** `require('socketio-rs')(port | httpServer, opts)`, as socket.io's export. */
function createServer(srv, opts) {
  return new Server(srv, opts)
}

module.exports = createServer
Object.assign(module.exports, {
  Server,
  Namespace,
  ParentNamespace,
  createRedisAdapter,
  Socket,
  BroadcastOperator,
  Engine,
  EngineSocket,
  io: client.io,
  connect: client.connect,
  Manager: client.Manager,
  ClientSocket: client.Socket,
  buildProfile,
})
