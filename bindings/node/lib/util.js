'use strict'

const { EventEmitter } = require('node:events')

const emitLocal = EventEmitter.prototype.emit

/**
 * Runs a user callback; an exception is reported, never thrown back into
 * the native dispatcher (where it would end the process).
 */
function guard(fn, self, args) {
  try {
    const r = fn.apply(self, args)
    if (r && typeof r.then === 'function') r.then(undefined, report)
    return r
  } catch (err) {
    report(err)
  }
}

/** Reports an exception thrown by a user handler. */
function report(err) {
  console.error('socketio-rs: uncaught exception in a handler:', err)
}

/** Emits an event to the local listeners of an emitter, guarding each. */
function emitGuarded(emitter, event, args) {
  const listeners = emitter.rawListeners(event)
  if (listeners.length === 0) return false
  for (const l of listeners) {
    // `once` wrappers remove themselves when called.
    guard(l, emitter, args)
  }
  return true
}

/** One-shot callbacks of asynchronous native operations, by id. */
class Callbacks {
  constructor() {
    this.next = 1
    this.map = new Map()
  }

  add(fn) {
    const id = this.next
    this.next = this.next >= 0x7fffffff ? 1 : this.next + 1
    this.map.set(id, fn)
    return id
  }

  take(id) {
    const fn = this.map.get(id)
    this.map.delete(id)
    return fn
  }

  get size() {
    return this.map.size
  }
}

/** Milliseconds option: a finite non-negative number, else undefined. */
function ms(v) {
  return typeof v === 'number' && v >= 0 ? v : undefined
}

/**
 * Wraps a dispatcher taking an event object as the native side's
 * dispatcher, which passes `(kind, target, name, json, ack, extra)` with
 * `null` for what an event lacks, and `extra` (bins, socket, sockets, next,
 * reply, num, engine) only when one of those is there: arguments cost the
 * native side far less than an object built property by property.
 */
function nativeDispatcher(dispatch) {
  return (kind, target, name, json, ack, extra) => {
    // The native side's call after it handed over a batch of events.
    if (kind === undefined) return
    const ev = {
      kind,
      target,
      name: name === null ? undefined : name,
      json: json === null ? undefined : json,
      ack: ack === null ? undefined : ack,
      bins: undefined,
      socket: undefined,
      sockets: undefined,
      next: undefined,
      reply: undefined,
      num: undefined,
      engine: undefined,
    }
    if (extra !== null && extra !== undefined) {
      for (const k of EXTRA) if (extra[k] !== undefined && extra[k] !== null) ev[k] = extra[k]
    }
    dispatch(ev)
  }
}

const EXTRA = ['bins', 'socket', 'sockets', 'next', 'reply', 'num', 'engine']

module.exports = { guard, report, emitGuarded, emitLocal, Callbacks, ms, nativeDispatcher }
