// Closing a server as socket.io does.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { rs, rsServer, npmClient, next, within } from './helpers.mjs'

test('close(cb) reports an http.Server that is not running, and still resolves', async () => {
  const srv = http.createServer()
  const io = new rs.Server(srv)
  const err = await within(new Promise((resolve) => io.close(resolve)))
  assert.equal(err && err.code, 'ERR_SERVER_NOT_RUNNING')

  const srv2 = http.createServer()
  const io2 = new rs.Server(srv2)
  await within(io2.close())
})

test('a server listening by itself: a second close reports it is not running', async () => {
  const [io] = rsServer()
  const first = await within(new Promise((resolve) => io.close(resolve)))
  assert.equal(first, undefined)
  const second = await within(new Promise((resolve) => io.close(resolve)))
  assert.equal(second && second.code, 'ERR_SERVER_NOT_RUNNING')
})

test('the port is free as soon as the clients are told of the close', async () => {
  const [io, url] = rsServer()
  const port = io.httpServer.address().port
  const c = await npmClient(url, { transports: ['websocket'] })
  const gone = next(c, 'disconnect')
  const closed = io.close()
  await gone
  const probe = net.createServer()
  await within(new Promise((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(port, resolve)
  }), 5000, 'listening on the freed port')
  await new Promise((resolve) => probe.close(resolve))
  await within(closed, 8000, 'close')
})

test('a closed server listens again, with its handlers, and the client reconnects', async () => {
  const [io, url] = rsServer()
  const port = io.httpServer.address().port
  let connections = 0
  io.use((socket, next) => next())
  io.on('connection', (socket) => {
    connections++
    socket.on('ev', (data, cb) => cb(`got ${data}`))
  })
  const c = await npmClient(url, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100, transports: ['websocket'] })
  assert.equal(await within(c.emitWithAck('ev', 1)), 'got 1')
  const gone = next(c, 'disconnect')
  await within(io.close(), 8000, 'close')
  await gone
  const reconnected = next(c.io, 'reconnect', 8000)
  io.listen(port)
  await reconnected
  assert.equal(await within(c.emitWithAck('ev', 2)), 'got 2', 'the handlers registered before the close')
  assert.equal(connections, 2)
  c.close()
  await within(io.close(), 8000, 'close again')
})
