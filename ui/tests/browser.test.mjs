// Browser tests of the web UI in real headless Chromium against a real
// `windlass server` with seeded instances. Builds nothing: it needs the
// binary (WINDLASS_BIN, default ~/.cache/windlass/target/debug/windlass)
// compiled after `npm run build` (the UI is embedded), and Chromium
// (CHROMIUM, default /usr/bin/chromium). Screenshots: ui/tests/screenshots/
// (WINDLASS_UI_UPDATE_SCREENSHOT=1 also refreshes ui/docs/screenshot-instance.png).
//
//   node --test ui/tests/        (or: npm --prefix ui test)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const shots = join(here, 'screenshots');
const BIN = process.env.WINDLASS_BIN || join(homedir(), '.cache/windlass/target/debug/windlass');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const NOOPS = 30; // completed instances of ui-noop: more than one page of 25
const WAITING = 3; // ui-approval instances waiting at their user task
const BROKEN = 2; // ui-broken instances in an incident

let tmp, server, base, token, browser, context, page;
const problems = []; // console errors and page errors
let allowed = []; // console errors a step expects (regexps)

async function rest(path, { method = 'GET', body, auth = token } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${auth}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function eventually(what, check, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

async function start(processId, variables = {}) {
  return rest('/api/v1/instances', { method: 'POST', body: { processId, variables } });
}

async function deploy(fixture) {
  const res = await fetch(`${base}/api/v1/definitions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/xml' },
    body: await readFile(join(here, 'fixtures', fixture), 'utf8'),
  });
  assert.equal(res.status, 200, `deploy ${fixture}: ${await res.text()}`);
}

/** Opens an instance page and waits until it listens to the event stream. */
async function openLive(id) {
  await page.goto(`${base}/instances/${encodeURIComponent(id)}`);
  await page.locator('main[data-live="stream"]').waitFor();
}

const statusIs = (re) => page.waitForFunction((src) => new RegExp(src).test(document.querySelector('#status')?.textContent ?? ''), re.source, { timeout: 8000 });

async function shot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function rows(selector) {
  return page.locator(`${selector} tbody tr`).count();
}

async function apply(filters) {
  const f = { status: '', process: '', id: '', from: '', until: '', limit: '50', ...filters };
  await page.selectOption('#f-status', f.status);
  await page.selectOption('#f-process', f.process);
  await page.fill('#f-id', f.id);
  await page.fill('#f-from', f.from);
  await page.fill('#f-until', f.until);
  await page.selectOption('#f-limit', f.limit);
  await page.click('button:text("Apply filters")');
  await page.waitForFunction(() => !document.querySelector('#page-summary')?.textContent?.startsWith('Loading'));
}

describe('windlass web UI in headless Chromium', () => {
  before(async () => {
    assert.ok(existsSync(BIN), `no windlass binary at ${BIN} (set WINDLASS_BIN)`);
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
    await mkdir(shots, { recursive: true });
    tmp = await mkdtemp(join(tmpdir(), 'windlass-ui-test-'));
    const dir = join(tmp, 'processes');
    await mkdir(dir);
    for (const f of ['ui-approval.bpmn', 'ui-noop.bpmn', 'ui-broken.bpmn', 'ui-nightly.bpmn']) await copyFile(join(here, 'fixtures', f), join(dir, f));
    await copyFile(join(repo, 'examples', 'change-approval.bpmn'), join(dir, 'change-approval.bpmn'));
    const db = join(tmp, 'w.db');
    server = spawn(BIN, ['server', '--db', db, '--listen', '127.0.0.1:0', '--processes', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WINDLASS_LOG: 'warn' },
    });
    let stderr = '';
    server.stderr.on('data', (d) => (stderr += d));
    const first = await new Promise((resolve, reject) => {
      const lines = createInterface({ input: server.stdout });
      lines.once('line', resolve);
      server.once('exit', (code) => reject(new Error(`windlass server exited (${code}): ${stderr}`)));
    });
    const m = /^listening on (http:\/\/\S+)/.exec(first);
    assert.ok(m, `unexpected first line: ${first}`);
    base = m[1];
    token = (await readFile(`${db}.token`, 'utf8')).trim();

    // Seed: every process deployed, then instances in each state.
    await eventually('the five processes deployed', async () => (await rest('/api/v1/definitions')).length === 5);
    for (let i = 0; i < NOOPS; i++) await start('ui-noop', { n: i });
    for (let i = 0; i < WAITING; i++) await start('ui-approval', { requester: `user-${i}`, apiToken: 'hunter2' });
    for (let i = 0; i < BROKEN; i++) await start('ui-broken');
    await start('change-approval', { change: 'CHG-7' });
    await eventually('the seeded instances settled', async () => {
      const { items } = await rest('/api/v1/instances?limit=1000');
      const by = (s) => items.filter((i) => i.status === s).length;
      return items.length === NOOPS + WAITING + BROKEN + 1 && by('completed') === NOOPS && by('incident') === BROKEN + 1 && by('running') === WAITING;
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (allowed.some((re) => re.test(text))) return;
      problems.push(`console: ${text}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the server answers deep links with the page, without a token; the API needs one', async () => {
    for (const p of ['/', '/processes', '/processes/ui-noop', '/instances', '/instances/x%2Fy', '/schedules']) {
      const res = await fetch(base + p);
      assert.equal(res.status, 200, p);
      assert.match(res.headers.get('content-type'), /text\/html/, p);
      assert.match(await res.text(), /<div id="app">/, p);
    }
    assert.equal((await fetch(`${base}/api/v1/instances`)).status, 401);
  });

  test('a visit without a token shows the login form; a wrong token is refused with a message', async () => {
    await page.goto(`${base}/instances`);
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.locator('h1').textContent(), 'Log in');
    await shot('login');
    allowed = [/401/];
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.login [role=alert]').waitFor();
    assert.match(await page.locator('.login [role=alert]').textContent(), /refused the token \(401\)/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('windlass.token')), null);
    allowed = [];
    // The right token through the form.
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#instances').waitFor();
    assert.equal(new URL(page.url()).pathname, '/instances');
  });

  test('#token= logs in, leaves the address bar, and lasts for the tab session', async () => {
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${base}/processes#token=${token}`);
    await page.locator('#processes').waitFor();
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('windlass.token')), token);
    const ids = await page.locator('#processes tbody tr th').allTextContents();
    assert.deepEqual(ids, ['change-approval', 'ui-approval', 'ui-broken', 'ui-nightly', 'ui-noop']);
    assert.equal(await page.locator('#processes tr[data-process="ui-noop"] td').first().textContent(), 'v1');
    await page.reload();
    await page.locator('#processes').waitFor();
    await shot('processes');
  });

  async function counts(node) {
    const box = page.locator(`.wl-counts[data-node="${node}"]`);
    const get = async (kind) => {
      const b = box.locator(`.badge-${kind}`);
      return (await b.count()) ? Number(await b.textContent()) : 0;
    };
    return { active: await get('active'), incident: await get('incident'), completed: await get('completed') };
  }

  test('a process page shows the diagram with per-node counts', async () => {
    await page.goto(`${base}/processes/ui-approval`);
    await page.locator('#diagram svg [data-element-id="work"]').waitFor();
    await page.locator('.wl-counts').first().waitFor();
    assert.deepEqual(await counts('work'), { active: WAITING, incident: 0, completed: 0 });
    assert.deepEqual(await counts('start'), { active: 0, incident: 0, completed: WAITING });
    assert.equal(await page.locator('.wl-counts[data-node="end"]').count(), 0);
    assert.match(await page.locator('#counts-note').textContent(), new RegExp(`over all ${WAITING} instance\\(s\\) of version 1 \\(${WAITING} running\\)`));
    assert.equal(await page.locator('.bjs-powered-by').count(), 1, 'the bpmn.io watermark');
    await shot('process-ui-approval');

    await page.goto(`${base}/processes/ui-noop`);
    await page.locator('.wl-counts').first().waitFor();
    assert.deepEqual(await counts('end'), { active: 0, incident: 0, completed: NOOPS });
    assert.deepEqual(await counts('work'), { active: 0, incident: 0, completed: NOOPS });

    await page.goto(`${base}/processes/ui-broken`);
    await page.locator('.wl-counts').first().waitFor();
    assert.deepEqual(await counts('work'), { active: 0, incident: BROKEN, completed: 0 });

    // A definition without diagram information gets a generated layout.
    await page.goto(`${base}/processes/change-approval`);
    await page.locator('.wl-counts').first().waitFor();
    assert.match(await page.locator('main').textContent(), /no diagram layout: the one shown was generated/);
    assert.deepEqual(await counts('plan'), { active: 0, incident: 1, completed: 0 });
    assert.equal(await page.locator('.djs-connection[data-element-id="f1"]').count(), 1, 'the generated layout has the flows');
    assert.equal(await page.locator('.djs-shape[data-element-id="aborted"]').count(), 1, 'and the boundary event');
    await shot('process-change-approval');
  });

  test('the instances page filters and pages through the API', async () => {
    await page.goto(`${base}/instances`);
    await page.locator('#instances').waitFor();
    assert.equal(await rows('#instances'), NOOPS + WAITING + BROKEN + 1);
    await shot('instances');

    await apply({ status: 'incident' });
    assert.equal(await rows('#instances'), BROKEN + 1);
    for (const s of await page.locator('#instances tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.status))) assert.equal(s, 'incident');
    assert.match(page.url(), /status=incident/);

    await apply({ process: 'ui-noop', limit: '25' });
    assert.equal(await rows('#instances'), 25);
    const firstPage = await page.locator('#instances tbody tr').first().getAttribute('data-instance');
    assert.equal(await page.locator('#prev-page').isDisabled(), true);
    await page.click('#next-page');
    await page.waitForFunction((n) => document.querySelectorAll('#instances tbody tr').length === n, NOOPS - 25);
    assert.match(await page.locator('#page-summary').textContent(), /Page 2/);
    assert.equal(await page.locator('#next-page').isDisabled(), true);
    await page.click('#prev-page');
    await page.waitForFunction(() => document.querySelectorAll('#instances tbody tr').length === 25);
    assert.equal(await page.locator('#instances tbody tr').first().getAttribute('data-instance'), firstPage);

    await apply({ id: firstPage.slice(0, 30) });
    assert.equal(await rows('#instances'), 1);

    await apply({ from: '2999-01-01T00:00' });
    assert.equal(await rows('#instances'), 0);
    assert.match(await page.locator('#page-summary').textContent(), /No instance matches/);
    await apply({ until: '2999-01-01T00:00', status: 'running' });
    assert.equal(await rows('#instances'), WAITING);

    // A reload keeps the filters (they are in the address).
    await page.reload();
    await page.locator('#instances').waitFor();
    assert.equal(await rows('#instances'), WAITING);
    assert.equal(await page.locator('#f-status').inputValue(), 'running');
  });

  test('an instance page shows its token, path, history and variables, and updates live', async () => {
    const { items } = await rest('/api/v1/instances?processId=ui-approval&status=running');
    const id = items[0].id;
    await page.goto(`${base}/instances/${encodeURIComponent(id)}`);
    await page.locator('#diagram svg [data-element-id="work"]').waitFor();
    await page.locator('.djs-element.wl-active[data-element-id="work"]').waitFor();
    assert.equal(await page.locator('.djs-element.wl-path[data-element-id="start"]').count(), 1);
    assert.equal(await page.locator('.djs-connection.wl-flow[data-element-id="f1"]').count(), 1);
    assert.equal(await page.locator('.djs-connection.wl-flow[data-element-id="f2"]').count(), 0);
    assert.match(await page.locator('#status').textContent(), /running/);
    assert.match(await page.locator('#token-table').textContent(), /Approve/);
    const events = await page.locator('#history-table tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.event));
    assert.deepEqual(events.slice(0, 3), ['InstanceStarted', 'TokenCreated', 'FlowTaken']);
    assert.ok(events.includes('JobCreated'));
    const vars = JSON.parse(await page.locator('#variables-json').textContent());
    assert.equal(vars.requester, 'user-0');
    assert.match(vars.apiToken, /masked/, 'a secret-looking variable is masked');
    assert.ok(!(await page.locator('main').textContent()).includes('hunter2'), 'the secret shows nowhere (history lines included)');
    await page.reload();
    await page.locator('.djs-element.wl-active[data-element-id="work"]').waitFor();
    await shot('instance-waiting');
    // The README's screenshot: refreshed on request (or when missing), so a test run leaves the tree clean.
    const doc = join(here, '..', 'docs', 'screenshot-instance.png');
    if (process.env.WINDLASS_UI_UPDATE_SCREENSHOT === '1' || !existsSync(doc)) await copyFile(join(shots, 'instance-waiting.png'), doc);

    // Live: completing the user task outside the page shows within a few seconds.
    const detail = await rest(`/api/v1/instances/${encodeURIComponent(id)}`);
    await rest('/api/v1/jobs/complete', { method: 'POST', body: { jobKey: detail.openJobs[0].jobKey, variables: { approved: true } } });
    await page.waitForFunction(() => /completed/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 8000 });
    await page.locator('.djs-element.wl-path[data-element-id="end"]').waitFor();
    assert.equal(await page.locator('.djs-element.wl-active').count(), 0);
    // The status and the history table are separate updates: wait for the row rather than
    // assume it is drawn first.
    await page.locator('#history-table tr[data-event="InstanceCompleted"]').waitFor({ timeout: 8000 });
    assert.equal(JSON.parse(await page.locator('#variables-json').textContent()).approved, true);
    // The timeline: the job and the activity as closed bars now.
    assert.equal(await page.locator('#timeline rect.tl-job.tl-completed[data-node="work"]').count(), 1);
    assert.equal(await page.locator('#timeline rect.tl-activity.tl-completed[data-node="work"]').count(), 1);
    await shot('instance-completed');

    // Reset to the point where the token waited for the job (event 5): a new run waits there again.
    assert.equal(await page.locator('#history-table tr[data-seq="5"]').getAttribute('data-event'), 'JobCreated');
    await page.getByRole('button', { name: 'Reset to event 5' }).click();
    await page.waitForFunction(() => /running/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 8000 });
    await page.locator('.djs-element.wl-active[data-element-id="work"]').waitFor();
    const after = await rest(`/api/v1/instances/${encodeURIComponent(id)}`);
    assert.equal(after.status, 'running');
    assert.notEqual(after.run, detail.run);
    await page.waitForFunction((run) => [...document.querySelectorAll('#instance-header dd code')].some((c) => c.textContent === run), after.run);
    // The new run carries the history up to event 5, then the reset's own events.
    assert.deepEqual(await page.locator('#history-table tbody tr').evaluateAll((trs) => trs.slice(0, 5).map((t) => Number(t.dataset.seq))), [1, 2, 3, 4, 5]);
    assert.equal(await page.locator('#timeline rect.tl-job.tl-open[data-node="work"]').count(), 1);
  });

  test('an incident is highlighted with its message; retry and skip are offered', async () => {
    const { items } = await rest('/api/v1/instances?processId=ui-broken');
    await page.goto(`${base}/instances/${encodeURIComponent(items[0].id)}`);
    await page.locator('.djs-element.wl-incident[data-element-id="work"]').waitFor();
    assert.match(await page.locator('#incidents .incident-message').textContent(), /no handler for serviceTask 'Call nobody'/);
    assert.equal(await page.getByRole('button', { name: 'Retry incident 0' }).count(), 1);
    await shot('instance-incident');

    // Skip with variables: the instance goes on to its end.
    await page.locator('#incidents summary').click();
    await page.fill('#skip-vars-0', '{"skipped": tru');
    await page.getByRole('button', { name: 'Skip incident 0' }).click();
    assert.match(await page.locator('#skip-vars-0-error').textContent(), /Invalid JSON/);
    await page.fill('#skip-vars-0', '{"skipped": true}');
    await page.getByRole('button', { name: 'Skip incident 0' }).click();
    await page.waitForFunction(() => /completed/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 8000 });
    assert.equal((await rest(`/api/v1/instances/${encodeURIComponent(items[0].id)}`)).variables.skipped, true);
  });

  test('actions: a signal is validated before sending; cancel asks and cancels', async () => {
    const { items } = await rest('/api/v1/instances?processId=ui-approval&status=running');
    const id = items[0].id;
    await page.goto(`${base}/instances/${encodeURIComponent(id)}`);
    await page.locator('#signal-form').waitFor();
    const before = (await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).events;
    await page.fill('#signal-name', 'poke');
    await page.fill('#signal-vars', '[1, 2]');
    await page.click('button:text("Send signal")');
    assert.match(await page.locator('#signal-vars-error').textContent(), /must be a JSON object/);
    assert.equal((await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).events, before, 'nothing was sent');
    await page.fill('#signal-vars', '{"why": "test"}');
    await page.click('button:text("Send signal")');
    await page.waitForFunction(() => /Done: send signal/.test(document.querySelector('#action-status')?.textContent ?? ''));
    assert.deepEqual((await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).bufferedSignals.length, 1);

    await page.fill('#message-name', 'nobody-waits-for-this');
    await page.fill('#message-key', 'k-1');
    await page.click('button:text("Publish message")');
    await page.waitForFunction(() => /Message 'nobody-waits-for-this': \w+/.test(document.querySelector('#action-status')?.textContent ?? ''));

    await page.fill('#reason', 'not needed any more');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForFunction(() => /cancelled/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 8000 });
    assert.equal((await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).status, 'cancelled');
  });

  test('live: the instance page reads the event stream; new history rows arrive without a reload', async () => {
    const { id } = await start('ui-approval', { requester: 'live' });
    await eventually('the job open', async () => (await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).openJobs.length === 1);
    await openLive(id);
    assert.match(await page.locator('#live-status').textContent(), /server-sent events/);
    const before = await rows('#history-table');
    assert.equal(await page.locator('main').getAttribute('data-stream-events'), null, 'nothing streamed yet: the page had the history');
    await page.evaluate(() => (window.__sameDocument = true));
    const { openJobs } = await rest(`/api/v1/instances/${encodeURIComponent(id)}`);
    await rest('/api/v1/jobs/complete', { method: 'POST', body: { jobKey: openJobs[0].jobKey, variables: { approved: 'yes' } } });
    await page.locator('#history-table tr[data-event="InstanceCompleted"]').waitFor({ timeout: 8000 });
    assert.ok((await rows('#history-table')) > before, 'the table gained rows');
    assert.ok(Number(await page.locator('main').getAttribute('data-stream-events')) >= 3, 'through the stream');
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
    await statusIs(/completed/);
    assert.equal(JSON.parse(await page.locator('#variables-json').textContent()).approved, 'yes');
    // The run finished: the server ended the stream; the page says so.
    await page.locator('main[data-live="ended"]').waitFor();
  });

  test('terminate with a reason', async () => {
    const { id } = await start('ui-approval', { requester: 'terminate-me' });
    await openLive(id);
    await page.fill('#reason', 'superseded by CHG-9');
    await page.getByRole('button', { name: 'Terminate' }).click();
    await statusIs(/terminated/);
    await page.waitForFunction(() => /Done: terminate/.test(document.querySelector('#action-status')?.textContent ?? ''));
    assert.match(await page.locator('#actions').textContent(), /The run is terminated: nothing to do/);
    await page.locator('#history-table tr[data-event="InstanceTerminated"]').waitFor();
    assert.match(await page.locator('#history-table tr[data-event="InstanceTerminated"]').textContent(), /superseded by CHG-9/);
    assert.equal(await page.locator('.djs-element.wl-active').count(), 0);
    const after = await rest(`/api/v1/instances/${encodeURIComponent(id)}`);
    assert.equal(after.status, 'terminated');
  });

  test('suspend, then resume', async () => {
    const { id } = await start('ui-approval', { requester: 'suspend-me' });
    await openLive(id);
    await page.fill('#reason', 'maintenance window');
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.locator('#status .status-suspended').waitFor({ timeout: 8000 });
    assert.ok((await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).suspended);
    await page.locator('#history-table tr[data-event="InstanceSuspended"]').waitFor();
    assert.match(await page.locator('#history-table tr[data-event="InstanceSuspended"]').textContent(), /maintenance window/);
    assert.equal(await page.getByRole('button', { name: 'Suspend' }).count(), 0, 'Resume is offered instead');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.waitForFunction(() => !document.querySelector('#status .status-suspended'), null, { timeout: 8000 });
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    await page.locator('#history-table tr[data-event="InstanceResumed"]').waitFor();
    assert.equal((await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).suspended, null);
    assert.match(await page.locator('#status').textContent(), /running/);
  });

  test('retry an incident: it fails again until its cause is gone, then the instance goes on', async () => {
    await deploy('ui-flaky.bpmn');
    const marker = join(tmp, 'flaky-marker');
    const { id } = await start('ui-flaky', { marker });
    await eventually('the incident', async () => (await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).status === 'incident');
    await openLive(id);
    await page.locator('.djs-element.wl-incident[data-element-id="work"]').waitFor();
    assert.match(await page.locator('#incidents .incident-message').textContent(), /exited with code 1/);
    const failures = () => page.locator('#history-table tr[data-event="IncidentRaised"]').count();
    const raised = await failures();
    assert.ok(raised >= 1);
    // The cause is still there: the retry fails again, a new attempt is shown.
    await page.locator('#incidents button', { hasText: 'Retry incident' }).first().click();
    await page.waitForFunction((n) => document.querySelectorAll('#history-table tr[data-event="IncidentRaised"]').length > n, raised, { timeout: 8000 });
    await page.locator('#incidents .incident').first().waitFor();
    assert.match(await page.locator('#incidents .incident p').first().textContent(), /attempt 2/);
    assert.match(await page.locator('#status').textContent(), /incident/);
    // Gone: the retry succeeds.
    await writeFile(marker, '');
    await page.locator('#incidents button', { hasText: 'Retry incident' }).first().click();
    await statusIs(/completed/);
    assert.match(await page.locator('#incidents h2').textContent(), /Incidents \(0\)/);
    await page.locator('.djs-element.wl-path[data-element-id="end"]').waitFor();
    assert.equal(await page.locator('.djs-element.wl-incident').count(), 0);
  });

  test('publish a message that an instance waits for', async () => {
    await deploy('ui-message.bpmn');
    const { id } = await start('ui-message', { order: 'A-17' });
    await eventually('the subscription', async () => (await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).subscriptions.length === 1);
    // Published under another key: buffered, and shown beside the wait.
    await rest('/api/v1/messages', { method: 'POST', body: { name: 'ui-go', correlationKey: 'B-99', messageId: 'ui-go-wrong-key' } });
    await openLive(id);
    await page.locator('.djs-element.wl-active[data-element-id="wait"]').waitFor();
    const sub = page.locator('#subscriptions tr[data-kind="message"]');
    assert.match(await sub.textContent(), /message 'ui-go' with key 'A-17'/);
    const buffered = page.locator('#buffered-messages tr[data-message="ui-go-wrong-key"]');
    await buffered.waitFor();
    assert.equal(await buffered.locator('.key').textContent(), 'B-99');
    await shot('instance-waits-message');
    await page.fill('#message-name', 'ui-go');
    await page.fill('#message-key', 'A-17');
    await page.fill('#message-vars', '{"go": "from the UI"}');
    await page.click('button:text("Publish message")');
    await page.waitForFunction(() => /Message 'ui-go': correlated/.test(document.querySelector('#action-status')?.textContent ?? ''));
    await statusIs(/completed/);
    assert.equal(JSON.parse(await page.locator('#variables-json').textContent()).go, 'from the UI');
    await page.locator('.djs-element.wl-path[data-element-id="end"]').waitFor();
  });

  test('the dedup keys an instance holds or waits for, with the other party', async () => {
    await deploy('ui-dedup.bpmn');
    const first = await start('ui-dedup', { target: 'prod' });
    await eventually('the first holds prod', async () => (await rest(`/api/v1/dedup?instance=${encodeURIComponent(first.id)}`)).length === 1);
    // The holder's page, open while a second deploy to prod starts: the
    // waiter appears without a reload.
    await openLive(first.id);
    const holding = page.locator('#instance-dedup tbody tr');
    await holding.waitFor();
    assert.equal(await holding.locator('.holder').textContent(), 'this instance');
    assert.equal(await holding.locator('.waiting').textContent(), '');
    const second = await start('ui-dedup', { target: 'prod' });
    await holding.locator('.waiting a').waitFor({ timeout: 10000 });
    assert.match(await holding.locator('.waiting a').textContent(), new RegExp(`^${second.id}/`));
    await eventually('the second waits', async () => (await rest(`/api/v1/instances/${encodeURIComponent(second.id)}`)).subscriptions.some((s) => s.kind === 'dedup'));
    await openLive(second.id);
    const row = page.locator('#instance-dedup tbody tr');
    await row.waitFor();
    assert.match(await row.locator('td').first().textContent(), /prod/);
    assert.equal(await row.locator('.waiting').textContent(), 'this instance');
    assert.match(await row.locator('.holder a').textContent(), new RegExp(`^${first.id}/`));
    assert.match(await page.locator('#subscriptions tr[data-kind="dedup"]').textContent(), /dedup key '.*prod' to be granted/);
    await shot('instance-waits-dedup');
    // The holder's link leads to the holder's page, which names the waiter.
    await row.locator('.holder a').click();
    await page.waitForURL(new RegExp(`/instances/${encodeURIComponent(first.id)}$`));
    const held = page.locator('#instance-dedup tbody tr');
    await held.waitFor();
    assert.equal(await held.locator('.holder').textContent(), 'this instance');
    assert.match(await held.locator('.waiting a').textContent(), new RegExp(`^${second.id}/`));
    // The schedules page lists the key with links to both.
    await page.goto(`${base}/schedules`);
    const listed = page.locator('#dedup tbody tr');
    await listed.first().waitFor();
    assert.match(await listed.locator('.holder a').first().getAttribute('href'), new RegExp(`/instances/${encodeURIComponent(first.id)}$`));
  });

  test('skip an incident with variables', async () => {
    const { id } = await start('ui-broken', { attempt: 'skip' });
    await eventually('the incident', async () => (await rest(`/api/v1/instances/${encodeURIComponent(id)}`)).status === 'incident');
    await openLive(id);
    const incident = page.locator('#incidents .incident').first();
    await incident.waitFor();
    await incident.locator('summary').click();
    const editor = incident.locator('textarea');
    await editor.fill('{"skipped": "from the UI"}');
    await incident.getByRole('button', { name: /^Skip incident/ }).click();
    await statusIs(/completed/);
    assert.equal(JSON.parse(await page.locator('#variables-json').textContent()).skipped, 'from the UI');
    await page.locator('.djs-element.wl-path[data-element-id="end"]').waitFor();
    assert.equal(await page.locator('#history-table tr[data-event="IncidentResolved"]').count(), 1);
  });

  test('starting an instance from a process page opens it', async () => {
    await page.goto(`${base}/processes/ui-approval`);
    await page.locator('#start-form').waitFor();
    await page.fill('#start-vars', '{"requester": "from-the-ui"}');
    await page.getByRole('button', { name: 'Start instance' }).click();
    await page.waitForURL(/\/instances\/[^/]+$/);
    await page.locator('.djs-element.wl-active[data-element-id="work"]').waitFor();
    assert.equal(JSON.parse(await page.locator('#variables-json').textContent()).requester, 'from-the-ui');
    assert.match(await page.locator('#status').textContent(), /running/);
    await page.locator('main[data-live="stream"]').waitFor();
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
    const made = await rest(`/api/v1/instances/${encodeURIComponent(id)}`);
    assert.equal(made.variables.requester, 'from-the-ui');
    assert.equal(made.definition.split(':')[0], 'ui-approval');
  });

  test('keyboard: a skip link first, real links in the navigation, visible focus', async () => {
    await page.goto(`${base}/instances`);
    await page.locator('#instances').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '/instances');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, 'solid');
    // Every form control has a label.
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')].filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.id || el.name),
    );
    assert.deepEqual(unlabelled, []);
    // The Processes link goes there through the router.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.locator('#processes').waitFor();
  });

  test('the schedules page shows next fire times; pause, resume and trigger now', async () => {
    await page.goto(`${base}/schedules`);
    const row = page.locator('#schedules tbody tr').first();
    await row.waitFor();
    assert.equal(await page.locator('#schedules tbody tr').count(), 1);
    const id = await row.getAttribute('data-schedule');
    assert.match(id, /ui-nightly/);
    const next = new Date(await row.locator('.next-fire time').getAttribute('datetime'));
    assert.equal(next.getUTCHours(), 3, 'the cron 0 3 * * * fires at 03:00 UTC');
    assert.ok(next.getTime() > Date.now());
    await page.getByRole('button', { name: `Pause ${id}` }).click();
    await page.locator('#schedules tr[data-paused="true"]').waitFor();
    assert.equal((await rest('/api/v1/schedules'))[0].paused, true);
    await shot('schedules');
    await page.getByRole('button', { name: `Resume ${id}` }).click();
    await page.locator('#schedules tr[data-paused="false"]').waitFor();
    assert.equal((await rest('/api/v1/schedules'))[0].paused, false);
    assert.equal((await rest('/api/v1/instances?processId=ui-nightly')).items.length, 0);
    await page.getByRole('button', { name: `Trigger ${id} now` }).click();
    await page.waitForFunction(() => /Done: trigger now/.test(document.querySelector('#schedule-status')?.textContent ?? ''));
    await eventually('an instance of ui-nightly', async () => (await rest('/api/v1/instances?processId=ui-nightly')).items.length === 1);
  });

  test('a refused token mid-session goes back to the login form with a message', async () => {
    await page.evaluate(() => sessionStorage.setItem('windlass.token', 'stale'));
    allowed = [/401/];
    await page.goto(`${base}/instances`);
    await page.locator('.login [role=alert]').waitFor();
    assert.match(await page.locator('.login [role=alert]').textContent(), /log in again/i);
    allowed = [];
  });

  test('no console errors and no page errors', () => {
    assert.deepEqual(problems, []);
  });
});
