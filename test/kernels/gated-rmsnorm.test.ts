import { kernelSuite } from '../harness/kernel-suite.ts';
import { gatedRmsNormCases } from './cases/gated-rmsnorm.cases.ts';

await kernelSuite('gated_rmsnorm', gatedRmsNormCases);
