// Processes: the list with versions, and one process's diagram with
// per-node counts of active tokens, incidents and completions.
import { api, definitionXml, definitions, qs, statistics, type Definition } from '../api';
import { h, link, processHref, time, instanceHref } from '../dom';
import type { PageContext } from '../main';
import { navigate } from '../main';
import type { NodeCounts } from '../diagram';
import { jsonEditor } from './json';

export async function processesPage(ctx: PageContext): Promise<void> {
  ctx.title('Processes');
  const defs = await definitions(true);
  const byId = new Map<string, Definition[]>();
  for (const d of defs) {
    const list = byId.get(d.processId) ?? [];
    list.push(d);
    byId.set(d.processId, list);
  }
  const ids = [...byId.keys()].sort();
  ctx.root.append(h('h1', null, 'Processes'));
  if (!ids.length) {
    ctx.root.append(h('p', null, 'No process is deployed. Deploy with POST /api/v1/definitions or windlass server --processes DIR.'));
    return;
  }
  ctx.root.append(
    h(
      'table',
      { class: 'grid', id: 'processes' },
      h('caption', { class: 'sr-only' }, 'Deployed processes'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Process'), h('th', { scope: 'col' }, 'Latest'), h('th', { scope: 'col' }, 'Versions'), h('th', { scope: 'col' }, 'Deployed'), h('th', { scope: 'col' }, 'Instances'))),
      h(
        'tbody',
        null,
        ids.map((id) => {
          const versions = (byId.get(id) ?? []).sort((a, b) => a.version - b.version);
          const latest = versions.find((v) => v.latest) ?? versions[versions.length - 1];
          return h(
            'tr',
            { 'data-process': id },
            h('th', { scope: 'row' }, link(processHref(id), id)),
            h('td', { class: 'num' }, `v${latest.version}`),
            h('td', null, versions.map((v, i) => [i ? ', ' : '', link(processHref(id, v.version), `v${v.version}`)])),
            h('td', null, time(latest.deployedAt)),
            h('td', null, link(`/instances${qs({ processId: id })}`, 'instances')),
          );
        }),
      ),
    ),
  );
}

interface ProcessDefinitions {
  processId: string;
  latest: Definition;
  versions: Definition[];
}

export async function processPage(ctx: PageContext): Promise<void> {
  const id = ctx.params[0];
  ctx.title(id);
  const info = await api<ProcessDefinitions>(`/api/v1/definitions/${encodeURIComponent(id)}`);
  const asked = Number(ctx.query.get('version'));
  const def = info.versions.find((v) => v.version === asked) ?? info.latest;
  const root = ctx.root;
  root.append(
    h('p', { class: 'crumbs' }, link('/processes', 'Processes'), ' / '),
    h('h1', null, id, ' ', h('span', { class: 'muted' }, `version ${def.version}`)),
    h(
      'p',
      null,
      'Versions: ',
      info.versions
        .sort((a, b) => a.version - b.version)
        .map((v, i) => [i ? ', ' : '', v.version === def.version ? h('strong', { 'aria-current': 'true' }, `v${v.version}`) : link(processHref(id, v.version), `v${v.version}`)]),
      ' · ',
      link(`/instances${qs({ processId: id })}`, 'its instances'),
    ),
  );
  const canvas = h('div', { class: 'diagram', role: 'img', 'aria-label': `Diagram of ${id} version ${def.version}`, id: 'diagram' });
  const note = h('p', { class: 'help', id: 'counts-note', 'aria-live': 'polite' }, 'Loading the diagram…');
  const legend = h(
    'p',
    { class: 'legend' },
    h('span', { class: 'badge badge-active' }, 'n'),
    ' active tokens ',
    h('span', { class: 'badge badge-incident' }, 'n'),
    ' incidents ',
    h('span', { class: 'badge badge-completed' }, 'n'),
    ' completed (tokens that left the node)',
  );
  const tableSlot = h('div');
  root.append(canvas, legend, note, tableSlot, startForm(id));

  const [{ Diagram }, xml] = await Promise.all([import('../diagram'), definitionXml(id, def.version)]);
  if (ctx.signal.aborted) return;
  const diagram = await Diagram.show(canvas, xml);
  ctx.signal.addEventListener('abort', () => diagram.destroy());
  if (diagram.generatedLayout) root.insertBefore(h('p', { class: 'help' }, 'This definition has no diagram layout: the one shown was generated.'), canvas);
  note.textContent = 'Counting instances…';

  const stats = await statistics(id, def.version);
  if (ctx.signal.aborted) return;
  const counts = new Map<string, NodeCounts>();
  for (const n of stats.nodes) counts.set(n.node, { active: n.active, incident: n.incidents, completed: n.completed });
  diagram.counts(counts);
  const statuses = Object.entries(stats.byStatus)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  note.textContent =
    `Counts over all ${stats.instances} instance(s) of version ${def.version}${statuses ? ` (${statuses})` : ''}.` +
    (stats.replayed ? ` ${stats.replayed} of them predate stored counts and were replayed from their history.` : '');

  const rows = diagram
    .nodes()
    .map((n) => ({ ...n, c: counts.get(n.id) ?? {} }))
    .sort((a, b) => a.id.localeCompare(b.id));
  tableSlot.append(
    h(
      'details',
      null,
      h('summary', null, 'Counts per node (table)'),
      h(
        'table',
        { class: 'grid', id: 'node-counts' },
        h('thead', null, h('tr', null, ['Node', 'Name', 'Type', 'Active', 'Incidents', 'Completed'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          rows.map((r) =>
            h('tr', { 'data-node': r.id }, h('td', null, h('code', null, r.id)), h('td', null, r.name), h('td', null, r.type), h('td', { class: 'num' }, r.c.active ?? 0), h('td', { class: 'num' }, r.c.incident ?? 0), h('td', { class: 'num' }, r.c.completed ?? 0)),
          ),
        ),
      ),
    ),
  );
}

function startForm(processId: string): HTMLElement {
  const editor = jsonEditor('start-vars', 'Variables (a JSON object)', '{}');
  const status = h('p', { role: 'status', class: 'help' });
  return h(
    'form',
    {
      class: 'card',
      id: 'start-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const vars = editor.value();
        if (vars === undefined) return;
        status.textContent = 'Starting…';
        try {
          const res = await api<{ id: string }>('/api/v1/instances', { method: 'POST', body: JSON.stringify({ processId, variables: vars }) });
          navigate(instanceHref(res.id));
        } catch (err) {
          status.textContent = `Not started: ${err instanceof Error ? err.message : String(err)}`;
        }
      },
    },
    h('h2', null, 'Start an instance'),
    editor.el,
    h('button', { type: 'submit' }, 'Start instance'),
    status,
  );
}
