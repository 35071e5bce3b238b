// A tiny element builder: text always goes in as text (never parsed as HTML).
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
  return el;
}

/** Replaces what a panel shows. */
export function show(host: HTMLElement, ...children: (Child | Child[])[]): void {
  host.replaceChildren(...children.flat().filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'object' ? c : String(c))));
}

/** A <progress> with its message, for a running task. */
export function progressLine(p: { done: number; total: number; message: string } | undefined): HTMLElement {
  return h('div', { class: 'progress', role: 'status' },
    h('progress', { max: String(p?.total ?? 1), value: String(p?.done ?? 0) }),
    h('span', {}, p?.message ?? 'starting'));
}
