// Responsiveness of the web UI with a big database, measured in headless
// Chromium (issue #14: "With 100,000 instances and an instance with a
// 10,000-event history the pages stay responsive"). Not part of `npm test`:
//
//   WINDLASS_BIN=~/.cache/windlass/target/release/windlass npm --prefix ui run perf
//
// Seeds a SQLite database with `windlass bench` (INSTANCES completed
// instances of tests/fixtures/ui-noop.bpmn, real rows the server lists),
// serves it with `windlass server`, runs one instance of a counting loop
// (a script task and a gateway) until its history has at least
// BIG_EVENTS events, then measures each page RUNS times (the median is
// printed): first paint and first contentful paint
// (performance.getEntriesByType('paint')), and the time from navigation
// start until the page's main content is in the DOM; and page changes inside
// the app (next page of instances, an instance link, the next history page):
// performance.now() from the click until the new content is there.
// Env: INSTANCES (default 100000), BIG_EVENTS (10000), RUNS (5), CHROMIUM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.WINDLASS_BIN || join(homedir(), '.cache/windlass/target/release/windlass');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const INSTANCES = Number(process.env.INSTANCES || 100000);
const BIG_EVENTS = Number(process.env.BIG_EVENTS || 10000);
const RUNS = Number(process.env.RUNS || 5);

const LOOP = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:windlass="urn:windlass:bpmn:1" id="defs_perf-loop" targetNamespace="https://example.invalid/windlass/ui-perf">
  <process id="perf-loop" name="Count to a limit" isExecutable="true">
    <startEvent id="start" name="Start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
    <serviceTask id="step" name="Count">
      <extensionElements>
        <windlass:task kind="script"><windlass:setting name="expression" value="{{&quot;n&quot;: n + 1}}"/></windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="step" targetRef="more"/>
    <exclusiveGateway id="more" name="More?" default="done"/>
    <sequenceFlow id="again" sourceRef="more" targetRef="step"><conditionExpression>n &lt; limit</conditionExpression></sequenceFlow>
    <sequenceFlow id="done" sourceRef="more" targetRef="end"/>
    <endEvent id="end" name="End"/>
  </process>
</definitions>
`;

let base, token;

async function rest(path, { method = 'GET', body } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => (x === undefined || Number.isNaN(x) ? '–' : `${Math.round(x)} ms`);

async function main() {
  assert.ok(existsSync(BIN), `no windlass binary at ${BIN} (set WINDLASS_BIN)`);
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM)`);
  const tmp = await mkdtemp(join(tmpdir(), 'windlass-ui-perf-'));
  const dir = join(tmp, 'processes');
  await mkdir(dir);
  const db = join(tmp, 'w.db');
  let server, browser;
  try {
    // 1. Seed: `windlass bench` runs the instances on the runtime into the file.
    let t = Date.now();
    const bench = spawnSync(
      BIN,
      ['bench', join(here, 'fixtures', 'ui-noop.bpmn'), '--instances', String(INSTANCES), '--store', 'sqlite', '--db', db, '--format', 'json', '--timeout-seconds', '3600'],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    assert.equal(bench.status, 0, `windlass bench failed: ${bench.stderr}${bench.stdout}`);
    console.error(`seeded ${INSTANCES} instances with windlass bench in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    await copyFile(join(here, 'fixtures', 'ui-noop.bpmn'), join(dir, 'ui-noop.bpmn'));
    server = spawn(BIN, ['server', '--db', db, '--listen', '127.0.0.1:0', '--processes', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WINDLASS_LOG: 'warn' },
    });
    let stderr = '';
    server.stderr.on('data', (d) => (stderr += d));
    const first = await new Promise((resolve, reject) => {
      createInterface({ input: server.stdout }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`windlass server exited (${code}): ${stderr}`)));
    });
    base = /^listening on (http:\/\/\S+)/.exec(first)?.[1];
    assert.ok(base, first);
    token = (await readFile(`${db}.token`, 'utf8')).trim();
    assert.match(await (await fetch(`${base}/instances`)).text(), /<div id="app">/, `${BIN} was built without the web UI (scripts/build-ui, then cargo build)`);
    const deployed = await fetch(`${base}/api/v1/definitions`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/xml' }, body: LOOP });
    assert.equal(deployed.status, 200, await deployed.text());

    // 2. The big instance: events per loop measured on a small run first.
    const run = async (id, limit) => {
      await rest('/api/v1/instances', { method: 'POST', body: { processId: 'perf-loop', instanceId: id, variables: { n: 0, limit }, wait: 'settled' } });
      const d = await rest(`/api/v1/instances/${encodeURIComponent(id)}`);
      assert.equal(d.status, 'completed', `${id}: ${d.status}`);
      return d.events;
    };
    const perLoop = ((await run('calibrate-20', 20)) - (await run('calibrate-10', 10))) / 10;
    const limit = Math.ceil(BIG_EVENTS / perLoop) + 10;
    t = Date.now();
    const bigEvents = await run('big', limit);
    assert.ok(bigEvents >= BIG_EVENTS, `${bigEvents} events`);
    console.error(`big instance: ${limit} loops, ${bigEvents} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const listed = await rest('/api/v1/instances?processId=ui-noop&limit=1');
    assert.ok(listed.items.length === 1 && listed.next, 'the seeded instances are listed');

    // 3. The browser.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    // bypassCSP: the measuring predicates are built as strings (the app's CSP forbids eval).
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await context.addInitScript((tok) => {
      if (location.protocol === 'http:') sessionStorage.setItem('windlass.token', tok);
    }, token);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

    /** Loads `path` fresh; paint times and the time until `ready()` is true. */
    const load = async (path, ready) => {
      await page.goto('about:blank');
      await page.goto(base + path, { waitUntil: 'commit' });
      const content = await (await page.waitForFunction(`(${ready})() && performance.now()`, null, { polling: 'raf', timeout: 60000 }).catch(async (e) => {
        throw new Error(`${path}: ${e.message}; the page shows: ${page.url()} ${(await page.content()).slice(0, 600)}`);
      })).jsonValue();
      const paints = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime])));
      return { fp: paints['first-paint'], fcp: paints['first-contentful-paint'], content };
    };
    /** Runs `act` in the page and the time until `ready()` is true. */
    const change = async (act, ready) => {
      await page.evaluate(`window.__t0 = performance.now(); (${act})()`);
      return (await page.waitForFunction(`(${ready})() && performance.now() - window.__t0`, null, { polling: 'raf', timeout: 60000 })).jsonValue();
    };

    const pages = [
      ['/instances (the first 50 of all)', '/instances', () => document.querySelectorAll('#instances tbody tr').length === 50],
      ['/instances?processId=ui-noop&status=completed', '/instances?processId=ui-noop&status=completed', () => document.querySelectorAll('#instances tbody tr').length === 50],
      [`/instances/big (${bigEvents} events)`, '/instances/big', () => document.querySelectorAll('#history-table tbody tr').length > 0 && !!document.querySelector('#diagram svg') && !!document.querySelector('#timeline svg')],
      ['/processes/ui-noop (counts)', '/processes/ui-noop', () => !!document.querySelector('.wl-counts')],
      ['/processes/perf-loop (counts)', '/processes/perf-loop', () => !!document.querySelector('.wl-counts')],
      ['/processes', '/processes', () => document.querySelectorAll('#processes tbody tr').length > 0],
    ];
    const rows = [];
    for (const [name, path, ready] of pages) {
      const r = [];
      for (let i = 0; i < RUNS; i++) r.push(await load(path, ready));
      rows.push([name, ms(median(r.map((x) => x.fp))), ms(median(r.map((x) => x.fcp))), ms(median(r.map((x) => x.content)))]);
    }
    const changes = [];
    const measure = async (name, prepare, act, ready) => {
      const r = [];
      for (let i = 0; i < RUNS; i++) {
        await prepare();
        r.push(await change(act, ready));
      }
      changes.push([name, ms(median(r)), ms(Math.max(...r))]);
    };
    await measure(
      'instances: next page',
      () => load('/instances', pages[0][2]),
      () => document.querySelector('#next-page').click(),
      () => /Page 2/.test(document.querySelector('#page-summary')?.textContent ?? '') && document.querySelectorAll('#instances tbody tr').length === 50,
    );
    await measure(
      'instances: open an instance (link)',
      () => load('/instances', pages[0][2]),
      () => document.querySelector('#instances tbody tr a[href^="/instances/"]').click(),
      () => document.querySelectorAll('#history-table tbody tr').length > 0 && !!document.querySelector('#diagram svg'),
    );
    await measure(
      'instances: open the big instance (link)',
      () => load('/instances?idPrefix=big', () => document.querySelectorAll('#instances tbody tr').length === 1),
      () => document.querySelector('#instances tbody tr a[href^="/instances/"]').click(),
      () => document.querySelectorAll('#history-table tbody tr').length > 0 && !!document.querySelector('#diagram svg') && !!document.querySelector('#timeline svg'),
    );
    await measure(
      'big instance: next history page',
      () => load('/instances/big', pages[2][2]),
      () => document.querySelector('#history-next').click(),
      () => document.querySelector('#history-table tbody tr')?.getAttribute('data-seq') === '51',
    );
    await measure(
      'big instance: page 100 → 101 of the history',
      async () => {
        await load('/instances/big', pages[2][2]);
        for (let i = 0; i < 99; i++) {
          await page.evaluate(() => document.querySelector('#history-next').click());
          await page.waitForFunction((seq) => document.querySelector('#history-table tbody tr')?.getAttribute('data-seq') === String(seq), (i + 1) * 50 + 1);
        }
      },
      () => document.querySelector('#history-next').click(),
      () => document.querySelector('#history-table tbody tr')?.getAttribute('data-seq') === '5001',
    );

    const bin = BIN.includes('/release/') ? 'release' : BIN.includes('/debug/') ? 'debug' : BIN;
    console.log(`\n${INSTANCES} instances (windlass bench), one of ${bigEvents} events; ${bin} binary; headless Chromium ${browser.version()}; median of ${RUNS} runs\n`);
    console.log('| page (fresh load) | first paint | first contentful paint | main content rendered |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    console.log('\n| page change (in the app) | median | slowest |');
    console.log('|---|---|---|');
    for (const r of changes) console.log(`| ${r.join(' | ')} |`);
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await browser?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
