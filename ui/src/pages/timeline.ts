// The history as a timeline: activities, jobs and timers as bars over time
// (from the start of the instance to its last event, or now while it runs).
import type { HistoryEvent } from '../api';
import { h } from '../dom';

export interface Bar {
  kind: 'activity' | 'job' | 'timer';
  label: string;
  node: string | null;
  start: number;
  end: number | null; // null: still open
  outcome: string;
}

const OPEN: Record<string, Bar['kind']> = { ActivityStarted: 'activity', JobCreated: 'job', TimerScheduled: 'timer' };
const CLOSE: Record<string, Bar['kind']> = {
  ActivityCompleted: 'activity',
  ActivityTerminated: 'activity',
  JobCompleted: 'job',
  JobFailed: 'job',
  TimerFired: 'timer',
  TimerCancelled: 'timer',
  TimerSkipped: 'timer',
};
export const MAX_BARS = 300;

/** Pairs opening and closing events by kind and token (the latest open one). */
export function bars(events: HistoryEvent[]): Bar[] {
  const out: Bar[] = [];
  const open = new Map<string, Bar[]>();
  for (const e of events) {
    const t = Date.parse(e.recordedAt);
    const opening = OPEN[e.eventType];
    if (opening) {
      const bar: Bar = { kind: opening, label: e.nodeName ?? e.node ?? opening, node: e.node, start: t, end: null, outcome: 'open' };
      out.push(bar);
      const key = `${opening}/${e.token}`;
      open.set(key, [...(open.get(key) ?? []), bar]);
      continue;
    }
    const closing = CLOSE[e.eventType];
    if (closing) {
      const list = open.get(`${closing}/${e.token}`);
      const bar = list?.pop();
      if (bar) {
        bar.end = t;
        bar.outcome = e.eventType.replace(/^(Activity|Job|Timer)/, '').toLowerCase();
      }
    }
  }
  return out;
}

export function timeline(events: HistoryEvent[], running: boolean): HTMLElement {
  const all = bars(events);
  const shown = all.slice(0, MAX_BARS);
  if (!shown.length) return h('p', { class: 'help' }, 'No activity, job or timer yet.');
  const t0 = Math.min(...shown.map((b) => b.start));
  const last = Math.max(...events.map((e) => Date.parse(e.recordedAt)));
  const t1 = Math.max(running ? Date.now() : last, t0 + 1);
  const W = 1000;
  const LABEL = 220;
  const ROW = 18;
  const x = (t: number) => LABEL + ((t - t0) / (t1 - t0)) * (W - LABEL - 10);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${shown.length * ROW + 24}`);
  svg.setAttribute('class', 'timeline');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Timeline of ${shown.length} activities, jobs and timers over ${((t1 - t0) / 1000).toFixed(1)} s`);
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  shown.forEach((b, i) => {
    const y = i * ROW + 4;
    el('text', { x: 4, y: y + 12, class: 'tl-label' }, `${b.kind}: ${b.label}`.slice(0, 34));
    const x0 = x(b.start);
    const x1 = Math.max(x(b.end ?? t1), x0 + 3);
    const rect = el('rect', { x: x0, y, width: x1 - x0, height: ROW - 6, rx: 3, class: `tl-bar tl-${b.kind} tl-${b.outcome}`, 'data-kind': b.kind, 'data-node': b.node ?? '' });
    const dur = ((b.end ?? t1) - b.start) / 1000;
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${b.kind} ${b.label}: ${b.outcome}, ${dur.toFixed(3)} s`;
    rect.appendChild(title);
  });
  el('text', { x: LABEL, y: shown.length * ROW + 20, class: 'tl-axis' }, new Date(t0).toLocaleTimeString(undefined, { hour12: false }));
  el('text', { x: W - 10, y: shown.length * ROW + 20, class: 'tl-axis', 'text-anchor': 'end' }, running ? 'now' : new Date(t1).toLocaleTimeString(undefined, { hour12: false }));
  return h(
    'div',
    { class: 'timeline-wrap' },
    svg,
    all.length > MAX_BARS ? h('p', { class: 'help' }, `The first ${MAX_BARS} of ${all.length} bars.`) : null,
    h('p', { class: 'legend' }, h('span', { class: 'swatch tl-activity' }), ' activity ', h('span', { class: 'swatch tl-job' }), ' job ', h('span', { class: 'swatch tl-timer' }), ' timer ', h('span', { class: 'swatch tl-failed' }), ' failed ', h('span', { class: 'swatch tl-open' }), ' still open'),
  );
}
