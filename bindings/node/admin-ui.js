'use strict'

// @socket.io/admin-ui's API:
//   const { instrument, InMemoryStore } = require('socketio-rs/admin-ui')

const { instrument, InMemoryStore } = require('./lib/admin')

module.exports = { instrument, InMemoryStore }
