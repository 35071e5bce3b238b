import { kernelSuite } from '../harness/kernel-suite.ts';
import { reduceCases } from './cases/reduce.cases.ts';

await kernelSuite('reduce', reduceCases);
