import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { Engine } from '../../engine/engine.ts';
import { parseIr } from '../../graph/validate.ts';
import { loadWeights } from '../../graph/weights.ts';
import { decodeNpy, encodeNpy } from '../../data/npy.ts';
import { isPrecision, PRECISIONS } from '../../gpu/precision.ts';
import { referenceForward } from '../../graph/reference-forward.ts';

const HELP = `ictal forward --ir FILE --weights FILE --input X.npy --output Y.npy [--precision P] [--executor webgpu|cpu]
  Runs the graph on X (float32 or float64 .npy, shape [B, ...] of the graph input) and writes the output as
  float32 .npy. --precision: ${PRECISIONS.join(', ')} (default f32). --executor cpu runs the float64 reference.`;

export const forward: Command = {
  name: 'forward',
  summary: 'run a graph on a .npy input (WebGPU or the float64 CPU reference)',
  async run(argv) {
    const { values } = parseOptions('forward', argv, {
      ir: { type: 'string' }, weights: { type: 'string' }, input: { type: 'string' }, output: { type: 'string' },
      precision: { type: 'string', default: 'f32' }, executor: { type: 'string', default: 'webgpu' }, help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    for (const k of ['ir', 'weights', 'input', 'output'] as const) if (!values[k]) throw new Error(`--${k} is required\n${HELP}`);
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    if (values.executor !== 'webgpu' && values.executor !== 'cpu') throw new Error(`--executor "${values.executor}" is not webgpu or cpu`);
    const graph = readFileSync(values.ir!, 'utf8');
    const weightBytes = readFileSync(values.weights!);
    const ir = parseIr(graph);
    const x = decodeNpy(readFileSync(values.input!), values.input!);
    if (x.dtype !== 'f4' && x.dtype !== 'f8') throw new Error(`${values.input}: dtype ${x.dtype}; the input must be float32 or float64`);
    const inShape = ir.tensors[ir.inputs[0]!]!.shape;
    const per = inShape.slice(1);
    if (x.shape.length !== inShape.length || x.shape.slice(1).some((d, i) => d !== per[i])) {
      throw new Error(`${values.input}: shape (${x.shape}) does not match the graph input [${inShape.join(', ')}]`);
    }
    const batch = x.shape[0]!;
    let y: Float64Array;
    let outShape: number[];
    if (values.executor === 'cpu') {
      const weights = loadWeights(ir, weightBytes);
      const out = referenceForward(ir, weights, { shape: x.shape, data: Float64Array.from(x.data as ArrayLike<number>) }).get(ir.outputs[0]!)!;
      y = out.data;
      outShape = out.shape;
    } else {
      // The lab's engine, as in the browser: the CLI only reads and writes the files.
      useNodeGpu(nodeGpu);
      const engine = new Engine();
      try {
        const out = await engine.forward({ graph, weights: weightBytes, input: Float32Array.from(x.data as ArrayLike<number>), batch, precision });
        y = out.output;
        outShape = out.shape;
      } finally {
        await engine.dispose();
      }
    }
    writeFileSync(values.output!, encodeNpy({ dtype: 'f4', shape: outShape, data: Float32Array.from(y) }));
    return 0;
  },
};
