// The `cors` option, side by side with npm socket.io: for each form of
// `origin` and each request origin (allowed, refused, none), the CORS
// headers of a polling handshake and of a preflight are socket.io's. A
// restricted origin never gets an Access-Control-Allow-Origin it should not.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rsServer, npmServer, within, rs } from './helpers.mjs'

const ORIGINS = [
  'http://good.example',
  'http://x.good.example',
  'http://evil.example',
  'http://good.example.evil.example',
  undefined,
]

const HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
]

async function headersOf(url, method, origin) {
  const headers = {}
  if (origin) headers.Origin = origin
  if (method === 'OPTIONS') {
    headers['Access-Control-Request-Method'] = 'POST'
    headers['Access-Control-Request-Headers'] = 'x-token'
  }
  // An unknown session: the refusal carries the CORS headers, and no
  // session is left open to delay the servers' close.
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=none`, { method, headers })
  await res.arrayBuffer()
  const out = { status: res.status }
  for (const h of HEADERS) out[h] = res.headers.get(h)
  // The tokens of Vary, whatever their order and grouping.
  out.vary = (res.headers.get('vary') || '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .sort()
    .join(',')
  return out
}

const FORMS = {
  'a fixed string': { origin: 'http://good.example' },
  'a RegExp': { origin: /^http:\/\/([a-z]+\.)?good\.example$/ },
  'an array of strings and RegExps': { origin: ['http://a.example', /\.good\.example$/] },
  'a RegExp only JS can run (lookbehind)': { origin: /(?<=\/\/)good\.example$/ },
  'a function answering at once': { origin: (o, cb) => cb(null, o === 'http://good.example') },
  'a function answering later': {
    origin: (o, cb) => setTimeout(() => cb(null, /^http:\/\/x\.good\./.test(o || '')), 5),
  },
  'a function answering with a RegExp': { origin: (o, cb) => cb(null, /\.good\.example$/) },
  'a function answering with an error': { origin: (o, cb) => cb(new Error('no')) },
  'true (reflect)': { origin: true },
  "'*'": { origin: '*' },
  'no origin given': {},
  'credentials, methods, headers, maxAge': {
    origin: ['http://good.example'],
    credentials: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['x-token', 'x-other'],
    exposedHeaders: 'x-exposed',
    maxAge: 600,
  },
}

for (const [name, cors] of Object.entries(FORMS)) {
  test(`cors origin as ${name}: socket.io's headers`, async (t) => {
    const [ours, ourUrl] = rsServer({ cors })
    const [ref, refUrl] = npmServer({ cors })
    t.after(async () => {
      await within(ours.close(), 8000, 'close')
      await within(ref.close(), 8000, 'close')
    })
    for (const method of ['GET', 'OPTIONS']) {
      for (const origin of ORIGINS) {
        const want = await headersOf(refUrl, method, origin)
        const got = await headersOf(ourUrl, method, origin)
        assert.deepEqual(got, want, `${method} from ${origin}`)
      }
    }
  })
}

test('cors: a refused origin never gets an allow header (regexp and function)', async (t) => {
  for (const origin of [/\.good\.example$/, (o, cb) => cb(null, o === 'http://ok.example')]) {
    const [io, url] = rsServer({ cors: { origin } })
    t.after(() => within(io.close(), 8000, 'close'))
    const got = await headersOf(url, 'GET', 'http://evil.example')
    assert.equal(got.status, 400)
    assert.equal(got['access-control-allow-origin'], null)
  }
})

test('cors: a throwing origin function refuses the origin', async (t) => {
  const orig = console.error
  console.error = () => {}
  t.after(() => (console.error = orig))
  const [io, url] = rsServer({
    cors: {
      origin: () => {
        throw new Error('boom')
      },
    },
  })
  t.after(() => within(io.close(), 8000, 'close'))
  const got = await headersOf(url, 'GET', 'http://good.example')
  assert.equal(got['access-control-allow-origin'], null)
})

test('cors: options the cors package does not have, or we cannot honour, throw', () => {
  const bad = [
    { origin: 'http://a.example', originz: 1 },
    { preflightContinue: true },
    { optionsSuccessStatus: 200 },
    { origin: 42 },
    { credentials: 'yes' },
    { maxAge: -1 },
  ]
  for (const cors of bad) {
    assert.throws(() => new rs.Server({ cors }), TypeError, JSON.stringify(cors))
  }
  assert.throws(() => new rs.Server({ cors: () => {} }), /options delegate/)
})
