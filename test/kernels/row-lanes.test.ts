import { describe, expect, it } from 'vitest';
import { forceRowLanes, rowLaneWorkgroups, rowLanes } from '../../src/kernels/row-lanes.ts';

describe('rowLanes', () => {
  it('gives about 4 columns a lane, 4 to 64 lanes', () => {
    expect([1, 7, 16, 17, 32, 64, 128, 256, 1000].map((c) => rowLanes(c))).toEqual([4, 4, 4, 8, 8, 16, 32, 64, 64]);
  });
  it('gives one lane (a row per invocation) where the caller asks, unless a test forces a count', () => {
    expect(rowLanes(16, true)).toBe(1);
    forceRowLanes(4);
    try {
      expect(rowLanes(16, true)).toBe(4);
    } finally {
      forceRowLanes(undefined);
    }
  });
  it('counts workgroups of 64 / lanes rows', () => {
    expect(rowLaneWorkgroups(2736 * 960, 4)).toBe(164160);
    expect(rowLaneWorkgroups(130, 16)).toBe(33);
    expect(rowLaneWorkgroups(5, 64)).toBe(5);
  });
  it('is forced by tests and refuses what the kernels cannot run', () => {
    forceRowLanes(2);
    try {
      expect(rowLanes(1000)).toBe(2);
    } finally {
      forceRowLanes(undefined);
    }
    expect(rowLanes(1000)).toBe(64);
    for (const bad of [0, 3, 128, 1.5]) expect(() => forceRowLanes(bad)).toThrow('a power of two from 1 to 64');
  });
});
