// Remote runs: connect to a run API (URL and token), submit the loaded graph with its current weights and a
// training config, list the runs, follow one live (loss and validation charts, its log), cancel or resume it,
// and download a checkpoint or load it into the lab.
import type { RunEvent, RunInfo } from '../../remote/types.ts';
import type { RecordingLabStore } from '../recording-store.ts';
import type { FollowState, RemoteStore } from '../remote-store.ts';
import { h, show, taskError } from '../dom.ts';
import { lineChart } from '../charts/line-chart.ts';

const PRECISIONS = ['auto', 'f32', 'f16', 'bf16'] as const;

export function mountRemotePanel(host: HTMLElement, store: RemoteStore, models: RecordingLabStore): void {
  const c = store.getState().connection;
  const server = h('input', { type: 'url', id: 'remote-server', placeholder: 'http://127.0.0.1:8000', value: c.server, 'data-testid': 'remote-server' });
  const token = h('input', { type: 'password', id: 'remote-token', value: c.token, autocomplete: 'off', 'data-testid': 'remote-token' });
  const remember = h('input', { type: 'checkbox', id: 'remote-remember', checked: c.remember, 'data-testid': 'remote-remember' });
  const connect = h('button', { type: 'button', 'data-testid': 'remote-connect' }, 'Connect');
  connect.addEventListener('click', () => void store.getState().connect({ server: server.value.trim(), token: token.value, remember: remember.checked }));

  const steps = h('input', { type: 'number', min: '1', step: '1', value: '100', id: 'remote-steps', 'data-testid': 'remote-steps' });
  const batch = h('input', { type: 'number', min: '1', step: '1', value: '4', id: 'remote-batch', 'data-testid': 'remote-batch' });
  const precision = h('select', { id: 'remote-precision', 'data-testid': 'remote-precision' }, PRECISIONS.map((p) => h('option', { value: p }, p)));
  const lr = h('input', { type: 'number', min: '0', step: 'any', value: '0.00005', id: 'remote-lr', 'data-testid': 'remote-lr' });
  const seed = h('input', { type: 'number', min: '0', step: '1', value: '1', id: 'remote-seed', 'data-testid': 'remote-seed' });
  const windows = h('input', { type: 'number', min: '1', step: '1', value: '256', id: 'remote-windows', 'data-testid': 'remote-windows' });
  const formError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'remote-form-error' });
  const submit = h('button', { type: 'button', 'data-testid': 'remote-submit' }, 'Submit run');
  submit.addEventListener('click', () => {
    const whole = (el: HTMLInputElement, name: string, min: number) => {
      const n = Number(el.value);
      if (el.value.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`${name}: "${el.value}" is not a whole number >= ${min}`);
      return n;
    };
    try {
      const rate = Number(lr.value);
      if (lr.value.trim() === '' || !(rate > 0 && rate <= 10)) throw new Error(`Learning rate: "${lr.value}" is not a number in (0, 10]`);
      const train = { steps: whole(steps, 'Steps', 1), batch_size: whole(batch, 'Batch', 1), precision: precision.value as (typeof PRECISIONS)[number], lr: rate, seed: whole(seed, 'Seed', 0), log_every: 1 };
      const n = whole(windows, 'Synthetic windows', 1);
      formError.textContent = '';
      // A validation set an eighth the size of the training set (at least one window).
      void store.getState().submitRun({ train, data: { kind: 'synthetic', seed: train.seed, windows: n, val_windows: Math.max(1, Math.round(n / 8)) } });
    } catch (e) {
      formError.textContent = (e as Error).message;
    }
  });
  const refresh = h('button', { type: 'button', class: 'secondary', 'data-testid': 'remote-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void store.getState().refresh());

  const connection = h('div', {});
  const runs = h('div', {});
  const followed = h('div', {});
  show(host,
    h('h2', { id: 'remote-title' }, 'Remote runs'),
    h('p', { class: 'muted' }, 'Full training runs of the loaded graph by the PyTorch backend behind its run API (docs/api.md): start one with ',
      h('code', {}, 'npm run backend -- serve --cors-origin ' + location.origin), ' or deploy it on Modal (README). ',
      'The token stays in this tab (sessionStorage) unless you tick "remember" (localStorage).'),
    h('div', { class: 'model-row' },
      h('label', { for: 'remote-server' }, 'Server URL'), server,
      h('label', { for: 'remote-token' }, 'Token'), token,
      remember, h('label', { for: 'remote-remember' }, 'remember'), connect),
    connection,
    h('h3', {}, 'New run'),
    h('div', { class: 'model-row' },
      h('label', { for: 'remote-steps' }, 'Steps'), steps,
      h('label', { for: 'remote-batch' }, 'Batch'), batch,
      h('label', { for: 'remote-precision' }, 'Precision'), precision,
      h('label', { for: 'remote-lr' }, 'Learning rate'), lr,
      h('label', { for: 'remote-seed' }, 'Seed'), seed,
      h('label', { for: 'remote-windows' }, 'Synthetic windows'), windows),
    h('div', { class: 'model-row' }, submit, h('span', { class: 'muted' }, 'on the server\'s synthetic EEG (its seed is the run\'s; validation on an eighth as many windows)'), formError),
    h('h3', {}, 'Runs ', refresh),
    runs,
    followed);

  const render = () => {
    const s = store.getState();
    const ok = s.connected.result !== undefined && !s.connected.error;
    connect.disabled = s.connected.running;
    submit.disabled = !ok || s.submit.running || !models.getState().model.result;
    refresh.disabled = !ok || s.runs.running;
    show(connection,
      s.connected.running && h('p', { class: 'muted', role: 'status' }, 'Connecting…'),
      taskError(s.connected, 'remote-error'),
      ok && h('p', { 'data-testid': 'remote-connected' }, `Connected to ${s.connection.server} (run API ${s.connected.result!.version}).`),
      ok && !models.getState().model.result && h('p', { class: 'muted' }, 'Load a model (above) to submit it.'),
      taskError(s.submit, 'remote-submit-error'),
      s.submit.running && h('p', { class: 'muted', role: 'status' }, 'Submitting the graph and its weights…'));
    show(runs,
      taskError(s.runs, 'remote-runs-error'),
      s.runs.result && runTable(s.runs.result, s.follow?.id, (id) => s.followRun(id)));
    const run = s.follow && s.runs.result?.find((r) => r.id === s.follow!.id);
    show(followed, s.follow && followView(s.follow, run, store));
  };
  render();
  store.subscribe(render);
  models.subscribe((now, prev) => now.model !== prev.model && render());
}

function runTable(runs: RunInfo[], followed: string | undefined, follow: (id: string) => void): HTMLElement {
  if (runs.length === 0) return h('p', { class: 'muted', 'data-testid': 'remote-runs' }, 'No runs on this server yet.');
  return h('table', { class: 'kernels', 'data-testid': 'remote-runs' },
    h('thead', {}, h('tr', {}, ['run', 'status', 'created', 'graph', 'steps × batch', 'train loss', ''].map((c) => h('th', {}, c)))),
    h('tbody', {}, runs.map((r) => {
      const b = h('button', { type: 'button', class: 'secondary', 'data-testid': `follow-${r.id}`, disabled: r.id === followed }, r.id === followed ? 'Following' : 'Follow');
      b.addEventListener('click', () => follow(r.id));
      const loss = r.metrics.train?.loss;
      return h('tr', { 'data-run': r.id },
        h('td', {}, r.id), h('td', { 'data-testid': `status-${r.id}` }, r.status + (r.error ? `: ${r.error}` : '')),
        h('td', {}, r.created_at.replace('T', ' ').slice(0, 19)), h('td', {}, `${r.graph.name} (${r.graph.params.toLocaleString('en')} params)`),
        h('td', { class: 'num' }, `${String(r.train.steps ?? `${String(r.train.epochs)} epochs`)} × ${r.train.batch_size}`),
        h('td', { class: 'num' }, typeof loss === 'number' ? loss.toFixed(4) : '-'), h('td', {}, b));
    })));
}

function followView(f: FollowState, run: RunInfo | undefined, store: RemoteStore): HTMLElement {
  const s = store.getState();
  const status = [...f.events].reverse().find((e): e is Extract<RunEvent, { kind: 'status' | 'end' }> => e.kind === 'status' || e.kind === 'end')?.status ?? run?.status;
  const cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': 'remote-cancel', disabled: s.action.running || !(status === 'queued' || status === 'running') }, 'Cancel run');
  cancel.addEventListener('click', () => void s.cancelRun(f.id));
  const resume = h('button', { type: 'button', class: 'secondary', 'data-testid': 'remote-resume', disabled: s.action.running || status !== 'interrupted' }, 'Resume');
  resume.addEventListener('click', () => void s.resumeRun(f.id));
  const train = f.metrics.filter((m) => m.split === 'train');
  const val = f.metrics.filter((m) => m.split === 'val');
  // Scores on one chart (counts such as reference_events would squash them).
  const valKeys = [...new Set(val.flatMap((m) => Object.keys(m).filter((k) => typeof m[k] === 'number' && /loss|auroc|sensitivity|accuracy|f1/i.test(k))))];
  const colors = ['#e76f51', '#2a9d8f', '#264653', '#e9c46a', '#8d99ae'];
  const logLines = f.events.filter((e) => e.kind === 'log' || e.kind === 'rewind').slice(-12) as Extract<RunEvent, { kind: 'log' | 'rewind' }>[];
  return h('div', { 'data-testid': 'remote-follow' },
    h('h3', {}, `Run ${f.id}`),
    h('p', {},
      h('span', { 'data-testid': 'remote-follow-state' }, f.state === 'live' ? 'live' : f.state === 'ended' ? 'ended' : f.state === 'connecting' ? 'connecting…' : 'stream lost'),
      ` · status `, h('strong', { 'data-testid': 'remote-follow-status' }, status ?? '?'), ` · ${f.events.length} events · `, cancel, ' ', resume),
    f.error && h('div', { class: 'notice error', role: 'alert' }, `Following ${f.id}: ${f.error}`),
    taskError(s.action, 'remote-action-error'),
    s.action.result && !s.action.running && h('p', { class: 'muted', 'data-testid': 'remote-action' }, s.action.result),
    train.length > 0 && lineChart([{ name: 'train loss', color: '#1d3557', points: train.map((m) => ({ x: m.step, y: m.loss })) }], { x: 'step', y: 'training loss', testid: 'remote-loss-chart' }),
    val.length > 0 && lineChart(valKeys.map((k, i) => ({ name: `val ${k}`, color: colors[i % colors.length]!, points: val.map((m) => ({ x: m.step, y: Number(m[k]) })) })),
      { x: 'step', y: 'validation', testid: 'remote-val-chart' }),
    run && run.artifacts.length > 0 && h('div', { 'data-testid': 'remote-checkpoints' },
      h('h3', {}, 'Checkpoints'),
      h('ul', {}, run.artifacts.map((name) => {
        const load = h('button', { type: 'button', 'data-testid': `load-checkpoint-${name}`, disabled: s.action.running }, 'Load into the lab');
        load.addEventListener('click', () => void s.loadCheckpoint(f.id, name));
        const download = h('button', { type: 'button', class: 'secondary', 'data-testid': `download-checkpoint-${name}` }, 'Download');
        download.addEventListener('click', () => void s.downloadCheckpoint(f.id, name).then((blob) => {
          const a = h('a', { href: URL.createObjectURL(blob), download: `${f.id}-${name}` });
          a.click();
          setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        }));
        return h('li', {}, h('code', {}, name), ' ', download, ' ', load);
      }))),
    logLines.length > 0 && h('pre', { class: 'log', 'data-testid': 'remote-log' }, logLines.map((e) => `${e.kind === 'log' ? e.level : 'info'}: ${e.message}`).join('\n')),
  );
}
