// One instance: status, the diagram with its tokens, the path taken and its
// incidents, variables, a paged history, actions. Updated live by the
// server-sent events of `GET /api/v1/instances/{id}/events` (read with
// fetch, see ../sse.ts); when the stream cannot be opened or breaks, by
// polling every 2 s. `data-live` on the page says which (`stream`, `poll`,
// `ended` once the run finished), `data-stream-events` how many events came
// through the stream.
import {
  api,
  definitions,
  definitionXml,
  historyPage,
  instance,
  Unauthorized,
  type Definition,
  type HistoryEvent,
  type InstanceDetail,
} from '../api';
import { clear, h, link, processHref, statusBadge, time } from '../dom';
import { openStream } from '../sse';
import { handleBackgroundError, navigate, type PageContext } from '../main';
import { timeline } from './timeline';
import type { Diagram } from '../diagram';
import { jsonEditor } from './json';
import { waits } from './waits';

export const POLL_MS = 2000;
/** How often the Waits section is read again while the instance runs. */
export const WAITS_POLL_MS = 3000;
const HISTORY_PAGE = 50;
const FINISHED = new Set(['completed', 'cancelled', 'terminated', 'failed']);
export async function instancePage(ctx: PageContext): Promise<void> {
  const id = ctx.params[0];
  ctx.title(`Instance ${id}`);
  const root = ctx.root;
  let detail = await instance(id);
  const defs = await definitions(true);
  const def: Definition | undefined = defs.find((d) => d.key === detail.definition);

  // The path taken: every node (and flow) seen in the history so far.
  const pathNodes = new Set<string>();
  const pathFlows = new Set<string>();
  let lastSeq = 0;
  const allEvents: HistoryEvent[] = [];
  const takeEvents = (events: HistoryEvent[]) => {
    for (const e of events) {
      if (e.seq <= lastSeq) continue;
      allEvents.push(e);
      if (e.node) pathNodes.add(e.node);
      const flow = /took flow '([^']+)'/.exec(e.text);
      if (flow) pathFlows.add(flow[1]);
      lastSeq = Math.max(lastSeq, e.seq);
    }
  };
  const readHistorySince = async () => {
    for (let i = 0; i < 20; i++) {
      const page = await historyPage(id, lastSeq, 10000);
      takeEvents(page.events);
      if (!page.events.length || page.nextAfter === null || page.events.length < 10000) break;
    }
  };

  const liveNote = h('span', { class: 'help', id: 'live-status' }, ' · connecting…');
  const header = h('div', { id: 'instance-header' });
  const actions = h('div', { id: 'actions', class: 'card' });
  const canvas = h('div', { class: 'diagram', id: 'diagram', role: 'img', 'aria-label': 'Diagram of this instance: active tokens, the path taken and incidents are highlighted' });
  const legend = h(
    'p',
    { class: 'legend' },
    h('span', { class: 'swatch swatch-active' }),
    ' active token ',
    h('span', { class: 'swatch swatch-incident' }),
    ' incident ',
    h('span', { class: 'swatch swatch-path' }),
    ' path taken',
    liveNote,
  );
  const incidents = h('section', { id: 'incidents', 'aria-labelledby': 'incidents-h' });
  const tokens = h('section', { id: 'tokens', 'aria-labelledby': 'tokens-h' });
  const variables = h('section', { id: 'variables', 'aria-labelledby': 'variables-h' });
  const waitsSection = h('section', { id: 'waits', 'aria-labelledby': 'waits-h' });
  // Read again with every change of the instance, and every WAITS_POLL_MS
  // while it runs (the other party of a dedup key, a message buffered for
  // it, change without it); redrawn only when something changed, so focus
  // stays where it is.
  let waitsShown = '';
  const renderWaits = async () => {
    const { content, signature } = await waits(detail);
    if (ctx.signal.aborted || signature === waitsShown) return;
    waitsShown = signature;
    clear(waitsSection);
    waitsSection.append(...content);
  };
  const waitsTimer = setInterval(() => {
    if (FINISHED.has(detail.status)) return clearInterval(waitsTimer);
    void renderWaits().catch((e) => {
      if (!ctx.signal.aborted) handleBackgroundError(e);
    });
  }, WAITS_POLL_MS);
  ctx.signal.addEventListener('abort', () => clearInterval(waitsTimer));
  const historySection = h('section', { id: 'history', 'aria-labelledby': 'history-h' });
  const timelineSection = h('section', { id: 'timeline', 'aria-labelledby': 'timeline-h' });
  const renderTimeline = () => {
    clear(timelineSection);
    timelineSection.append(h('h2', { id: 'timeline-h' }, 'Timeline'), timeline(allEvents, !FINISHED.has(detail.status)));
  };
  root.append(h('p', { class: 'crumbs' }, link('/instances', 'Instances'), ' / '), header, canvas, legend, incidents, tokens, waitsSection, actions, variables, timelineSection, historySection);

  // --- header, tokens, incidents, variables, actions -------------------------
  const renderState = () => {
    clear(header);
    header.append(
      h('h1', null, 'Instance ', h('code', null, detail.id)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Status'),
        h('dd', { id: 'status' }, statusBadge(detail.status), detail.suspended ? h('span', { class: 'status status-suspended' }, 'suspended') : null, detail.cancelling ? ' (cancelling)' : null),
        h('dt', null, 'Process'),
        h('dd', null, def ? link(processHref(def.processId, def.version), `${def.processId} v${def.version}`) : detail.definition),
        h('dt', null, 'Run'),
        h('dd', null, h('code', null, detail.run)),
        detail.businessKey ? [h('dt', null, 'Business key'), h('dd', null, detail.businessKey)] : null,
        h('dt', null, 'Created'),
        h('dd', null, time(detail.createdAt)),
        h('dt', null, 'Updated'),
        h('dd', null, time(detail.updatedAt)),
        h('dt', null, 'Events'),
        h('dd', null, detail.events),
      ),
    );

    clear(incidents);
    incidents.append(h('h2', { id: 'incidents-h' }, `Incidents (${detail.incidents.length})`));
    if (!detail.incidents.length) incidents.append(h('p', { class: 'help' }, 'None open.'));
    for (const x of detail.incidents) {
      const skipVars = jsonEditor(`skip-vars-${x.incident}`, 'Variables for skipping (JSON object)', '{}');
      incidents.append(
        h(
          'div',
          { class: 'incident card', role: 'group', 'aria-label': `Incident ${x.incident}`, 'data-incident': x.incident },
          h('p', null, h('strong', null, `Incident ${x.incident}`), ` at ${x.nodeName ?? x.node} (`, h('code', null, x.node), `), token ${x.token}, attempt ${x.attempt}`),
          h('pre', { class: 'incident-message' }, x.message),
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', onclick: () => act(`retry incident ${x.incident}`, `incidents/${x.incident}/retry`, {}) }, `Retry incident ${x.incident}`),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                onclick: () => {
                  const v = skipVars.value();
                  if (v) void act(`skip incident ${x.incident}`, `incidents/${x.incident}/skip`, { variables: v });
                },
              },
              `Skip incident ${x.incident}`,
            ),
          ),
          h('details', null, h('summary', null, 'Variables for skip'), skipVars.el),
        ),
      );
    }

    clear(tokens);
    tokens.append(h('h2', { id: 'tokens-h' }, `Tokens (${detail.tokens.length})`));
    if (detail.tokens.length)
      tokens.append(
        h(
          'table',
          { class: 'grid', id: 'token-table' },
          h('thead', null, h('tr', null, ['Token', 'Node', 'Waits for'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, detail.tokens.map((t) => h('tr', { 'data-node': t.node }, h('td', { class: 'num' }, t.token), h('td', null, t.name ?? '', ' ', h('code', null, t.node)), h('td', null, t.waitingFor)))),
        ),
      );
    if (detail.openJobs.length)
      tokens.append(
        h('h3', null, 'Open jobs'),
        h('ul', null, detail.openJobs.map((j) => h('li', null, `${j.name ?? j.node}: attempt ${j.attempt}, open since `, time(j.createdAt), ' — key ', h('code', null, j.jobKey)))),
      );

    clear(variables);
    variables.append(
      h('h2', { id: 'variables-h' }, 'Variables'),
      h('pre', { class: 'json', id: 'variables-json', tabindex: '0', 'aria-label': 'Variables as JSON' }, JSON.stringify(detail.variables, null, 2)),
      h('p', { class: 'help' }, 'Values under names that look like secrets (password, token, secret, api key…) are masked by the server.'),
    );

    const actionKey = `${detail.status}/${detail.suspended ? 1 : 0}`;
    if (actionKey !== renderedActions) {
      // Re-rendered only when the choice changes: keeps focus and typing.
      renderedActions = actionKey;
      renderActions();
    }
  };
  let renderedActions = '';

  const actionStatus = h('p', { role: 'status', id: 'action-status', class: 'help' });
  const act = async (what: string, path: string, body: unknown) => {
    if (!confirm(`Really ${what} of instance ${id}?`)) return;
    actionStatus.textContent = `${what}…`;
    try {
      await api(`/api/v1/instances/${encodeURIComponent(id)}/${path}`, { method: 'POST', body: JSON.stringify(body) });
      actionStatus.textContent = `Done: ${what}.`;
      await refresh(true);
    } catch (e) {
      handleBackgroundError(e);
      actionStatus.textContent = `Refused: ${e instanceof Error ? e.message : String(e)}`;
    }
  };
  const resetTo = async (seq: number) => {
    if (!confirm(`Reset instance ${id} to history event ${seq}? A new run goes on from there; the live run is terminated.`)) return;
    try {
      const res = await api<{ run: string }>(`/api/v1/instances/${encodeURIComponent(id)}/reset`, { method: 'POST', body: JSON.stringify({ toEvent: seq, reason: 'reset from the web UI' }) });
      histStatus.textContent = `Reset: new run ${res.run}.`;
      navigate(location.pathname, true);
    } catch (e) {
      handleBackgroundError(e);
      histStatus.textContent = `Reset refused: ${e instanceof Error ? e.message : String(e)}`;
    }
  };
  const histStatus = h('p', { role: 'status', id: 'history-status', class: 'help' });
  const messageName = h('input', { id: 'message-name', name: 'message', required: true, autocomplete: 'off' });
  const messageKey = h('input', { id: 'message-key', name: 'correlationKey', autocomplete: 'off' });
  const messageVars = jsonEditor('message-vars', 'Message variables (JSON object)', '{}');
  const messageForm = h(
    'form',
    {
      id: 'message-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const v = messageVars.value();
        const name = messageName.value.trim();
        if (!v || !name) return;
        if (!confirm(`Publish message '${name}'?`)) return;
        try {
          const res = await api<{ outcome: string }>('/api/v1/messages', { method: 'POST', body: JSON.stringify({ name, correlationKey: messageKey.value.trim() || undefined, variables: v }) });
          actionStatus.textContent = `Message '${name}': ${res.outcome}.`;
          await refresh(true);
        } catch (err) {
          handleBackgroundError(err);
          actionStatus.textContent = `Refused: ${err instanceof Error ? err.message : String(err)}`;
        }
      },
    },
    h('h3', null, 'Publish a message'),
    h('div', { class: 'field' }, h('label', { for: 'message-name' }, 'Message name'), messageName),
    h('div', { class: 'field' }, h('label', { for: 'message-key' }, 'Correlation key'), messageKey),
    messageVars.el,
    h('button', { type: 'submit' }, 'Publish message'),
  );
  const signalName = h('input', { id: 'signal-name', name: 'signal', required: true, autocomplete: 'off' });
  const signalVars = jsonEditor('signal-vars', 'Signal variables (JSON object)', '{}');
  const reason = h('input', { id: 'reason', name: 'reason', autocomplete: 'off' });
  const renderActions = () => {
    clear(actions);
    const finished = FINISHED.has(detail.status);
    actions.append(h('h2', null, 'Actions'));
    if (finished) {
      actions.append(h('p', { class: 'help' }, `The run is ${detail.status}: nothing to do.`), actionStatus);
      return;
    }
    const withReason = () => (reason.value.trim() ? { reason: reason.value.trim() } : {});
    actions.append(
      h('div', { class: 'field' }, h('label', { for: 'reason' }, 'Reason (for cancel, terminate, suspend)'), reason),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'danger', onclick: () => act('cancel', 'cancel', withReason()) }, 'Cancel'),
        h('button', { type: 'button', class: 'danger', onclick: () => act('terminate', 'terminate', withReason()) }, 'Terminate'),
        detail.suspended
          ? h('button', { type: 'button', onclick: () => act('resume', 'resume', {}) }, 'Resume')
          : h('button', { type: 'button', class: 'secondary', onclick: () => act('suspend', 'suspend', withReason()) }, 'Suspend'),
      ),
      h(
        'form',
        {
          id: 'signal-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const v = signalVars.value();
            if (v && signalName.value.trim()) void act(`send signal '${signalName.value.trim()}'`, 'signal', { name: signalName.value.trim(), variables: v });
          },
        },
        h('h3', null, 'Signal'),
        h('div', { class: 'field' }, h('label', { for: 'signal-name' }, 'Signal name'), signalName),
        signalVars.el,
        h('button', { type: 'submit' }, 'Send signal'),
      ),
      messageForm,
      actionStatus,
    );
  };

  // --- history table (paged by seq) -------------------------------------------
  const histTable = h('div', { class: 'table-wrap' });
  const histSummary = h('p', { class: 'help', id: 'history-summary', 'aria-live': 'polite' });
  const histPrev = h('button', { type: 'button', class: 'secondary', id: 'history-prev' }, 'Earlier events');
  const histNext = h('button', { type: 'button', id: 'history-next' }, 'Later events');
  let histAfter = 0;
  let histCount = 0;
  const loadHistory = async () => {
    const page = await historyPage(id, histAfter, HISTORY_PAGE);
    if (ctx.signal.aborted) return;
    histCount = page.events.length;
    clear(histTable);
    histTable.append(
      h(
        'table',
        { class: 'grid', id: 'history-table' },
        h('thead', null, h('tr', null, ['Seq', 'Recorded', 'Event', 'Token', 'Node', 'What', 'Reset'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          page.events.map((e) =>
            h(
              'tr',
              { 'data-seq': e.seq, 'data-event': e.eventType },
              h('td', { class: 'num' }, e.seq),
              h('td', null, time(e.recordedAt)),
              h('td', null, e.eventType),
              h('td', { class: 'num' }, e.token ?? ''),
              h('td', null, e.node ? [e.nodeName ?? '', ' ', h('code', null, e.node)] : ''),
              h('td', null, e.text),
              h('td', null, h('button', { type: 'button', class: 'secondary small', 'aria-label': `Reset to event ${e.seq}`, onclick: () => resetTo(e.seq) }, 'Reset here')),
            ),
          ),
        ),
      ),
    );
    const first = page.events[0]?.seq;
    const last = page.events[page.events.length - 1]?.seq;
    histSummary.textContent = page.events.length ? `Events ${first}–${last} of ${detail.events}.` : 'No events here.';
    histPrev.disabled = histAfter === 0;
    histNext.disabled = !(last !== undefined && last < detail.events);
  };
  histNext.addEventListener('click', () => {
    histAfter += HISTORY_PAGE;
    void loadHistory().catch(handleBackgroundError);
  });
  histPrev.addEventListener('click', () => {
    histAfter = Math.max(0, histAfter - HISTORY_PAGE);
    void loadHistory().catch(handleBackgroundError);
  });
  historySection.append(h('h2', { id: 'history-h' }, 'History'), histSummary, histStatus, histTable, h('nav', { class: 'pager', 'aria-label': 'History pages' }, histPrev, histNext));

  // --- the diagram --------------------------------------------------------------
  let diagram: Diagram | null = null;
  const paint = () => {
    if (!diagram) return;
    const incidentTokens = new Set(detail.incidents.map((x) => x.token));
    diagram.mark({
      path: pathNodes,
      flows: pathFlows,
      active: detail.tokens.filter((t) => !incidentTokens.has(t.token)).map((t) => t.node),
      incident: detail.incidents.map((x) => x.node),
    });
  };

  // While the stream is open it delivers the history; polling reads it.
  let streaming = false;
  const refresh = async (force = false) => {
    const fresh = await instance(id);
    if (ctx.signal.aborted) return;
    const changed = force || fresh.events !== detail.events || fresh.status !== detail.status || fresh.updatedAt !== detail.updatedAt || JSON.stringify(fresh.suspended) !== JSON.stringify(detail.suspended);
    detail = fresh;
    if (!changed) return;
    if (!streaming) await readHistorySince();
    renderState();
    renderTimeline();
    paint();
    await renderWaits();
    if (histCount < HISTORY_PAGE) await loadHistory();
  };

  renderState();
  await renderWaits();
  await Promise.all([readHistorySince(), loadHistory()]);
  renderTimeline();
  if (def) {
    const [{ Diagram: D }, xml] = await Promise.all([import('../diagram'), definitionXml(def.processId, def.version)]);
    if (ctx.signal.aborted) return;
    try {
      diagram = await D.show(canvas, xml);
      ctx.signal.addEventListener('abort', () => diagram?.destroy());
    } catch (e) {
      canvas.append(h('p', { class: 'error' }, `The diagram could not be shown: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  paint();

  // --- live updates -------------------------------------------------------------
  const setLive = (mode: 'stream' | 'poll' | 'ended', text: string) => {
    root.dataset.live = mode;
    liveNote.textContent = ` · ${text}`;
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const startPolling = () => {
    if (timer !== undefined || ctx.signal.aborted) return;
    timer = setInterval(() => {
      void refresh().catch((e) => {
        clearInterval(timer);
        handleBackgroundError(e);
      });
    }, POLL_MS);
  };
  ctx.signal.addEventListener('abort', () => clearInterval(timer));

  // Events come in bursts: the state (tokens, variables) is read again at
  // most once per burst, and never twice at the same time.
  let pending = false;
  let refreshing = false;
  const scheduleRefresh = () => {
    pending = true;
    if (refreshing) return;
    refreshing = true;
    void (async () => {
      try {
        while (pending && !ctx.signal.aborted) {
          pending = false;
          await new Promise((r) => setTimeout(r, 50));
          await refresh(true);
        }
      } catch (e) {
        handleBackgroundError(e);
      } finally {
        refreshing = false;
      }
    })();
  };

  // Runs beside the page (the page function returns once it has painted).
  const live = async () => {
    let streamed = 0;
    let ended = false;
    const run = detail.run;
    try {
      const path = `/api/v1/instances/${encodeURIComponent(id)}/events?run=${encodeURIComponent(run)}&after=${lastSeq}`;
      const { done } = await openStream(
        path,
        (m) => {
          if (m.event === 'message') {
            takeEvents([JSON.parse(m.data) as HistoryEvent]);
            streamed += 1;
            root.dataset.streamEvents = String(streamed);
            scheduleRefresh();
          } else if (m.event === 'end') {
            ended = true;
          }
        },
        ctx.signal,
      );
      streaming = true;
      setLive('stream', 'live (server-sent events)');
      await done;
    } catch (e) {
      if (e instanceof Unauthorized) {
        handleBackgroundError(e);
        return;
      }
      if (ctx.signal.aborted) return;
      console.warn('the event stream failed; polling instead', e);
    }
    streaming = false;
    if (ctx.signal.aborted) return;
    if (ended) {
      setLive('ended', `the run has finished; checked every ${POLL_MS / 1000} s for a new run`);
      await refresh(true).catch(handleBackgroundError);
    } else {
      setLive('poll', `updated every ${POLL_MS / 1000} s`);
    }
    // A finished run can still be reset from elsewhere: keep looking.
    startPolling();
  };
  void live();
}

export type { InstanceDetail };
