// The game-day console in a real browser (`make e2e`): starts `shakedown gameday --experiment
// experiments/quickstart.yaml` on free ports, opens /ui in Debian's headless Chromium and, as a
// participant would: adds a latency toxic through the form (after the form refused a bad value
// and showed the server's refusal of a duplicate), sees it listed and the load's p50 rise to the
// toxic's latency, writes a note holding markup (shown as text), presses "Clear all faults",
// sees the toxics gone and the journal list all of it in order, reloads and finds it all again.
// Then SIGINT ends the game day: exit 0, the journal written, no proxy or service left.
// Fails on any console error, page error, dialog or request outside the page's origin.
//
// usage: node console.mjs SCREENSHOT.png [COPY.png ...]   (run from the repository root)

import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const BIN = process.env.SHAKEDOWN_BIN || 'target/debug/shakedown';
const JOURNAL = 'target/e2e/gameday-journal.md';
// The toxic's latency, and the least load p50 that shows it (every response waits for it).
const LATENCY_MS = 300;
const STEP_MS = 20_000; // the longest wait for one step (a busy 2-core machine)
const NOTE = 'p50 jumped <script>alert(1)</script><img src=x onerror=alert(2)> & stayed';

const problems = [];
const started = Date.now();

/** `n` free loopback ports (bound together, then released). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port) {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

/** Start `shakedown gameday ARGS`; `ready` resolves once it listens. */
function startGameday(args) {
  const child = spawn(BIN, ['gameday', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', exited: null };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  child.on('exit', (code, signal) => { out.exited = { code, signal }; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gameday did not start:\n${out.stdout}\n${out.stderr}`)), STEP_MS);
    child.stdout.on('data', () => {
      if (out.stdout.includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`gameday exited ${code}:\n${out.stderr}`)); });
  });
  return { child, out, ready };
}

/** Wait for `gameday` to end after its SIGINT; its exit, or null (and a problem) when late. */
async function end(gameday) {
  const deadline = Date.now() + STEP_MS;
  while (!gameday.out.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (gameday.out.exited) return gameday.out.exited;
  gameday.child.kill('SIGKILL');
  problems.push('gameday did not end within 20 s of SIGINT');
  return null;
}

/**
 * A fresh Chromium on `base`'s page, every problem recorded: console errors (but the refused
 * fetches the test provokes, counted in the returned `expected` by status), page errors,
 * dialogs, requests outside the origin.
 */
async function browse(base, profile) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 1100 },
  });
  context.on('request', (r) => {
    const url = new URL(r.url());
    if (url.protocol !== 'data:' && url.origin !== base) problems.push(`off-origin request: ${r.method()} ${r.url()}`);
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(STEP_MS);
  const expected = new Map();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const status = /status of (\d+)/.exec(m.text())?.[1];
    if (status && expected.get(status) > 0) expected.set(status, expected.get(status) - 1);
    else problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', async (d) => { problems.push(`a dialog opened (a script ran): ${d.message()}`); await d.dismiss(); });
  return { context, page, expected };
}

/** The number in a figure's value (`312 ms` → 312), NaN when there is none yet. */
const number = (text) => Number.parseFloat(String(text).replace(/[^0-9.]/g, ''));

async function run() {
  const [api, service, proxy] = await freePorts(3);
  const base = `http://127.0.0.1:${api}`;
  const gameday = startGameday(['--experiment', 'experiments/quickstart.yaml', '--port', String(api),
    '--var', `port=${service}`, '--var', `proxy_port=${proxy}`, '--journal', JOURNAL]);
  const profile = mkdtempSync(join(tmpdir(), 'shakedown-console-'));
  let context = null;
  try {
    await gameday.ready;
    const browser = await browse(base, profile);
    context = browser.context;
    const { page, expected } = browser;

    await page.goto(`${base}/ui`, { waitUntil: 'load' });
    await page.fill('#note-author', 'e2e');
    await page.dispatchEvent('#note-author', 'change');
    const card = page.locator('article.proxy[data-proxy="kv"]');
    await card.waitFor();
    await page.waitForSelector('#live.on');
    const p50 = page.locator('#load [data-figure="p50"] .value');
    // Before any fault the p50 settles well below the toxic's latency (a busy start may be slow).
    await page.waitForFunction((ms) => {
      const v = document.querySelector('#load [data-figure="p50"] .value');
      return v && Number.parseFloat(v.textContent) < ms;
    }, LATENCY_MS / 2);
    const before = number(await p50.textContent());

    // Client-side validation: a negative latency is refused in the page, nothing is sent.
    const form = card.locator('form.toxic-form');
    await form.locator('select[name="type"]').selectOption('latency');
    await form.locator('input[name="latency"]').fill('-5');
    await form.locator('button[type="submit"]').click();
    const fieldError = await form.locator('[data-for="latency"]').textContent();
    if (fieldError !== 'must be at least 0') problems.push(`field error: ${JSON.stringify(fieldError)}`);
    // Server-side validation: a name the name rule refuses (400); the API's message is shown.
    await form.locator('input[name="latency"]').fill(String(LATENCY_MS));
    await form.locator('input[name="name"]').fill('bad name');
    expected.set('400', 1);
    await form.locator('button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector('article[data-proxy="kv"] .server-error').textContent !== '');
    const badName = await form.locator('.server-error').textContent();
    if (!badName.includes("contains ' '")) problems.push(`the server's 400 reads ${JSON.stringify(badName)}`);
    await form.locator('input[name="name"]').fill('');
    // The toxic, through the form.
    await form.locator('input[name="latency"]').fill(String(LATENCY_MS));
    await form.locator('button[type="submit"]').click();
    const row = card.locator('tr.toxic[data-toxic="latency_downstream"]');
    await row.waitFor();
    const listed = await row.textContent();
    if (!listed.includes(`latency=${LATENCY_MS}`)) problems.push(`the toxic row reads ${JSON.stringify(listed)}`);
    // The same toxic again: the API's 409 is shown next to the form.
    await form.locator('select[name="type"]').selectOption('latency');
    expected.set('409', 1);
    await form.locator('button[type="submit"]').click();
    await page.waitForFunction(() => /exists/.test(document.querySelector('article[data-proxy="kv"] .server-error').textContent));
    const refused = await form.locator('.server-error').textContent();
    if (!/exists/i.test(refused)) problems.push(`the server's refusal reads ${JSON.stringify(refused)}`);

    // The load's p50 rises to the toxic's latency.
    await page.waitForFunction((ms) => {
      const v = document.querySelector('#load [data-figure="p50"] .value');
      return v && Number.parseFloat(v.textContent) >= ms;
    }, LATENCY_MS);
    const during = number(await p50.textContent());

    // A note with markup in it: shown as text, nothing runs.
    await page.fill('#note-text', NOTE);
    await page.click('#note button[type="submit"]');
    const note = page.locator('#journal li', { hasText: 'stayed' });
    await note.waitFor();
    if ((await note.locator('.text').textContent()) !== NOTE) problems.push('the note is not shown as written');
    if ((await page.locator('#journal img, #journal script').count()) > 0) problems.push('the note became markup');

    // The picture: the toxic in place, the p50 up, the probe failing, the note in the journal.
    const [screenshot, ...copies] = process.argv.slice(2);
    writeFileSync(screenshot, await page.screenshot({ fullPage: false }));
    for (const c of copies) copyFileSync(screenshot, c);

    // Clear all: no question asked, every toxic gone.
    await page.click('#clear-all');
    await page.waitForFunction(() => document.querySelectorAll('tr.toxic').length === 0);
    await page.waitForFunction(() => [...document.querySelectorAll('#journal li')]
      .some((li) => /reset|clear/i.test(li.textContent)));
    const order = async () => page.$$eval('#journal li', (items) => items.map((li) => li.textContent));
    const lines = await order();
    const at = (re, from = 0) => lines.findIndex((l, i) => i >= from && re.test(l));
    const added = at(/latency_downstream/);
    const noted = at(/stayed/, added + 1);
    const cleared = at(/reset|clear/i, noted + 1);
    if (added < 0 || noted < 0 || cleared < 0) problems.push(`the journal misses a step or its order:\n  ${lines.join('\n  ')}`);
    else if (!lines[added].includes('console:e2e')) problems.push(`the toxic's event does not name the page: ${lines[added]}`);


    // A reload finds the journal and the charts again, and the stream resumes.
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#live.on');
    await page.waitForFunction((n) => document.querySelectorAll('#journal li').length >= n, lines.length);
    const again = await order();
    if (again.slice(0, lines.length).join('\n') !== lines.join('\n')) problems.push('the journal after a reload differs');
    if ((await page.locator('#load svg.spark path').count()) === 0) problems.push('no load chart after a reload');
    console.log(`console: p50 ${before} ms before, ${during} ms under a ${LATENCY_MS} ms toxic; ` +
      `${lines.length} journal events; screenshot ${screenshot}`);
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
    if (!gameday.out.exited) gameday.child.kill('SIGINT'); // the end of the game day, whatever happened
  }
  // The end of the game day: exit 0, the journal written, nothing left listening.
  const exited = await end(gameday);
  if (!exited) return;
  if (exited.code !== 0) problems.push(`gameday exited ${exited.code ?? exited.signal}:\n${gameday.out.stderr}`);
  const last = gameday.out.stdout.trim().split('\n').pop();
  if (!last.startsWith(`journal written to ${JOURNAL}`)) problems.push(`last line: ${last}`);
  else if (!readFileSync(JOURNAL, 'utf8').includes('stayed')) problems.push(`${JOURNAL} lacks the note`);
  for (const port of [proxy, service, api]) {
    if (await listening(port)) problems.push(`port ${port} still listens after the game day`);
  }
}

/**
 * With a token, the page asks for it once in its own form (no dialog), keeps it in the tab's
 * session storage, never in a URL, and then works.
 */
async function withToken() {
  const [api] = await freePorts(1);
  const base = `http://127.0.0.1:${api}`;
  const token = 'e2e-secret-token';
  const gameday = startGameday(['--port', String(api), '--token', token, '--journal', 'target/e2e/gameday-token.md']);
  const profile = mkdtempSync(join(tmpdir(), 'shakedown-console-'));
  let context = null;
  try {
    await gameday.ready;
    const browser = await browse(base, profile);
    context = browser.context;
    const { page, expected } = browser;
    expected.set('401', 1);
    await page.goto(`${base}/ui`, { waitUntil: 'load' });
    await page.waitForSelector('#auth:not([hidden])');
    await page.fill('#auth-token', token);
    await page.click('#auth button[type="submit"]');
    await page.waitForSelector('#live.on');
    await page.waitForSelector('#journal li[data-kind="gameday_started"]');
    const kept = await page.evaluate(() => sessionStorage.getItem('shakedown.token'));
    if (kept !== token) problems.push('the token is not kept in session storage');
    if (page.url().includes(token)) problems.push(`the token is in the URL: ${page.url()}`);
    if (await page.isVisible('#auth')) problems.push('the token form stays after the token was given');
    if (expected.get('401') !== 0) problems.push('the page did not meet the 401 it should have');
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
    if (!gameday.out.exited) gameday.child.kill('SIGINT'); // the end of the game day, whatever happened
  }
  const exited = await end(gameday);
  if (exited && exited.code !== 0) problems.push(`gameday --token exited ${exited.code}:\n${gameday.out.stderr}`);
}

for (const scenario of [run, withToken]) {
  try {
    await scenario();
  } catch (e) {
    problems.push(e.stack || String(e));
  }
}
for (const p of problems) console.error(`console: ${p}`);
console.log(`console: ${problems.length === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(problems.length === 0 ? 0 : 1);
