import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { Engine } from '../../engine/engine.ts';
import { parseIr } from '../../graph/validate.ts';
import { writeSafetensors } from '../../graph/safetensors.ts';
import { decodeNpy, type NpyArray } from '../../data/npy.ts';
import { isPrecision, PRECISIONS } from '../../gpu/precision.ts';
import { FOCAL_RECIPE } from '../../kernels/focal-loss.ts';
import { GRAD_SCALER_DEFAULTS } from '../../train/loss-scale.ts';

const HELP = `ictal grad --ir FILE --weights FILE --input X.npy --labels Y.npy --output GRADS.safetensors [--precision P]
           [--pos-weight W] [--micro-batch M] [--loss-scale S]
  The focal loss's gradient (the backend's recipe: alpha ${FOCAL_RECIPE.alpha}, gamma ${FOCAL_RECIPE.gamma}, its clamps) for every
  parameter, dropout off, no optimizer step: one safetensors file, F32, keyed by IR parameter name. X is
  [B, ...graph input], Y [B, ...graph output] in [0, 1]. --precision: ${PRECISIONS.join(', ')} (default f32); --pos-weight
  (default 1); --micro-batch divides B (default: what fits); --loss-scale multiplies the loss gradient on the GPU
  and divides the result (default 1 in f32, GradScaler's initial ${GRAD_SCALER_DEFAULTS.initScale} in f16 modes: unscaled, gradients of
  order 1e-7 underflow halves). The twin: npm run backend -- grad, same arguments. The lab's engine method
  (Engine.grad) does the work.`;

function floatArray(a: NpyArray, path: string, want: readonly (number | string)[], what: string): Float32Array {
  if (a.dtype !== 'f4' && a.dtype !== 'f8') throw new Error(`${path}: dtype ${a.dtype}; ${what} must be float32 or float64`);
  const per = want.slice(1);
  if (a.shape.length !== want.length || a.shape.slice(1).some((d, i) => d !== per[i])) {
    throw new Error(`${path}: shape (${a.shape}) does not match the graph's ${what} [${want.join(', ')}]`);
  }
  return Float32Array.from(a.data as ArrayLike<number>);
}

export const grad: Command = {
  name: 'grad',
  summary: "the focal loss's gradient for every parameter of a graph on one batch (WebGPU)",
  async run(argv) {
    const { values } = parseOptions('grad', argv, {
      ir: { type: 'string' }, weights: { type: 'string' }, input: { type: 'string' }, labels: { type: 'string' }, output: { type: 'string' },
      precision: { type: 'string', default: 'f32' }, 'pos-weight': { type: 'string', default: '1' }, 'micro-batch': { type: 'string' }, 'loss-scale': { type: 'string' }, help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    for (const k of ['ir', 'weights', 'input', 'labels', 'output'] as const) if (!values[k]) throw new Error(`--${k} is required\n${HELP}`);
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const posWeight = Number(values['pos-weight']);
    if (!(posWeight >= 0 && Number.isFinite(posWeight))) throw new Error(`--pos-weight "${values['pos-weight']}" is not a finite number >= 0`);
    const micro = values['micro-batch'] === undefined ? undefined : Number(values['micro-batch']);
    if (micro !== undefined && !(Number.isInteger(micro) && micro >= 1)) throw new Error(`--micro-batch "${values['micro-batch']}" is not a positive integer`);
    const lossScale = values['loss-scale'] === undefined ? undefined : Number(values['loss-scale']);
    if (lossScale !== undefined && !(lossScale > 0 && Number.isFinite(lossScale))) throw new Error(`--loss-scale "${values['loss-scale']}" is not a finite number > 0`);
    const graph = readFileSync(values.ir!, 'utf8');
    const ir = parseIr(graph);
    const xa = decodeNpy(readFileSync(values.input!), values.input!);
    const x = floatArray(xa, values.input!, ir.tensors[ir.inputs[0]!]!.shape, 'input');
    const batch = xa.shape[0]!;
    const ya = decodeNpy(readFileSync(values.labels!), values.labels!);
    const y = floatArray(ya, values.labels!, ir.tensors[ir.outputs[0]!]!.shape, 'output (labels)');
    if (ya.shape[0] !== batch) throw new Error(`${values.labels}: ${ya.shape[0]} label rows for ${batch} input windows`);
    if (y.some((v) => !(v >= 0 && v <= 1))) throw new Error(`${values.labels}: labels must lie in [0, 1]`);

    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const g = await engine.grad({ graph, weights: readFileSync(values.weights!), input: x, labels: y, batch, precision, posWeight, microBatch: micro, lossScale });
      writeFileSync(values.output!, writeSafetensors(g.grads, { format: 'ictal-grads', graph: g.graph, loss: String(g.loss), precision }));
      console.log(`grad: ${g.graph} on ${batch} window(s), ${precision}, micro-batch ${g.microBatch}: loss ${g.loss} -> ${values.output} (${g.grads.size} gradients)`);
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};
