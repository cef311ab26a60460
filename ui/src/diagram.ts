// The BPMN diagram (bpmn-js NavigatedViewer, loaded on first use), with
// markers for tokens, the path taken and incidents, and count badges.
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { layoutProcess } from 'bpmn-auto-layout';
import { h } from './dom';

export interface NodeCounts {
  active?: number;
  incident?: number;
  completed?: number;
}

export interface Markers {
  active?: Iterable<string>;
  incident?: Iterable<string>;
  path?: Iterable<string>;
  flows?: Iterable<string>;
}

const MARKERS = ['wl-active', 'wl-incident', 'wl-path', 'wl-flow'];

interface Canvas {
  zoom(level: string): void;
  addMarker(id: string, cls: string): void;
  removeMarker(id: string, cls: string): void;
}
interface Overlays {
  add(id: string, type: string, overlay: { position: Record<string, number>; html: HTMLElement }): string;
  remove(filter: { type: string }): void;
}
interface Registry {
  get(id: string): unknown;
  getAll(): { id: string; type: string; businessObject?: { name?: string } }[];
}

const BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';

/**
 * Adds the `incoming` / `outgoing` references that the layouter follows to
 * every flow node (BPMN files written by hand usually leave them out: the
 * sequence flows' sourceRef / targetRef say the same).
 */
export function withFlowRefs(xml: string): string {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return xml;
  const byId = new Map<string, Element>();
  for (const el of Array.from(doc.getElementsByTagNameNS(BPMN, '*'))) {
    const id = el.getAttribute('id');
    if (id) byId.set(id, el);
  }
  const has = (node: Element, tag: string, flow: string) =>
    Array.from(node.children).some((c) => c.namespaceURI === BPMN && c.localName === tag && c.textContent?.trim() === flow);
  const add = (node: Element | undefined, tag: string, flow: string) => {
    if (!node || has(node, tag, flow)) return;
    const ref = doc.createElementNS(BPMN, node.prefix ? `${node.prefix}:${tag}` : tag);
    ref.textContent = flow;
    // After documentation / extensionElements, before the rest (the schema's order).
    let before: Element | null = node.firstElementChild;
    while (before && before.namespaceURI === BPMN && ['documentation', 'extensionElements', 'incoming'].includes(before.localName) && !(tag === 'incoming' && before.localName === 'incoming')) {
      before = before.nextElementSibling;
    }
    node.insertBefore(ref, before);
  };
  for (const flow of Array.from(doc.getElementsByTagNameNS(BPMN, 'sequenceFlow'))) {
    const id = flow.getAttribute('id');
    if (!id) continue;
    add(byId.get(flow.getAttribute('sourceRef') ?? ''), 'outgoing', id);
    add(byId.get(flow.getAttribute('targetRef') ?? ''), 'incoming', id);
  }
  return new XMLSerializer().serializeToString(doc);
}

export class Diagram {
  /** Whether the layout was generated (the definition had no diagram). */
  readonly generatedLayout: boolean;
  private marked = new Map<string, Set<string>>();

  private constructor(
    private readonly viewer: NavigatedViewer,
    generatedLayout: boolean,
  ) {
    this.generatedLayout = generatedLayout;
  }

  static async show(container: HTMLElement, xml: string): Promise<Diagram> {
    let source = xml;
    let generated = false;
    if (!/<([\w-]+:)?BPMNDiagram[\s>]/.test(xml)) {
      source = await layoutProcess(withFlowRefs(xml));
      generated = true;
    }
    const viewer = new NavigatedViewer({ container });
    await viewer.importXML(source);
    const diagram = new Diagram(viewer, generated);
    diagram.canvas().zoom('fit-viewport');
    return diagram;
  }

  private canvas(): Canvas {
    return this.viewer.get('canvas') as Canvas;
  }
  private overlays(): Overlays {
    return this.viewer.get('overlays') as Overlays;
  }
  private registry(): Registry {
    return this.viewer.get('elementRegistry') as Registry;
  }

  has(id: string): boolean {
    return !!this.registry().get(id);
  }

  /** The flow nodes (shapes that are not labels or the root), for tables. */
  nodes(): { id: string; name: string; type: string }[] {
    return this.registry()
      .getAll()
      .filter((e) => !e.type.startsWith('label') && !/Process|Collaboration|SequenceFlow|Participant|Lane/.test(e.type) && e.type.startsWith('bpmn:'))
      .map((e) => ({ id: e.id, name: e.businessObject?.name ?? '', type: e.type.replace('bpmn:', '') }));
  }

  /** Replaces the markers (CSS classes on the shapes). */
  mark(markers: Markers): void {
    const canvas = this.canvas();
    for (const [id, classes] of this.marked) for (const cls of classes) canvas.removeMarker(id, cls);
    this.marked.clear();
    const add = (ids: Iterable<string> | undefined, cls: string) => {
      for (const id of ids ?? []) {
        if (!this.has(id)) continue;
        canvas.addMarker(id, cls);
        let set = this.marked.get(id);
        if (!set) this.marked.set(id, (set = new Set()));
        set.add(cls);
      }
    };
    add(markers.path, MARKERS[2]);
    add(markers.flows, MARKERS[3]);
    add(markers.active, MARKERS[0]);
    add(markers.incident, MARKERS[1]);
  }

  /** Replaces the count badges on the nodes. */
  counts(counts: Map<string, NodeCounts>): void {
    const overlays = this.overlays();
    overlays.remove({ type: 'wl-counts' });
    for (const [id, c] of counts) {
      if (!this.has(id)) continue;
      const badges: HTMLElement[] = [];
      const badge = (n: number | undefined, kind: string, label: string) => {
        if (n) badges.push(h('span', { class: `badge badge-${kind}`, title: `${n} ${label}`, 'data-kind': kind }, String(n)));
      };
      badge(c.active, 'active', 'active');
      badge(c.incident, 'incident', 'in incident');
      badge(c.completed, 'completed', 'completed');
      if (!badges.length) continue;
      overlays.add(id, 'wl-counts', {
        position: { top: -12, left: -8 },
        html: h('div', { class: 'wl-counts', 'data-node': id }, badges),
      });
    }
  }

  destroy(): void {
    this.viewer.destroy();
  }
}
