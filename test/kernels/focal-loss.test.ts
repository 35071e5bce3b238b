import { kernelSuite } from '../harness/kernel-suite.ts';
import { focalLossCases } from './cases/focal-loss.cases.ts';

await kernelSuite('focal-loss', focalLossCases);
