import { kernelSuite } from '../harness/kernel-suite.ts';
import { headCases } from './cases/head.cases.ts';

await kernelSuite('head', headCases);
