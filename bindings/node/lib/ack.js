'use strict'

// A peer's acknowledgement requests, as JS functions. The native side
// keeps each request under a key (see src/acks.rs) and an event carries
// the key; the function made here answers through the owner's
// `ack(key, ...)`. Most handlers answer before they return (an echo); for
// the others the function is watched, and once it is garbage its key is
// handed back (`dropAck`), so no request is held after nobody can answer.

const { encode } = require('./payload')

/** One request: its function and whether it was answered. */
class PendingAck {
  constructor(acks, key) {
    this.key = key
    this.sent = false
    this.kept = false
    const self = this
    this.fn = function ack(...args) {
      if (self.sent) return
      self.sent = true
      if (self.kept) acks.registry.unregister(self)
      const [json, bins] = encode(args)
      acks.native.ack(self.key, json, bins.length > 0 ? bins : undefined)
    }
  }
}

/** The acknowledgement requests of one native server or manager. */
class Acks {
  constructor(native) {
    this.native = native
    this.registry = new FinalizationRegistry((key) => {
      try {
        native.dropAck(key)
      } catch {
        // The owner is gone: so is the request.
      }
    })
  }

  /** The request of `key`: push `.fn` to the handler's arguments, then
   *  call `settle` once the handlers have run. */
  make(key) {
    return new PendingAck(this, key)
  }

  /** After the handlers ran: an unanswered request is kept while its
   *  function can still be called. */
  settle(p) {
    if (p.sent || p.kept) return
    p.kept = true
    this.registry.register(p.fn, p.key, p)
  }

  /** A request nobody will see (its socket is gone). */
  drop(key) {
    this.native.dropAck(key)
  }
}

module.exports = { Acks }
