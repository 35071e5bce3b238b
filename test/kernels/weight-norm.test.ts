import { kernelSuite } from '../harness/kernel-suite.ts';
import { weightNormCases } from './cases/weight-norm.cases.ts';

await kernelSuite('weight_norm', weightNormCases);
