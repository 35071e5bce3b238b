// Fuzzing parseIr: seeded mutations of the v3-tiny IR, as parsed values (hostile values at random places, keys
// dropped and added, entries duplicated) and as text (bytes changed, truncated, deep nesting, huge numbers).
// Each case must either load or throw a GraphError; anything else (a RangeError from the stack, a TypeError)
// fails the test.
import { describe, expect, it } from 'vitest';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';
import { parseIr } from '../../src/graph/validate.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import { GraphError } from '../../src/graph/errors.ts';
import { makeRng } from '../harness/kernel-harness.ts';

const CASES = 2000;
const text = serializeIr(buildV3('v3-tiny', preset('v3-tiny')));

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

function deep(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const SCALARS: unknown[] = [1e400, -1e400, 1e20, 2 ** 31, 2 ** 53 + 1, 0, -1, 1.5, 1e308, NaN, -0, true, false, null, '',
  'B', '\u0000', 'a\u0000b', '\ud800', 'x'.repeat(1000), '__proto__', 'constructor'];
const CONTAINERS: (() => unknown)[] = [() => [], () => ({}), () => [1, 2, 3], () => ['B'], () => [0], () => [-1], () => [[1, 2]],
  () => ({ dist: 'uniform' }), () => deep(200), () => deep(20_000), () => [Infinity, Infinity], () => ({ '': null }),
  () => JSON.parse('{"__proto__": {"shape": [1]}}')];
const hostile = (rng: Rng): unknown => (rng() < 0.6 ? pick(rng, SCALARS) : pick(rng, CONTAINERS)());

type Container = Record<string, unknown> | unknown[];
const keysOf = (v: unknown): (string | number)[] =>
  Array.isArray(v) ? v.map((_, i) => i) : v !== null && typeof v === 'object' ? Object.keys(v) : [];

/** A place in the document found by a random walk from the top, stopping at each level with probability 0.3. */
function place(doc: Container, rng: Rng): [Container, string | number] {
  let container = doc;
  let key = pick(rng, keysOf(doc));
  for (;;) {
    const v = (container as Record<string | number, unknown>)[key];
    const keys = keysOf(v);
    if (keys.length === 0 || rng() < 0.3) return [container, key];
    container = v as Container;
    key = pick(rng, keys);
  }
}

function mutate(rng: Rng): Record<string, unknown> {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const rounds = pick(rng, [1, 1, 1, 2, 3]);
  for (let r = 0; r < rounds; r++) {
    const [c, k] = place(doc, rng);
    const slot = c as Record<string | number, unknown>;
    const action = rng();
    if (action < 0.6) slot[k] = hostile(rng);
    else if (action < 0.75 && !Array.isArray(c)) delete slot[k];
    else if (action < 0.85 && !Array.isArray(c)) slot[pick(rng, ['extra', '', 'nodes', 'B'])] = hostile(rng);
    else if (Array.isArray(c) && c.length > 0) {
      if (rng() < 0.5) c.push(pick(rng, c));
      else c.splice(Math.floor(rng() * c.length), 1);
    } else {
      const [oc, ok] = place(doc, rng);
      try {
        slot[k] = structuredClone((oc as Record<string | number, unknown>)[ok]); // a copy: it may be an ancestor
      } catch {
        slot[k] = null; // too deep for structuredClone itself
      }
    }
  }
  return doc;
}

function mutateText(rng: Rng): string {
  const kind = Math.floor(rng() * 6);
  const at = Math.floor(rng() * text.length);
  switch (kind) {
    case 0: {
      const chars = [...text];
      for (let i = 0; i < 1 + Math.floor(rng() * 8); i++) chars[Math.floor(rng() * chars.length)] = String.fromCharCode(Math.floor(rng() * 0x10000));
      return chars.join('');
    }
    case 1: return text.slice(0, at);
    case 2: return text.slice(0, at) + pick(rng, ['\u0000', '\ud800', 'NaN', '1e999', ']', '{', '"']) + text.slice(at);
    case 3: {
      const n = pick(rng, [100, 5000, 100_000]);
      return '['.repeat(n) + text + ']'.repeat(n);
    }
    case 4: return text.replace('19,', '1' + '9'.repeat(pick(rng, [400, 5000])) + ',');
    default:
      try {
        return JSON.stringify(mutate(rng)) ?? '';
      } catch {
        return text; // too deep for JSON.stringify itself
      }
  }
}

function loadsOrRefuses(input: unknown, c: number): boolean {
  try {
    parseIr(input);
    return false;
  } catch (e) {
    if (e instanceof GraphError) return true;
    throw new Error(`case ${c}: ${(e as Error).name} escaped parseIr: ${String((e as Error).message).slice(0, 300)}`);
  }
}

describe('parseIr under fuzzing', () => {
  it(`refuses ${CASES} mutated documents only with GraphError`, () => {
    const rng = makeRng(20261205);
    let refused = 0;
    for (let c = 0; c < CASES; c++) refused += Number(loadsOrRefuses(mutate(rng), c));
    expect(refused).toBeGreaterThan(CASES / 2); // the mutations do reach the checks
  });

  it(`refuses ${CASES} mutated texts only with GraphError`, () => {
    const rng = makeRng(5122026);
    let refused = 0;
    for (let c = 0; c < CASES; c++) refused += Number(loadsOrRefuses(mutateText(rng), c));
    expect(refused).toBeGreaterThan(CASES / 2);
  });

  it('refuses config nested 5,000 deep with a GraphError naming the depth, as a value and as text', () => {
    const doc = JSON.parse(text) as Record<string, unknown>;
    doc.config = { a: deep(5000) };
    expect(() => parseIr(doc)).toThrow(/config(\.a)+\[0\].*nested more than 64 levels deep/);
    const nested = text.replace(/"config": \{/, `"config": {"a": ${'['.repeat(5000)}1${']'.repeat(5000)},`);
    expect(() => parseIr(nested)).toThrow(/nested more than 64 levels deep/);
  });
});
