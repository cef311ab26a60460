// What an instance waits on beyond its tokens: its subscriptions (timers,
// messages, signals, dedup keys), the dedup keys it holds or waits for
// (with the other party), and messages buffered under a name it waits for
// (a message published with another correlation key is the usual reason a
// wait never ends). Also the dedup key table of the schedules page.
import { api, qs, type BufferedMessage, type DedupKey, type InstanceDetail } from '../api';
import { h, instanceHref, link, time } from '../dom';

/** `id/run` as the API names a dedup holder: a link to the instance. */
export function runLink(name: string | null, self?: string): HTMLElement | string {
  if (!name) return '';
  const cut = name.lastIndexOf('/');
  const id = cut > 0 ? name.slice(0, cut) : name;
  if (id === self) return h('strong', null, 'this instance');
  return link(instanceHref(id), h('code', null, name));
}

/** The dedup key table (`id` for the table element). */
export function dedupTable(keys: DedupKey[], tableId: string, self?: string): HTMLElement {
  return h(
    'table',
    { class: 'grid', id: tableId },
    h('thead', null, h('tr', null, ['Key', 'Held by', 'Waiting', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      null,
      keys.map((d) =>
        h('tr', { 'data-key': d.key }, h('td', null, h('code', null, d.key)), h('td', { class: 'holder' }, runLink(d.holder, self)), h('td', { class: 'waiting' }, runLink(d.waiting, self)), h('td', null, time(d.updatedAt))),
      ),
    ),
  );
}

/** What the "Waits" section shows for `detail`, and a signature of the
 * data it was made from (equal signatures: nothing to redraw). */
export async function waits(detail: InstanceDetail): Promise<{ content: HTMLElement[]; signature: string }> {
  const names = [...new Set(detail.subscriptions.filter((s) => s.kind === 'message' && s.name).map((s) => s.name as string))];
  const [dedup, buffered] = await Promise.all([
    api<DedupKey[]>(`/api/v1/dedup${qs({ instance: detail.id })}`),
    Promise.all(names.map((name) => api<BufferedMessage[]>(`/api/v1/messages${qs({ name })}`))).then((lists) => lists.flat()),
  ]);
  const signature = JSON.stringify([detail.subscriptions, detail.bufferedSignals, dedup, buffered]);
  const out: HTMLElement[] = [h('h2', { id: 'waits-h' }, 'Waits')];
  if (detail.subscriptions.length)
    out.push(
      h(
        'table',
        { class: 'grid', id: 'subscriptions' },
        h('thead', null, h('tr', null, ['Kind', 'Node', 'Waits for', 'Due'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          detail.subscriptions.map((s) =>
            h('tr', { 'data-kind': s.kind }, h('td', null, s.kind), h('td', null, s.nodeName ?? '', ' ', h('code', null, s.node)), h('td', null, s.waitsFor), h('td', null, s.dueAt ? time(s.dueAt) : '')),
          ),
        ),
      ),
    );
  else out.push(h('p', { class: 'help' }, 'No timer, message, signal or dedup wait is open.'));
  if (detail.bufferedSignals.length)
    out.push(h('h3', null, 'Signals kept for it'), h('pre', { class: 'json', id: 'kept-signals' }, JSON.stringify(detail.bufferedSignals, null, 2)));
  out.push(h('h3', null, 'Dedup keys it holds or waits for'));
  out.push(dedup.length ? dedupTable(dedup, 'instance-dedup', detail.id) : h('p', { class: 'help', id: 'no-dedup' }, 'None.'));
  if (names.length) {
    out.push(h('h3', null, `Buffered messages named ${names.map((n) => `'${n}'`).join(', ')}`));
    out.push(
      buffered.length
        ? h(
            'div',
            null,
            h('p', { class: 'help' }, 'Published while nothing waited with their key: compare their keys with the ones this instance waits with.'),
            h(
              'table',
              { class: 'grid', id: 'buffered-messages' },
              h('thead', null, h('tr', null, ['Name', 'Correlation key', 'Published', 'Expires', 'Id'].map((t) => h('th', { scope: 'col' }, t)))),
              h(
                'tbody',
                null,
                buffered.map((m) =>
                  h('tr', { 'data-message': m.id }, h('td', null, m.name), h('td', { class: 'key' }, h('code', null, m.correlationKey)), h('td', null, time(m.publishedAt)), h('td', null, m.expiresAt ? time(m.expiresAt) : 'never'), h('td', null, h('code', null, m.id))),
                ),
              ),
            ),
          )
        : h('p', { class: 'help', id: 'no-buffered' }, 'None buffered.'),
    );
  }
  return { content: out, signature };
}
