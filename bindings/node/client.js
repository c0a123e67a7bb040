'use strict'

// socket.io-client's API: `const { io } = require('socketio-rs/client')`.

const { io, lookup, connect, Manager, Socket } = require('./lib/client')

module.exports = lookup
Object.assign(module.exports, { io, lookup, connect, Manager, Socket, default: lookup })
