'use strict'

/**
 * What socket.io's transports know of a write in progress, for `volatile`.
 *
 * A Node transport stays busy until its write completes, which is never
 * within the JS turn that made it: socket.io drops a volatile packet that
 * follows another packet to the same connection in one turn. The native
 * transport drains on its own threads and may be idle again a few
 * microseconds later, so the turn is tracked here: the sockets and
 * namespaces written to in this turn, forgotten at the next `setImmediate`.
 * Across turns, the native transport decides (a WebSocket still writing, a
 * long-poll without a pending GET).
 */
const written = new Set()
const broadcast = new Set()
let scheduled = false

function forgetLater() {
  if (scheduled) return
  scheduled = true
  setImmediate(() => {
    written.clear()
    broadcast.clear()
    scheduled = false
  })
}

/** A packet went to `socket` in this turn. */
function wroteTo(socket) {
  written.add(socket._connId)
  forgetLater()
}

/** A broadcast went out in namespace `nsp` in this turn. */
function broadcastIn(nsp) {
  broadcast.add(nsp)
  forgetLater()
}

/** Whether a volatile packet to `socket` is dropped in this turn. */
function busy(socket) {
  return written.has(socket._connId) || broadcast.has(socket.nsp)
}

/**
 * For a volatile broadcast in `nsp`: null when it is dropped whole (the
 * namespace had a broadcast in this turn), else the ids of its sockets whose
 * connection was written to in this turn, to leave out.
 */
function busyIn(nsp) {
  if (broadcast.has(nsp)) return null
  const ids = []
  if (written.size > 0) {
    for (const s of nsp.sockets.values()) {
      if (written.has(s._connId)) ids.push(s.id)
    }
  }
  return ids
}

module.exports = { wroteTo, broadcastIn, busy, busyIn }
