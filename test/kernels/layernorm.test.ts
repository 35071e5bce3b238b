import { kernelSuite } from '../harness/kernel-suite.ts';
import { layerNormCases } from './cases/layernorm.cases.ts';

await kernelSuite('layernorm', layerNormCases);
