import { kernelSuite } from '../harness/kernel-suite.ts';
import { matmulCases } from './cases/matmul.cases.ts';

await kernelSuite('matmul', matmulCases);
