// socket.io's documented examples (chat, rooms, acks, middleware), written
// against `socket.io` and `socket.io-client`: each runs once on the npm
// packages and once with those requires resolved to socketio-rs; both runs
// must print the same lines and exit by themselves.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'examples')

/** Runs a script; resolves with its output once it exits (within `ms`). */
function run(script, args = [], ms = 15000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, path.join(dir, script)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script} did not exit within ${ms} ms; output:\n${out}\n${err}`))
    }, ms)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out, err })
    })
  })
}

for (const example of ['chat.js', 'rooms.js', 'acks.js', 'middleware.js']) {
  test(`example ${example}: same output as socket.io, exits by itself`, async () => {
    const [reference, ours] = await Promise.all([
      run(example),
      run(example, ['--require', path.join(dir, 'alias.cjs')]),
    ])
    assert.equal(reference.code, 0, reference.err)
    assert.equal(ours.code, 0, ours.err)
    assert.ok(reference.out.trim().length > 0)
    assert.equal(ours.out, reference.out)
  })
}
