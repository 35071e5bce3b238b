import { kernelSuite } from '../harness/kernel-suite.ts';
import { elementwiseCases } from './cases/elementwise.cases.ts';

await kernelSuite('elementwise', elementwiseCases);
