// The official Admin UI (@socket.io/admin-ui's ui/dist) in headless
// Chromium, driven with playwright-core, against a server that serves both
// the UI's files and Socket.IO (socketio/tests/admin_ui.rs runs it).
//
//   node tests/node/admin-ui-browser.mjs <options as JSON>
//
// Options: url (where the UI is served, also the server's URL), username,
// password, socketId (a socket the Sockets page must list), serverId (the
// id the Servers page must show).
//
// Steps: a wrong password is refused ("invalid credentials" in the login
// modal); the right one logs in and the session id the server hands out is
// kept; the Sockets page lists the socket; the Servers page shows the
// server; the page reloaded logs in again with the session id alone.
// Prints one "ok - <step>" line per step and PASS at the end; exits 0 when
// every check passes. Needs Chromium at /usr/bin/chromium (or
// $CHROMIUM_PATH).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const TOTAL_LIMIT_MS = 60_000;
const STEP_LIMIT_MS = 15_000;
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

const opts = JSON.parse(process.argv[2] ?? "{}");
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

/** Waits until the page shows `text` (case aside). */
async function waitForText(page, text, what) {
  try {
    await page.waitForFunction(
      (t) => document.body.innerText.toLowerCase().includes(t.toLowerCase()),
      text,
      { polling: 100 },
    );
  } catch (e) {
    const body = await page.evaluate(() => document.body.innerText).catch(() => "?");
    throw new Error(`${what}: no ${JSON.stringify(text)} on the page:\n${body.slice(0, 3000)}`);
  }
}

async function login(page, password) {
  const modal = page.locator(".v-dialog--active");
  await modal.waitFor();
  await modal.getByLabel("Server URL").fill(opts.url);
  await modal.getByLabel("Username").fill(opts.username);
  await modal.getByLabel("Password").fill(password);
  await modal.getByRole("button", { name: "Connect" }).click();
}

async function main() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-rs-admin-ui-"));
  cleanups.push(async () => fs.rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  cleanups.push(() => context.close());
  context.setDefaultTimeout(STEP_LIMIT_MS);
  // The page asks for web fonts and icons from CDNs: nothing leaves the
  // machine.
  const origin = new URL(opts.url).origin;
  await context.route("**/*", (route) =>
    new URL(route.request().url()).origin === origin ? route.continue() : route.abort(),
  );

  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  const res = await page.goto(opts.url);
  if (!res.ok()) throw new Error(`GET ${opts.url} answered ${res.status()}`);
  step("the UI loads");

  await login(page, "not the password");
  await waitForText(page, "invalid credentials", "a wrong password");
  step("a wrong password is refused");

  await login(page, opts.password);
  await page.locator(".v-dialog--active").waitFor({ state: "detached" });
  await page.waitForFunction(() => /^[0-9a-f]{16}$/.test(localStorage.getItem("session_id") ?? ""), null, {
    polling: 100,
  });
  step("the right password logs in, the session id is kept");

  await page.goto(`${opts.url}/#/sockets/`);
  await waitForText(page, opts.socketId, "the Sockets page");
  step("the Sockets page lists the socket");

  await page.goto(`${opts.url}/#/servers/`);
  await waitForText(page, opts.serverId, "the Servers page");
  step("the Servers page shows the server");

  // A reload connects with the session id alone (no modal).
  await page.reload();
  await page.goto(`${opts.url}/#/sockets/`);
  await waitForText(page, opts.socketId, "the Sockets page after a reload");
  if ((await page.locator(".v-dialog--active").count()) !== 0) {
    throw new Error("the login modal is back after a reload");
  }
  step("a reload logs in again with the session id");

  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join("; ")}`);
  console.log("PASS");
}

main()
  .then(async () => {
    clearTimeout(deadline);
    await cleanup();
    process.exit(0);
  })
  .catch(async (e) => {
    console.error(`FAIL: ${e.stack ?? e}`);
    clearTimeout(deadline);
    await cleanup();
    process.exit(1);
  });
