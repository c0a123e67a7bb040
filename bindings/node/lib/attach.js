'use strict'

// Attaching to a Node `http.Server`: the Rust server listens on a loopback
// port of its own, and the requests and upgrades of the Node server under
// the socket.io path are relayed to it byte for byte. Other requests reach
// the Node server's own listeners, as with socket.io.

const http = require('node:http')
const net = require('node:net')

/**
 * Relays `srv`'s requests under `path` to `127.0.0.1:port`; returns a
 * function undoing it. Upgrades outside `path` nobody answers are ended
 * after `destroyUpgradeTimeout` ms unless `destroyUpgrade` is false, as
 * engine.io's `attach` does.
 */
function attach(srv, path, port, { destroyUpgrade = true, destroyUpgradeTimeout = 1000 } = {}) {
  const prefix = path.endsWith('/') ? path : path + '/'
  const matches = (req) => {
    const url = req.url || ''
    return url.startsWith(prefix) || url === path || url.startsWith(path + '?')
  }
  const agent = new http.Agent({ keepAlive: true })
  const upgraded = new Set()

  const previous = srv.listeners('request').slice()
  srv.removeAllListeners('request')
  const onRequest = (req, res) => {
    if (!matches(req)) {
      for (const l of previous) l.call(srv, req, res)
      return
    }
    const headers = { ...req.headers, 'x-forwarded-for': forwardedFor(req) }
    const out = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode || 502, answer.headers)
        answer.pipe(res)
      },
    )
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(out)
  }
  srv.on('request', onRequest)

  const onUpgrade = (req, socket, head) => {
    if (!matches(req)) {
      // As engine.io: an upgrade nobody else answered in time is closed.
      if (destroyUpgrade) {
        socket.on('error', () => {})
        setTimeout(() => {
          if (socket.writable && socket.bytesWritten <= 0) socket.end()
        }, destroyUpgradeTimeout).unref()
      }
      return
    }
    const up = net.connect(port, '127.0.0.1', () => {
      let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
      }
      text += `X-Forwarded-For: ${forwardedFor(req)}\r\n\r\n`
      up.write(text)
      if (head && head.length) up.write(head)
      socket.pipe(up).pipe(socket)
    })
    upgraded.add(socket)
    const end = () => {
      upgraded.delete(socket)
      socket.destroy()
      up.destroy()
    }
    up.on('error', end)
    up.on('close', end)
    socket.on('error', end)
    socket.on('close', end)
  }
  srv.on('upgrade', onUpgrade)

  return function detach() {
    srv.removeListener('request', onRequest)
    srv.removeListener('upgrade', onUpgrade)
    for (const l of previous) srv.on('request', l)
    for (const s of upgraded) s.destroy()
    agent.destroy()
  }
}

function forwardedFor(req) {
  const prior = req.headers['x-forwarded-for']
  const addr = req.socket && req.socket.remoteAddress
  return prior ? `${prior}, ${addr}` : String(addr)
}

module.exports = { attach }
