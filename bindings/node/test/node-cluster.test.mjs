// socket.io's Node.js cluster recipe (@socket.io/sticky balancing over
// workers joined by @socket.io/cluster-adapter) on this package: the
// cluster adapter, written in JS, runs as on socket.io.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const peersDir = path.join(here, '..', '..', '..', 'tests', 'node')
const installed = (() => {
  const req = createRequire(path.join(peersDir, 'package.json'))
  try {
    req.resolve('@socket.io/cluster-adapter')
    req.resolve('@socket.io/sticky')
    return true
  } catch {
    return false
  }
})()

test('two workers behind @socket.io/sticky, joined by @socket.io/cluster-adapter', async (t) => {
  if (!installed) return t.skip('the npm peers of tests/node are not installed (npm ci --prefix tests/node)')
  const out = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, '..', 'fixtures', 'node-cluster.cjs'), peersDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 40000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`the cluster exited with ${code ?? signal}: ${stdout}${stderr}`))
    })
  })
  const result = JSON.parse(out.trim().split('\n').pop())
  assert.equal(result.error, undefined, out)
  assert.equal(new Set(result.workers).size, 2, `clients on both workers: ${result.workers}`)
  // A broadcast from one worker reaches the clients of both.
  assert.deepEqual(result.heard, ['hello all', 'hello all', 'hello all', 'hello all'])
  // fetchSockets and a broadcast with acknowledgements span the cluster.
  assert.equal(result.counted, 4)
  assert.deepEqual(result.answers, [0, 1, 2, 3])
})
