'use strict'

// Preloaded with `node --require`: `require("socket.io")` and
// `require("socket.io-client")` give socketio-rs, so the examples run
// unchanged on both implementations.

const Module = require('node:module')
const path = require('node:path')

const targets = {
  'socket.io': path.join(__dirname, '..', '..', 'index.js'),
  'socket.io-client': path.join(__dirname, '..', '..', 'client.js'),
}
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (Object.prototype.hasOwnProperty.call(targets, request)) return targets[request]
  return resolve.call(this, request, ...rest)
}
