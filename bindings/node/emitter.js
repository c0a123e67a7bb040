'use strict'

// @socket.io/redis-emitter's API: `const { Emitter } = require('socketio-rs/emitter')`.

module.exports = require('./lib/emitter')
