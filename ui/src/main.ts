// The app: a router over the History API (real links, deep links that
// survive reloads), the token login, and the page frame.
import './style.css';
import { Unauthorized, ApiError, clearToken, getToken, setToken, takeTokenFromFragment } from './api';
import { clear, h, link } from './dom';
import { processesPage, processPage } from './pages/processes';
import { instancesPage } from './pages/instances';
import { instancePage } from './pages/instance';
import { schedulesPage } from './pages/schedules';

export interface PageContext {
  root: HTMLElement;
  params: string[];
  query: URLSearchParams;
  /** Aborted when the user leaves the page (stops polling). */
  signal: AbortSignal;
  /** Sets the document title and announces the page. */
  title(text: string): void;
}

type Page = (ctx: PageContext) => Promise<void>;

const routes: [RegExp, Page][] = [
  [/^\/processes\/?$/, processesPage],
  [/^\/processes\/([^/]+)$/, processPage],
  [/^\/instances\/?$/, instancesPage],
  [/^\/instances\/(.+)$/, instancePage],
  [/^\/schedules\/?$/, schedulesPage],
];

const app = document.getElementById('app') as HTMLElement;
let current: AbortController | null = null;
let loginMessage = '';

export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  void render();
}

function nav(): HTMLElement {
  const here = location.pathname;
  const item = (href: string, text: string) => {
    const a = link(href, text);
    if (here === href || here.startsWith(`${href}/`)) a.setAttribute('aria-current', 'page');
    return h('li', null, a);
  };
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '/processes', 'data-link': true }, 'Windlass'),
    h('nav', { 'aria-label': 'Main' }, h('ul', null, item('/processes', 'Processes'), item('/instances', 'Instances'), item('/schedules', 'Schedules'))),
    getToken()
      ? h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              clearToken();
              loginMessage = 'Logged out.';
              void render();
            },
          },
          'Log out',
        )
      : null,
  );
}

function loginForm(): HTMLElement {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'token-help',
  });
  const form = h(
    'form',
    {
      class: 'login card',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        setToken(token);
        loginMessage = '';
        void render();
      },
    },
    h('h1', null, 'Log in'),
    loginMessage ? h('p', { class: 'error', role: 'alert' }, loginMessage) : null,
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'The bearer token of windlass server (the file <db>.token, or --token-file). It is kept for this tab only. Scripts can open an address with #token=… instead.',
    ),
    h('button', { type: 'submit' }, 'Log in'),
  );
  queueMicrotask(() => input.focus());
  return form;
}

async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  clear(app);
  const main = h('main', { id: 'main', tabindex: '-1' });
  if (location.pathname === '/' || location.pathname === '') {
    history.replaceState(null, '', '/processes');
  }
  if (!getToken()) {
    document.title = 'Log in · Windlass';
    app.append(nav(), main);
    main.append(loginForm());
    return;
  }
  app.append(nav(), main);
  const path = location.pathname;
  const route = routes.find(([re]) => re.test(path));
  const ctx: PageContext = {
    root: main,
    params: route ? (route[0].exec(path)?.slice(1) ?? []).map((p) => decodeURIComponent(p)) : [],
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    title: (text) => {
      document.title = `${text} · Windlass`;
    },
  };
  try {
    if (!route) {
      ctx.title('Not found');
      main.append(h('h1', null, 'Not found'), h('p', null, 'No page at this address. ', link('/processes', 'Processes')));
      return;
    }
    await route[1](ctx);
  } catch (e) {
    if (controller.signal.aborted) return;
    if (e instanceof Unauthorized) {
      loginMessage = `Please log in again: ${e.message}.`;
      controller.abort();
      void render();
      return;
    }
    main.append(
      h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? `${e.code}: ${e.message}` : `Error: ${String(e)}`),
    );
  }
}

/** Errors of background work (polling) that mean "log in again". */
export function handleBackgroundError(e: unknown): void {
  if (e instanceof Unauthorized) {
    loginMessage = `Please log in again: ${e.message}.`;
    void render();
  }
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null;
  if (!a || a.origin !== location.origin) return;
  e.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) navigate(a.pathname + a.search);
  queueMicrotask(() => (document.getElementById('main') as HTMLElement | null)?.focus());
});
window.addEventListener('popstate', () => void render());

takeTokenFromFragment();
void render();
