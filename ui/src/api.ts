// The REST API of `windlass server` (docs/server.md), with the bearer token
// kept for the tab session.

const KEY = 'windlass.token';

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/** Takes `#token=…` from the address once (then removes it from the bar). */
export function takeTokenFromFragment(): void {
  const hash = location.hash.startsWith('#') ? location.hash.slice(1) : '';
  if (!hash) return;
  const params = new URLSearchParams(hash);
  const token = params.get('token');
  if (token === null) return;
  if (token.trim()) setToken(token.trim());
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const token = getToken();
  if (!token) throw new Unauthorized('no token');
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  headers.set('Accept', 'application/json');
  if (init.body !== undefined && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    clearToken();
    throw new Unauthorized('the server refused the token (401)');
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body ?? {}) as { code?: string; message?: string };
    throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? (text || res.statusText));
  }
  return body as T;
}

export async function apiText(path: string): Promise<string> {
  const token = getToken();
  if (!token) throw new Unauthorized('no token');
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status === 401) {
    clearToken();
    throw new Unauthorized('the server refused the token (401)');
  }
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, await res.text());
  return res.text();
}

export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// --- shapes of the answers -------------------------------------------------

export interface Definition {
  processId: string;
  key: string;
  version: number;
  deployedAt: string;
  latest: boolean;
}

export interface InstanceSummary {
  id: string;
  run: string;
  status: string;
  definition: string;
  businessKey: string | null;
  parent?: string | null;
  createdAt: string;
  updatedAt: string;
  events: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Token {
  token: number;
  node: string;
  name: string | null;
  waitingFor: string;
}

export interface Incident {
  incident: number;
  token: number;
  node: string;
  nodeName: string | null;
  attempt: number;
  message: string;
}

export interface OpenJob {
  token: number;
  node: string;
  name: string | null;
  waitingFor: string;
  jobKey: string;
  attempt: number;
  createdAt: string;
}

export interface InstanceDetail extends InstanceSummary {
  tokens: Token[];
  openJobs: OpenJob[];
  incidents: Incident[];
  variables: Record<string, unknown>;
  suspended: unknown;
  cancelling: unknown;
  bufferedSignals: unknown[];
  subscriptions: Subscription[];
}

export interface Subscription {
  token: number;
  node: string;
  nodeName: string | null;
  kind: 'timer' | 'message' | 'signal' | 'dedup';
  waitsFor: string;
  dueAt: string | null;
  name: string | null;
  key: string | null;
}

export interface BufferedMessage {
  id: string;
  name: string;
  correlationKey: string;
  publishedAt: string;
  expiresAt: string | null;
}

export interface DedupKey {
  key: string;
  holder: string | null;
  waiting: string | null;
  updatedAt: string;
}

export interface HistoryEvent {
  seq: number;
  recordedAt: string;
  token: number | null;
  node: string | null;
  nodeName: string | null;
  eventType: string;
  text: string;
}

export interface HistoryPage {
  id: string;
  run: string;
  status: string;
  events: HistoryEvent[];
  nextAfter: number | null;
}

export interface NodeStatistics {
  node: string;
  name: string | null;
  active: number;
  incidents: number;
  completed: number;
}

export interface DefinitionStatistics {
  definition: string;
  instances: number;
  byStatus: Record<string, number>;
  replayed: number;
  nodes: NodeStatistics[];
}

export const statistics = (id: string, version?: number) =>
  api<DefinitionStatistics>(`/api/v1/definitions/${encodeURIComponent(id)}/statistics${qs({ version })}`);
export const definitions = (all = true) => api<Definition[]>(`/api/v1/definitions${qs({ all })}`);
export const definitionXml = (id: string, version?: number) =>
  apiText(`/api/v1/definitions/${encodeURIComponent(id)}/xml${qs({ version })}`);
export const instance = (id: string) => api<InstanceDetail>(`/api/v1/instances/${encodeURIComponent(id)}`);
export const historyPage = (id: string, after: number, limit: number) =>
  api<HistoryPage>(`/api/v1/instances/${encodeURIComponent(id)}/history${qs({ after, limit })}`);
