// The native module's own contract with the JS layer: server options are
// looked up by name in the Rust core's option table (an unknown or
// ill-typed one throws, naming it), event kinds and broadcast actions are
// enums of the native module rather than numbers and strings copied by
// hand.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const native = require('../native')

function server(opts) {
  return new native.NativeServer(opts, () => {})
}

test('an unknown server option name is refused, named', () => {
  assert.throws(() => server({ pingIntervall: 1000 }), /unknown server option "pingIntervall"/)
  // The C API's and Python's names are not socket.io's.
  assert.throws(() => server({ ping_interval: 1000 }), /unknown server option "ping_interval"/)
})

test('an ill-typed server option is refused, named', () => {
  assert.throws(() => server({ pingInterval: 'soon' }), /option "pingInterval"/)
  assert.throws(() => server({ transports: ['carrier-pigeon'] }), /unknown transport "carrier-pigeon"/)
  assert.throws(() => server({ transports: [] }), /at least one transport is needed/)
  assert.throws(() => server({ parser: 'cbor' }), /unknown parser "cbor"/)
})

test('undefined and null leave an option at its default', () => {
  const s = server({ pingInterval: undefined, path: null, transports: ['websocket'] })
  s.close(0)
})

test('event kinds come from the native module', () => {
  const K = native.EventKind
  assert.equal(typeof K.Connection, 'number')
  const values = Object.values(K).filter((v) => typeof v === 'number')
  assert.equal(new Set(values).size, values.length, 'each kind has its own number')
  for (const name of ['Connection', 'Event', 'Done', 'Failed', 'ClientIdle']) {
    assert.equal(typeof K[name], 'number', name)
  }
})

test('an unknown broadcast action throws instead of doing nothing', () => {
  const s = server({})
  const ns = s.of('/')
  const spec = { rooms: [], except: [], local: false, volatile: false }
  assert.throws(() => ns.bcastAct(spec, 'explode', [], false, 0), /explode/)
  ns.bcastAct(spec, native.BroadcastAction.Disconnect, [], false, 0)
  s.close(0)
})

test('engine watch bits come from the native module, one bit each', () => {
  const names = ['Connection', 'Close', 'Upgrade', 'Packet', 'ConnectionError', 'Headers', 'GenerateId', 'Middleware']
  const bits = names.map((n) => native.EngineWatch[n])
  for (const [i, b] of bits.entries()) {
    assert.ok(Number.isInteger(b) && b > 0 && (b & (b - 1)) === 0, `${names[i]} is one bit`)
  }
  assert.equal(new Set(bits).size, bits.length)
})
