'use strict'

// Event kinds of the native dispatcher (src/dispatch.rs, `kind`).
module.exports = Object.freeze({
  CONNECTION: 1,
  EVENT: 2,
  ANY: 3,
  ANY_OUTGOING: 4,
  DISCONNECTING: 5,
  DISCONNECT: 6,
  MIDDLEWARE: 7,
  DONE: 8,
  FAILED: 9,
  CONNECT: 10,
  CONNECT_ERROR: 11,
  RECONNECT_ATTEMPT: 12,
  RECONNECT: 13,
  RECONNECT_ERROR: 14,
  RECONNECT_FAILED: 15,
  MATCH: 16,
  CLOSE: 18,
  ORIGIN: 19,
  ALLOW_REQUEST: 20,
})
