'use strict'

// Attaching to a Node `http.Server`: a WebSocket upgrade under the
// socket.io path hands its TCP connection over to the Rust server (which
// then owns the socket: no byte of the session passes through JS). The
// Rust server also listens on a loopback port of its own, to which the
// long-polling requests, and upgrades that cannot be handed over (TLS, a
// system without file descriptors), are relayed byte for byte: an HTTP
// connection may carry the app's other requests too, so it stays Node's.
// Other requests reach the Node server's own listeners, as with socket.io.

const http = require('node:http')
const net = require('node:net')

/**
 * Serves `srv`'s requests under `path`: upgrades through `serveFd(fd,
 * head)` (true when the native server took the connection), the rest
 * relayed to `127.0.0.1:port`; returns a function undoing it. Upgrades
 * outside `path` nobody answers are ended after `destroyUpgradeTimeout` ms
 * unless `destroyUpgrade` is false, as engine.io's `attach` does.
 */
function attach(
  srv,
  path,
  port,
  { destroyUpgrade = true, destroyUpgradeTimeout = 1000, serveFd = null } = {},
) {
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
    if (serveFd && handOver(req, socket, head, serveFd)) return
    const up = net.connect(port, '127.0.0.1', () => {
      up.write(requestHead(req, `X-Forwarded-For: ${forwardedFor(req)}\r\n`))
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

/**
 * Gives the upgrade's connection to the native server: the request as the
 * client sent it and what followed it, then Node lets go of its descriptor. Runs within the
 * tick of the `upgrade` event, before Node could read more from the socket.
 */
function handOver(req, socket, head, serveFd) {
  // A TLS socket's bytes are Node's to decrypt; a socket without a
  // descriptor of its own (a test double, a pipe) cannot be handed over.
  if (socket.encrypted || !(socket instanceof net.Socket)) return false
  const fd = socket._handle && socket._handle.fd
  if (typeof fd !== 'number' || fd < 0) return false
  const text = requestHead(req, '')
  const bytes = head && head.length ? Buffer.concat([text, head]) : text
  let taken
  try {
    taken = serveFd(fd, bytes)
  } catch {
    // The server is closing: as engine.io, the upgrade is refused.
    socket.destroy()
    return true
  }
  if (!taken) return false
  // Node's descriptor closes; the native server's duplicate keeps the
  // connection open.
  socket.destroy()
  return true
}

/**
 * The request line and headers as the client sent them, `extra` header
 * lines added: bytes, since Node's parser keeps header bytes as latin1
 * strings.
 */
function requestHead(req, extra) {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
  }
  return Buffer.from(`${text}${extra}\r\n`, 'latin1')
}

function forwardedFor(req) {
  const prior = req.headers['x-forwarded-for']
  const addr = req.socket && req.socket.remoteAddress
  return prior ? `${prior}, ${addr}` : String(addr)
}

module.exports = { attach }
