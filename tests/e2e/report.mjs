// The HTML report in a real browser (`make e2e`): each page is opened from its file in Debian's
// headless Chromium with a fresh profile. Fails on any console error, page error, dialog (a
// script that ran) or network request, or a load slower than a second; checks the script-free log-scale toggle, dark mode and
// print styles; saves a screenshot of the first page and fails if it is blank.
//
// usage: node report.mjs SCREENSHOT.png REPORT.html [REPORT.html ...]

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const LOAD_LIMIT_MS = 1000;
// A screenshot with less than this share of pixels off the background colour counts as blank.
const MIN_INK = 0.03;

/** The share of pixels that differ from the most common colour (the background). */
function ink(png) {
  const counts = new Map();
  const { data } = png;
  for (let i = 0; i < data.length; i += 4) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const [background] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  const [br, bg, bb] = [background >> 16, (background >> 8) & 255, background & 255];
  let off = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - br) + Math.abs(data[i + 1] - bg) + Math.abs(data[i + 2] - bb);
    if (d > 24) off += 1;
  }
  return off / (data.length / 4);
}

/** Open `file`, check it, and return its figures; `screenshot` is where to save a PNG, if any. */
async function check(file, screenshot) {
  const url = pathToFileURL(resolve(file)).href;
  const profile = mkdtempSync(join(tmpdir(), 'shakedown-e2e-'));
  const problems = [];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 1560 },
  });
  try {
    context.on('request', (r) => {
      if (r.url() !== url) problems.push(`network request: ${r.method()} ${r.url()}`);
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', async (d) => {
      problems.push(`a script ran and opened a dialog (${d.type()}): ${d.message()}`);
      await d.dismiss();
    });

    const started = Date.now();
    await page.goto(url, { waitUntil: 'load' });
    const wall = Date.now() - started;
    const nav = await page.evaluate(() => performance.getEntriesByType('navigation')[0].toJSON());
    const loaded = nav.loadEventEnd;
    if (loaded > LOAD_LIMIT_MS) problems.push(`load took ${loaded.toFixed(0)} ms (limit ${LOAD_LIMIT_MS})`);

    const shown = (selector) => page.$eval(selector, (e) => getComputedStyle(e).display !== 'none');
    if (await page.$('input.logtoggle')) {
      if (!(await shown('svg g.lin')) || (await shown('svg g.log'))) problems.push('linear latency not shown first');
      await page.click('label.logtoggle');
      if ((await shown('svg g.lin')) || !(await shown('svg g.log'))) problems.push('the log-scale toggle did not switch');
      await page.click('label.logtoggle');
    }
    // Hovering a second highlights its column (its <title> is the tooltip).
    const second = await page.$('g.seconds rect');
    if (second) {
      const fill = () => second.evaluate((e) => getComputedStyle(e).fill);
      const idle = await fill();
      await second.hover();
      if ((await fill()) === idle) problems.push('hovering a second does not highlight it');
      if (!(await second.$('title'))) problems.push('a second has no tooltip');
      await page.mouse.move(0, 0);
    }
    const charts = await page.$$eval('figure.timeline svg', (s) => s.length);
    if (charts === 0) problems.push('no timeline chart');

    if (screenshot) {
      const png = await page.screenshot({ fullPage: false });
      writeFileSync(screenshot, png);
      const share = ink(PNG.sync.read(png));
      if (share < MIN_INK) problems.push(`screenshot is blank: ${(share * 100).toFixed(1)} % ink`);
      console.log(`${screenshot}: ${(share * 100).toFixed(1)} % of pixels off the background`);
    }

    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    if ((await background()) === light) problems.push('prefers-color-scheme: dark changes nothing');
    await page.emulateMedia({ colorScheme: 'light', media: 'print' });
    if (await page.$('input.logtoggle') && (await shown('input.logtoggle'))) problems.push('the toggle prints');

    const bytes = statSync(file).size;
    console.log(`${file}: ${(bytes / 1024).toFixed(0)} kB, load event after ${loaded.toFixed(0)} ms ` +
      `(goto ${wall} ms), ${charts} timeline chart(s)`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return problems;
}

const [screenshot, ...files] = process.argv.slice(2);
if (!screenshot || files.length === 0) {
  console.error('usage: node report.mjs SCREENSHOT.png REPORT.html [REPORT.html ...]');
  process.exit(2);
}
let failed = 0;
for (const [i, file] of files.entries()) {
  readFileSync(file); // a missing report fails here, with its name
  const problems = await check(file, i === 0 ? screenshot : null);
  for (const p of problems) console.error(`${file}: ${p}`);
  failed += problems.length > 0 ? 1 : 0;
}
console.log(`${files.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
