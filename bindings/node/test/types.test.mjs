// index.d.ts and client.d.ts: socket.io-style code with typed events
// type-checks, and the mistakes the generics should catch are caught.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))

test('the type declarations check with tsc --strict', () => {
  // TypeScript comes with the napi CLI (a devDependency).
  const tsc = require.resolve('typescript/bin/tsc')
  let out = ''
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(here, 'types', 'tsconfig.json')], {
      encoding: 'utf8',
      timeout: 60000,
    })
  } catch (err) {
    out = String(err.stdout || err.message)
  }
  assert.equal(out, '')
})
