import { kernelSuite } from '../harness/kernel-suite.ts';
import { layoutOpsCases } from './cases/layout-ops.cases.ts';

await kernelSuite('layout ops', layoutOpsCases);
