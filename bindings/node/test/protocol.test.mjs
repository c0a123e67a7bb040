// What a connection that breaks the protocol gets, as from socket.io: the
// sockets' `error` listeners hear the parser's message, the session ends
// cleanly (a polling client collects a noop and the close packet).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsSetup as setup, next, within } from './helpers.mjs'

/** An Engine.IO polling session on `url`: its id and a poll/push pair. */
async function eio(url) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`
  const open = await (await fetch(base)).text()
  const sid = JSON.parse(open.slice(1)).sid
  return {
    poll: async () => (await fetch(`${base}&sid=${sid}`)).text(),
    push: async (body) => (await fetch(`${base}&sid=${sid}`, { method: 'POST', body })).text(),
  }
}

for (const [what, body, message] of [
  ['a malformed attachment count', '5woooot', 'Illegal attachments'],
  ['an empty binary packet', '5', 'Illegal attachments'],
  ['an unknown packet type', '9', 'unknown packet type 9'],
  ['a payload that is not JSON', '2["unterminated', 'invalid payload'],
]) {
  test(`a socket's error listeners hear ${what}, then it disconnects`, async (t) => {
    const { io, client } = setup(t)
    const conn = next(io, 'connection')
    const c = await client('', { transports: ['websocket'] })
    const [s] = await conn
    const err = next(s, 'error')
    const gone = next(s, 'disconnect')
    c.io.engine.write(body)
    const [e] = await err
    assert.ok(e instanceof Error)
    assert.equal(e.message, message)
    assert.deepEqual(await gone, ['parse error'])
  })
}

test('a session closed for a protocol violation: its last packets, then a noop and the close', async (t) => {
  const { url } = setup(t)
  // A second CONNECT: the CONNECT answer in one poll, the close in the next.
  let s = await eio(url)
  assert.equal(await s.push('40'), 'ok')
  assert.equal(await s.push('40'), 'ok')
  assert.match(await within(s.poll()), /^40\{"sid":"[^"]+"\}$/)
  assert.equal(await within(s.poll()), '6\u001e1')
  // An EVENT before any CONNECT: nothing was queued, a noop and the close.
  s = await eio(url)
  assert.equal(await s.push('42["some event"]'), 'ok')
  assert.equal(await within(s.poll()), '6\u001e1')
  // A GET waiting when the violation arrives gets the close alone.
  s = await eio(url)
  const waiting = s.poll()
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(await s.push('4abc'), 'ok')
  assert.equal(await within(waiting), '1')
})
