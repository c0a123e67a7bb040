// The chat demo in a real browser: three pages in headless Chromium, driven
// with playwright-core, against the Rust server of socketio/examples/chat.rs.
//
//   node examples/chat/test/browser.mjs http://127.0.0.1:3000/
//   node examples/chat/test/browser.mjs target/release/examples/chat
//
// Given a URL, it tests the server already there (socketio/tests/chat_browser.rs
// runs the server in-process); given the path of the built example, it
// starts it on 127.0.0.1:0 and reads the address it prints.
//
// Needs the client bundle (`npm ci --prefix examples/chat`), playwright-core
// from tests/node (`npm ci --prefix tests/node`) and Chromium at
// /usr/bin/chromium (or $CHROMIUM_PATH). Exits 0 when every check passes.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const TOTAL_LIMIT_MS = 60_000;
const STEP_LIMIT_MS = 10_000;
// Timer polling, not the default requestAnimationFrame: a page that is not in
// front gets few animation frames.
const POLL_MS = 50;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

// playwright-core is one of the interop peers of tests/node; one copy for the
// whole repository.
const requireFromTests = createRequire(new URL('../../../tests/node/package.json', import.meta.url));
let chromium;
try {
  ({ chromium } = requireFromTests('playwright-core'));
} catch (e) {
  console.error(`playwright-core not found (${e.message}): run \`npm ci --prefix tests/node\``);
  process.exit(2);
}

const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
}

// Whatever hangs (the browser, the server, a page), the run ends.
const deadline = setTimeout(async () => {
  console.error(`FAIL: not done within ${TOTAL_LIMIT_MS / 1000} s`);
  setTimeout(() => process.exit(1), 5_000).unref();
  await cleanup();
  process.exit(1);
}, TOTAL_LIMIT_MS);

const started = Date.now();
function step(name) {
  console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Starts the built example on a free port; resolves to its URL. */
function startServer(binary) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    });
    const timer = setTimeout(() => reject(new Error(`${binary} printed no address within 20 s`)), 20_000);
    child.once('error', (e) => reject(new Error(`cannot start ${binary}: ${e.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${binary} exited early (${code ?? signal})`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(`${m[1]}/`);
      }
    });
  });
}

const text = (page, selector) => page.locator(selector).textContent();

/** Waits until `selector`'s text is exactly `expected`. */
async function waitText(page, selector, expected, what) {
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent === want,
      [selector, expected],
      { polling: POLL_MS },
    );
  } catch (e) {
    throw new Error(`${what}: ${selector} is ${JSON.stringify(await text(page, selector))}, want ${JSON.stringify(expected)}`);
  }
}

/** The chat messages (not notices) a page shows, as "nickname: text". */
function messages(page) {
  return page.$$eval('#messages li:not(.notice)', (lis) =>
    lis.map((li) => `${li.querySelector('.nick').textContent}: ${li.querySelector('.text').textContent}`),
  );
}

async function waitMessage(page, line, what) {
  try {
    await page.waitForFunction(
      (want) => [...document.querySelectorAll('#messages li:not(.notice)')].some(
        (li) => `${li.querySelector('.nick').textContent}: ${li.querySelector('.text').textContent}` === want,
      ),
      line,
      { polling: POLL_MS },
    );
  } catch (e) {
    throw new Error(`${what}: no message ${JSON.stringify(line)} among ${JSON.stringify(await messages(page))}`);
  }
}

// Brings the page to the front first, as a user would: Playwright's click
// waits for the button to be stable over animation frames, and a page
// behind the others gets about one frame a second.
async function type(page, selector, value) {
  await page.bringToFront();
  await page.fill(selector, value);
}

async function send(page, message) {
  await type(page, '#message', message);
  await page.click('#send');
}

async function main() {
  const target = process.argv[2];
  if (!target) throw new Error('usage: browser.mjs <http://host:port/ | path to the chat example binary>');
  const url = /^https?:\/\//.test(target) ? target : await startServer(target);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);

  // A fresh profile each run, so nothing carries over between runs.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'socketio-rs-chat-'));
  cleanups.push(async () => fs.rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  cleanups.push(() => context.close());
  context.setDefaultTimeout(STEP_LIMIT_MS);

  const pageErrors = [];
  async function open(label) {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') console.error(`[${label} console] ${msg.text()}`);
    });
    // The client bundle comes from the Socket.IO server (serve_client).
    const bundle = page.waitForResponse((r) => new URL(r.url()).pathname === '/socket.io/socket.io.js');
    const res = await page.goto(url);
    if (!res.ok()) throw new Error(`${label}: GET ${url} answered ${res.status()}`);
    await checkBundle(label, await bundle);
    await waitText(page, '#status', 'connected', `${label} connects`);
    return page;
  }
  async function checkBundle(label, res) {
    const what = `${label}: /socket.io/socket.io.js`;
    if (res.status() !== 200 && res.status() !== 304) throw new Error(`${what} answered ${res.status()}`);
    // The first page gets the file; the others revalidate it (ETag), and
    // their answer is a bare 304, whatever status the browser reports.
    if (label !== 'A') return;
    const headers = await res.allHeaders();
    if (headers['content-type'] !== 'application/javascript; charset=utf-8') {
      throw new Error(`${what} has content-type ${headers['content-type']}`);
    }
    if (!/^"\d+\.\d+\.\d+[^"]*"$/.test(headers.etag ?? '')) throw new Error(`${what} has no version ETag (${headers.etag})`);
  }
  // The page's `socket` is a top-level const of its script, hence global.
  async function websocket(page, label) {
    try {
      await page.waitForFunction(() => socket.io.engine.transport.name === 'websocket', null, { polling: POLL_MS });
    } catch (e) {
      throw new Error(`${label} stays on ${await page.evaluate(() => socket.io.engine.transport.name)}`);
    }
  }
  const a = await open('A');
  step('client bundle served at /socket.io/socket.io.js');
  const b = await open('B');
  const c = await open('C');
  step('three pages connected');
  for (const [page, label] of [[a, 'A'], [b, 'B'], [c, 'C']]) await websocket(page, label);
  step('every page upgraded to WebSocket');

  for (const page of [a, b, c]) await waitText(page, '#online', '3', 'online count');
  step('online count is 3 on every page');

  async function nickname(page, name) {
    await type(page, '#nickname', name);
    await page.press('#nickname', 'Enter');
    await waitText(page, '#me', name, `nickname ${name}`);
  }
  async function join(page, room) {
    await type(page, '#room', room);
    await page.click('#join');
    await waitText(page, '#current-room', room, `join #${room}`);
  }
  await nickname(a, 'alice');
  await nickname(b, 'bob');
  await nickname(c, 'carol');
  await join(a, 'rust');
  await join(b, 'rust');
  await join(c, 'other');
  step('nicknames set; alice and bob in #rust, carol in #other');

  await type(a, '#message', 'hello from alice');
  await waitText(b, '#typing', 'alice is typing…', 'typing indicator on B');
  step('B sees "alice is typing…"');

  await a.click('#send');
  await waitMessage(b, 'alice: hello from alice', 'B receives the message');
  await waitMessage(a, 'alice: hello from alice', 'A sees its own message');
  await waitText(b, '#typing', '', 'typing indicator cleared on B');
  step('B receives "alice: hello from alice"; the indicator clears');

  // The server handled A's message before C's (A already got its echo), and
  // a connection's packets arrive in order: once C has its own message back,
  // A's would have been there too.
  await send(c, 'hello from carol');
  await waitMessage(c, 'carol: hello from carol', 'C sees its own message');
  const seenByC = await messages(c);
  if (seenByC.some((m) => m.startsWith('alice:'))) throw new Error(`C (in #other) got #rust messages: ${JSON.stringify(seenByC)}`);
  if ((await text(c, '#typing')) !== '') throw new Error(`C (in #other) shows ${JSON.stringify(await text(c, '#typing'))}`);
  // Same argument the other way: once B has alice's second message, carol's
  // would have been there too.
  await send(a, 'second from alice');
  await waitMessage(b, 'alice: second from alice', 'B receives the second message');
  const seenByB = await messages(b);
  if (seenByB.some((m) => m.startsWith('carol:'))) throw new Error(`B (in #rust) got #other messages: ${JSON.stringify(seenByB)}`);
  step('rooms are separate: C sees nothing of #rust, B nothing of #other');

  await c.close();
  for (const page of [a, b]) await waitText(page, '#online', '2', 'online count after C leaves');
  step('online count is 2 once C has closed');

  if (pageErrors.length) throw new Error(`errors in the pages:\n${pageErrors.join('\n')}`);
}

try {
  await main();
  await cleanup();
  clearTimeout(deadline);
  console.log('PASS');
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  await cleanup();
  process.exit(1);
}
