// Runs the registry's kernel cases on this machine's GPU outside vitest, for a GPU machine that has Node but no
// node_modules (bundle it with test/kernels/bundle-run-cases.mjs, which says how to run it there):
//   node run-cases.mjs [--families reduce,matmul] [--precisions f32,f16-storage] [--repeat N] [--gemm-tiles small,large]
// Prints every failure and a count per family and precision; exits 1 when any case fails. Cases that run a GEMM
// (matmul, conv1d) run once per GEMM tile (--gemm-tiles, default both: the small cases would all pick the small
// one) and print the core and tile they ran on: the subgroup-matrix core (tensor cores) or the tiled one. The
// subgroup-matrix core is opt-in (ICTAL_TENSOR_CORES=on; src/gpu/node-gpu.ts says why): set it to test that core.
import { acquireGpu, useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { ComputeSession } from '../../src/gpu/session.ts';
import { isPrecision, PRECISIONS, type Precision } from '../../src/gpu/precision.ts';
import { describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import { selectCases } from './cases/index.ts';
import { overrideGemmTile, subgroupMatrixFacts, takeGemmCoresUsed } from '../../src/kernels/gemm-subgroup-matrix.ts';
import type { GemmTile } from '../../src/kernels/gemm-split.ts';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const families = option('families')?.split(',');
const repeat = Number(option('repeat') ?? 1);
const gemmTiles = (option('gemm-tiles')?.split(',') ?? ['small', 'large']).map((t) => {
  if (t !== 'small' && t !== 'large') throw new Error(`--gemm-tiles: unknown tile "${t}" (known: small, large)`);
  return t as GemmTile;
});
const GEMM_FAMILIES = ['matmul', 'conv1d'];
const wanted = (option('precisions')?.split(',') ?? [...PRECISIONS]).map((p) => {
  if (!isPrecision(p)) throw new Error(`--precisions: unknown precision "${p}" (known: ${PRECISIONS.join(', ')})`);
  return p;
});

useNodeGpu(nodeGpu);
const gpu = await acquireGpu();
const session = new ComputeSession(gpu);
const precisions: Precision[] = wanted.filter((p) => p !== 'f16' || gpu.has('shader-f16'));
console.log(`adapter: ${gpu.info.description || gpu.info.device} (${gpu.info.vendor}), driver ${gpu.info.driver}; precisions ${precisions.join(', ')}`);
const facts = subgroupMatrixFacts(session);
console.log(`subgroup matrices: ${facts.configs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ') || 'none offered'}; subgroup size ${facts.subgroupMinSize} - ${facts.subgroupMaxSize}`);
const byCore = new Map<string, { pass: number; fail: number }>();
const counts = new Map<string, { pass: number; fail: number }>();
let failed = 0;
for (let r = 0; r < repeat; r++) {
  for (const precision of precisions) {
    for (const { family, case: c } of selectCases(Infinity, families)) {
      for (const tile of GEMM_FAMILIES.includes(family) ? gemmTiles : [undefined]) {
        overrideGemmTile(session, tile);
        const key = `${family} ${precision}`;
        const n = counts.get(key) ?? { pass: 0, fail: 0 };
        takeGemmCoresUsed(session);
        let pass = false;
        let line: string;
        try {
          const result = await runKernelCase(session, c, precision);
          pass = result.pass;
          line = describeResult(result);
        } catch (e) {
          line = `FAIL ${c.name} (${precision}): ${e instanceof Error ? e.message : String(e)}`;
        }
        if (pass) n.pass++;
        else {
          n.fail++;
          failed++;
        }
        const cores = takeGemmCoresUsed(session);
        if (cores.length) {
          console.log(`${line} [gemm: ${cores.join('; ')}]`);
          for (const core of cores) {
            const k = `${family} ${precision} on ${core}`;
            const m = byCore.get(k) ?? { pass: 0, fail: 0 };
            if (pass) m.pass++;
            else m.fail++;
            byCore.set(k, m);
          }
        } else if (!pass) console.log(line);
        counts.set(key, n);
      }
    }
  }
}
overrideGemmTile(session, undefined);
for (const [key, n] of counts) console.log(`${key}: ${n.pass} passed, ${n.fail} failed`);
for (const [key, n] of byCore) console.log(`${key}: ${n.pass} passed, ${n.fail} failed`);
session.destroy();
gpu.device.destroy();
process.exit(failed ? 1 : 0);
