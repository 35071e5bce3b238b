// The lab's navigation by job: one tab per job, the URL hash keeps the tab (#headroom), and a first visit shows
// a "start here" path through them.
import { h, show } from './dom.ts';

export interface TabSpec {
  id: string;
  name: string;
  /** One line: what the tab is for. */
  purpose: string;
}

/** In the order (#12): the model's own jobs first, then data, then the kernel bench. */
export const TABS: readonly TabSpec[] = [
  { id: 'device', name: 'Device', purpose: 'the WebGPU adapter, its limits, and its measured roofline' },
  { id: 'model-profile', name: 'Model profile', purpose: "the loaded model's forward pass timed per node and per kernel" },
  { id: 'headroom', name: 'Headroom', purpose: 'memory against batch size, predicted and probed' },
  { id: 'train', name: 'Train', purpose: 'training the loaded model here, on WebGPU' },
  { id: 'remote-runs', name: 'Remote runs', purpose: 'full training runs on a run API server (PyTorch, CUDA)' },
  { id: 'recordings', name: 'Recordings', purpose: 'an EEG recording through the model: probability, events, metrics' },
  { id: 'kernels', name: 'Kernels', purpose: 'every kernel family benchmarked against the roofline' },
];

/** The order a new user goes through the lab. */
const START_HERE: readonly [string, string][] = [
  ['device', 'Check the adapter and press Calibrate: every timing later is placed against this roofline.'],
  ['recordings', 'Load the synthetic recording and the v3-tiny model, then Run model to see the probability and events.'],
  ['model-profile', 'Profile the loaded model: where the time of a forward pass goes.'],
  ['headroom', 'See the largest batch this adapter should fit, and probe it.'],
  ['train', 'Train a few steps here, then use the weights in Recordings.'],
  ['remote-runs', 'Connect to a run API with its URL and token to train in full on a GPU server.'],
];

const VISITED = 'ictal.visited';

export function tabFromHash(hash: string): string {
  const id = hash.replace(/^#/, '');
  return TABS.some((t) => t.id === id) ? id : TABS[0]!.id;
}

/**
 * Mounts the tab bar in `nav` over sections `#tab-<id>`; shows the hash's tab and follows hash changes.
 * `onShow` runs whenever a tab becomes visible (panels draw charts at their size then).
 */
export function mountTabs(nav: HTMLElement, startHere: HTMLElement, onShow: (id: string) => void = () => {}): void {
  const panels = new Map(TABS.map((t) => {
    const el = document.getElementById(`tab-${t.id}`);
    if (!el) throw new Error(`index.html has no #tab-${t.id} section`);
    el.setAttribute('role', 'tabpanel');
    el.setAttribute('aria-labelledby', `tab-button-${t.id}`);
    return [t.id, el] as const;
  }));
  const buttons = TABS.map((t) => {
    const b = h('button', { type: 'button', role: 'tab', id: `tab-button-${t.id}`, 'aria-controls': `tab-${t.id}`, title: t.purpose }, t.name);
    b.addEventListener('click', () => {
      location.hash = t.id;
    });
    return b;
  });
  show(nav, h('div', { role: 'tablist', 'aria-label': 'Lab jobs', class: 'tablist' }, buttons),
    startButton(() => renderStartHere(startHere, true)));

  const select = () => {
    const id = tabFromHash(location.hash);
    TABS.forEach((t, i) => {
      const on = t.id === id;
      buttons[i]!.setAttribute('aria-selected', String(on));
      buttons[i]!.tabIndex = on ? 0 : -1;
      panels.get(t.id)!.hidden = !on;
    });
    onShow(id);
  };
  window.addEventListener('hashchange', select);
  select();
  renderStartHere(startHere, localStorage.getItem(VISITED) === null);
}

function startButton(open: () => void): HTMLElement {
  const b = h('button', { type: 'button', class: 'link', 'data-testid': 'open-start-here' }, 'Start here');
  b.addEventListener('click', open);
  return b;
}

function renderStartHere(host: HTMLElement, visible: boolean): void {
  if (!visible) return show(host);
  const close = h('button', { type: 'button', class: 'secondary', 'data-testid': 'close-start-here' }, 'Got it');
  close.addEventListener('click', () => {
    localStorage.setItem(VISITED, '1');
    show(host);
  });
  show(host, h('aside', { class: 'start-here', 'aria-labelledby': 'start-here-title', 'data-testid': 'start-here' },
    h('h2', { id: 'start-here-title' }, 'Start here'),
    h('ol', {}, START_HERE.map(([id, text]) => {
      const tab = TABS.find((t) => t.id === id)!;
      return h('li', {}, h('a', { href: `#${id}` }, tab.name), `: ${text}`);
    })),
    close));
}
