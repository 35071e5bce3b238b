import { kernelSuite } from '../harness/kernel-suite.ts';
import { depthwiseConvCases } from './cases/depthwise-conv.cases.ts';

await kernelSuite('depthwise_conv', depthwiseConvCases);
