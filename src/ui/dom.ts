// A tiny element builder: text always goes in as text (never parsed as HTML); and the lines of a running task.
import type { GpuQueue } from './gpu-queue.ts';
import { etaSeconds, formatSeconds, type Progress, type Task } from './task.ts';

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

/**
 * A running task's line: queued behind what while it waits for the GPU, with a Cancel that takes it out of the
 * queue; then its progress, the ETA once there is a rate, and a Cancel button when `onCancel` is given.
 */
export function taskLine(task: Task<unknown, Progress>, queue: GpuQueue | undefined, onCancel?: () => void): HTMLElement | null {
  if (!task.running) return null;
  const ahead = queue?.ahead(task.job) ?? [];
  if (ahead.length) {
    return h('div', { class: 'progress queued', role: 'status' },
      h('span', { 'data-testid': 'queued' }, `Queued: waiting for the GPU behind ${ahead.join(', then ')}.`), cancelButton(() => queue!.cancel(task.job)));
  }
  const eta = etaSeconds(task);
  const cancel = onCancel && cancelButton(onCancel);
  return h('div', { class: 'progress', role: 'status' },
    h('progress', { max: String(task.progress?.total ?? 1), value: String(task.progress?.done ?? 0) }),
    h('span', {}, task.progress?.message ?? 'starting'),
    h('span', { class: 'eta', 'data-testid': 'eta' }, eta === undefined ? '' : `about ${formatSeconds(eta)} left`),
    cancel);
}

function cancelButton(onCancel: () => void): HTMLButtonElement {
  const cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel' }, 'Cancel');
  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    cancel.textContent = 'Cancelling…';
    onCancel();
  });
  return cancel;
}

/** An error notice, or a plain "cancelled" note when the user asked for it. */
export function taskError(task: Task<unknown, Progress>, testid: string): HTMLElement | null {
  if (!task.error) return null;
  if (task.cancelled) return h('p', { class: 'muted', role: 'status', 'data-testid': `${testid}-cancelled` }, `Cancelled: ${task.error}.`);
  return h('div', { class: 'notice error', role: 'alert', 'data-testid': testid }, task.error);
}
