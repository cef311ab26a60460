// Schedules (next fire times; pause / resume / trigger now) and dedup keys.
import { api, type DedupKey } from '../api';
import { clear, h, link, processHref, time } from '../dom';
import { handleBackgroundError, type PageContext } from '../main';
import { dedupTable } from './waits';

export interface Schedule {
  id: string;
  processId: string;
  startEvent: string | null;
  message: string | null;
  timing: string;
  overlap: unknown;
  paused: boolean;
  nextFireAt: string | null;
  lastFireAt: string | null;
  buffered: number;
  skipped: number;
}


export async function schedulesPage(ctx: PageContext): Promise<void> {
  ctx.title('Schedules');
  const status = h('p', { role: 'status', id: 'schedule-status', class: 'help' });
  const schedulesSlot = h('div', { class: 'table-wrap' });
  const dedupSlot = h('div', { class: 'table-wrap' });
  ctx.root.append(h('h1', null, 'Schedules'), status, schedulesSlot, h('h2', null, 'Dedup keys'), dedupSlot);

  const act = async (s: Schedule, what: 'pause' | 'resume' | 'trigger') => {
    const label = what === 'trigger' ? 'trigger now' : what;
    if (!confirm(`Really ${label} schedule ${s.id}?`)) return;
    try {
      await api(`/api/v1/schedules/${encodeURIComponent(s.id)}/${what}`, { method: 'POST', body: '{}' });
      status.textContent = `Done: ${label} ${s.id}.`;
      await load();
    } catch (e) {
      handleBackgroundError(e);
      status.textContent = `Refused: ${e instanceof Error ? e.message : String(e)}`;
    }
  };

  const load = async () => {
    const [schedules, dedup] = await Promise.all([api<Schedule[]>('/api/v1/schedules'), api<DedupKey[]>('/api/v1/dedup')]);
    if (ctx.signal.aborted) return;
    clear(schedulesSlot);
    schedulesSlot.append(
      schedules.length
        ? h(
            'table',
            { class: 'grid', id: 'schedules' },
            h('thead', null, h('tr', null, ['Schedule', 'Process', 'Timing', 'Next fire', 'Last fire', 'State', 'Buffered', 'Skipped', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              null,
              schedules.map((s) =>
                h(
                  'tr',
                  { 'data-schedule': s.id, 'data-paused': String(s.paused) },
                  h('td', null, h('code', null, s.id)),
                  h('td', null, link(processHref(s.processId), s.processId)),
                  h('td', null, s.timing, s.message ? ` → message ${s.message}` : ''),
                  h('td', { class: 'next-fire' }, s.paused ? 'paused' : time(s.nextFireAt)),
                  h('td', null, time(s.lastFireAt)),
                  h('td', null, s.paused ? h('span', { class: 'status status-suspended' }, 'paused') : h('span', { class: 'status status-running' }, 'active')),
                  h('td', { class: 'num' }, s.buffered),
                  h('td', { class: 'num' }, s.skipped),
                  h(
                    'td',
                    null,
                    h(
                      'div',
                      { class: 'actions' },
                      s.paused
                        ? h('button', { type: 'button', 'aria-label': `Resume ${s.id}`, onclick: () => act(s, 'resume') }, 'Resume')
                        : h('button', { type: 'button', class: 'secondary', 'aria-label': `Pause ${s.id}`, onclick: () => act(s, 'pause') }, 'Pause'),
                      h('button', { type: 'button', 'aria-label': `Trigger ${s.id} now`, onclick: () => act(s, 'trigger') }, 'Trigger now'),
                    ),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'help' }, 'No schedule: none of the deployed processes has a timer start event or a windlass:cron.'),
    );
    clear(dedupSlot);
    dedupSlot.append(
      dedup.length
        ? dedupTable(dedup, 'dedup')
        : h('p', { class: 'help' }, 'No dedup key is held.'),
    );
  };
  await load();
}
