// Instances: a table with filters (the API's query parameters) and keyset
// paging (`next` → `after`; a stack of cursors for "Previous page").
import { api, definitions, qs, type InstanceSummary, type Page } from '../api';
import { clear, h, instanceHref, link, processHref, statusBadge, time } from '../dom';
import { handleBackgroundError, type PageContext } from '../main';

export const STATUSES = ['running', 'incident', 'completed', 'cancelled', 'terminated', 'failed'];

/** `datetime-local` value (local time) → RFC 3339 in UTC; and back. */
function toRfc3339(local: string): string {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function instancesPage(ctx: PageContext): Promise<void> {
  ctx.title('Instances');
  const q = ctx.query;
  const defs = await definitions(true);
  const byKey = new Map(defs.map((d) => [d.key, d]));
  const processIds = [...new Set(defs.map((d) => d.processId))].sort();

  const field = (id: string, label: string, control: HTMLElement) => h('div', { class: 'field' }, h('label', { for: id }, label), control);
  const status = h(
    'select',
    { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, selected: q.get('status') === s }, s)),
  );
  const processId = h(
    'select',
    { id: 'f-process', name: 'processId' },
    h('option', { value: '' }, 'any'),
    processIds.map((p) => h('option', { value: p, selected: q.get('processId') === p }, p)),
  );
  const idPrefix = h('input', { id: 'f-id', name: 'idPrefix', type: 'search', value: q.get('idPrefix') ?? '', autocomplete: 'off' });
  const from = h('input', { id: 'f-from', name: 'createdFrom', type: 'datetime-local', value: toLocalInput(q.get('createdFrom')) });
  const until = h('input', { id: 'f-until', name: 'createdUntil', type: 'datetime-local', value: toLocalInput(q.get('createdUntil')) });
  const limit = h(
    'select',
    { id: 'f-limit', name: 'limit' },
    ['25', '50', '100', '500'].map((n) => h('option', { value: n, selected: (q.get('limit') ?? '50') === n }, n)),
  );
  const form = h(
    'form',
    { class: 'filters card', id: 'filters', role: 'search', 'aria-label': 'Filter instances' },
    field('f-status', 'Status', status),
    field('f-process', 'Process', processId),
    field('f-id', 'Instance id starts with', idPrefix),
    field('f-from', 'Created from', from),
    field('f-until', 'Created until', until),
    field('f-limit', 'Page size', limit),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters'), h('button', { type: 'reset', class: 'secondary' }, 'Clear')),
  );

  const filters = (): Record<string, string> => ({
    status: status.value,
    processId: processId.value,
    idPrefix: idPrefix.value.trim(),
    createdFrom: toRfc3339(from.value),
    createdUntil: toRfc3339(until.value),
    limit: limit.value === '50' ? '' : limit.value,
  });

  const summary = h('p', { id: 'page-summary', 'aria-live': 'polite', class: 'help' });
  const table = h('div', { class: 'table-wrap' });
  const prev = h('button', { type: 'button', id: 'prev-page', class: 'secondary' }, 'Previous page');
  const next = h('button', { type: 'button', id: 'next-page' }, 'Next page');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next);

  // Cursors of the pages before the current one ('' = the first page).
  const stack: string[] = [];
  let after = '';
  let nextCursor: string | null = null;

  const load = async () => {
    const f = filters();
    const limitN = Number(f.limit || '50');
    summary.textContent = 'Loading…';
    const page = await api<Page<InstanceSummary>>(`/api/v1/instances${qs({ ...f, limit: limitN, after })}`);
    if (ctx.signal.aborted) return;
    nextCursor = page.next;
    clear(table);
    table.append(
      h(
        'table',
        { class: 'grid', id: 'instances' },
        h('caption', { class: 'sr-only' }, 'Instances'),
        h(
          'thead',
          null,
          h('tr', null, ['Instance', 'Process', 'Status', 'Business key', 'Created', 'Updated', 'Events'].map((t) => h('th', { scope: 'col' }, t))),
        ),
        h(
          'tbody',
          null,
          page.items.map((i) => {
            const d = byKey.get(i.definition);
            return h(
              'tr',
              { 'data-instance': i.id, 'data-status': i.status },
              h('td', null, link(instanceHref(i.id), h('code', null, i.id))),
              h('td', null, d ? link(processHref(d.processId, d.version), `${d.processId} v${d.version}`) : i.definition),
              h('td', null, statusBadge(i.status)),
              h('td', null, i.businessKey ?? ''),
              h('td', null, time(i.createdAt)),
              h('td', null, time(i.updatedAt)),
              h('td', { class: 'num' }, i.events),
            );
          }),
        ),
      ),
    );
    const pageNo = stack.length + 1;
    summary.textContent = page.items.length
      ? `Page ${pageNo}: ${page.items.length} instance(s)${page.next ? '; more on the next page' : ''}.`
      : pageNo === 1
        ? 'No instance matches.'
        : `Page ${pageNo}: no more instances.`;
    prev.disabled = stack.length === 0;
    next.disabled = !page.next;
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    stack.length = 0;
    after = '';
    const f = filters();
    history.replaceState(null, '', `/instances${qs(f)}`);
    void load().catch(report);
  });
  form.addEventListener('reset', () => {
    queueMicrotask(() => {
      for (const el of [status, processId]) el.value = '';
      limit.value = '50';
      form.requestSubmit();
    });
  });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    stack.push(after);
    after = nextCursor;
    void load().catch(report);
  });
  prev.addEventListener('click', () => {
    if (!stack.length) return;
    after = stack.pop() ?? '';
    void load().catch(report);
  });
  const report = (e: unknown) => {
    handleBackgroundError(e);
    summary.textContent = `Could not load: ${e instanceof Error ? e.message : String(e)}`;
  };

  ctx.root.append(h('h1', null, 'Instances'), form, summary, table, pager);
  await load();
}
