// The lab page: starts the engine worker, asks it for the adapter, and mounts the tabs and their panels.
import './lab.css';
import { startEngine } from './engine-client.ts';
import { createLabStore, type LabOptions } from './store.ts';
import { mountAdapterPanel } from './panels/adapter-panel.ts';
import { mountCalibrationPanel } from './panels/calibration-panel.ts';
import { mountProfilePanel } from './panels/profile-panel.ts';
import { createRecordingStore } from './recording-store.ts';
import { GpuQueue } from './gpu-queue.ts';
import { mountTabs } from './tabs.ts';
import { mountModelBar } from './panels/model-bar.ts';
import { mountModelProfilePanel } from './panels/model-profile-panel.ts';
import { mountHeadroomPanel } from './panels/headroom-panel.ts';
import { createRemoteStore } from './remote-store.ts';
import { mountRemotePanel } from './panels/remote-panel.ts';
import { createTrainStore } from './train-store.ts';
import { mountTrainPanel } from './panels/train-panel.ts';
import { mountRecordingPanel } from './panels/recording-panel.ts';
import { mountDetectionPanel } from './panels/detection-panel.ts';
import { PLOT_COLUMNS } from './charts/time-axis.ts';

function section(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id} section`);
  return el;
}

/** ?copy-mib=N&elements=N&families=a,b: smaller (or larger) measurements than the defaults, or fewer families. */
function labOptions(params: URLSearchParams): LabOptions {
  const positive = (name: string) => {
    const raw = params.get(name);
    if (raw === null) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`URL parameter ${name} wants a whole number >= 1, got "${raw}"`);
    return n;
  };
  const mib = positive('copy-mib');
  const families = params.get('families')?.split(',').filter(Boolean);
  return { copyBytes: mib && mib * 2 ** 20, profileElements: positive('elements'), families };
}

// The store is created before the worker can report a crash; the callback reaches it through this binding.
let crashed: (message: string) => void = () => {};
const engine = startEngine((message) => crashed(message));
let options: LabOptions = {};
let badOptions: string | undefined;
try {
  options = labOptions(new URLSearchParams(location.search));
} catch (e) {
  badOptions = (e as Error).message;
}
const queue = new GpuQueue();
const store = createLabStore(engine, queue, options);
crashed = store.getState().fail;
const recordings = createRecordingStore(engine, queue, { columns: PLOT_COLUMNS });
const remote = createRemoteStore(engine, recordings);
const training = createTrainStore(engine, queue, recordings);

mountTabs(section('tabs'), section('start-here'));
mountModelBar(section('model-bar'), recordings, store, queue);
mountAdapterPanel(section('adapter'), store);
mountCalibrationPanel(section('calibration'), store, queue);
mountModelProfilePanel(section('model-profile'), store, recordings, queue);
mountHeadroomPanel(section('headroom'), store, recordings, queue);
mountTrainPanel(section('train'), training, store, recordings, queue, engine);
mountRemotePanel(section('remote'), remote, recordings);
mountRecordingPanel(section('recording'), recordings);
mountDetectionPanel(section('detection'), recordings, store, queue);
mountProfilePanel(section('profile'), store, queue);
if (badOptions) store.getState().fail(badOptions);
else void store.getState().connect();

// For the DevTools console: the engine (e.g. `await ictal.engine.performanceMeasures()`) and the stores.
Object.assign(globalThis, { ictal: { engine, store, recordings, remote, training, queue } });
