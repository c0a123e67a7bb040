// client.d.ts types socket.io-client's manager engine, ping and live
// settings: code using them type-checks, and misuses are caught.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))

test('the engine, ping and setters type-check with tsc --strict', () => {
  // TypeScript comes with the napi CLI (a devDependency).
  const tsc = require.resolve('typescript/bin/tsc')
  let out = ''
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(here, 'client-types', 'tsconfig.json')], {
      encoding: 'utf8',
      timeout: 60000,
    })
  } catch (err) {
    out = String(err.stdout || err.message)
  }
  assert.equal(out, '')
})
