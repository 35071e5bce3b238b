// The committed JSON Schema is the one the op table generates, and it matches what the validator accepts.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { irJsonSchema } from '../../src/graph/schema.ts';
import { OPS } from '../../src/graph/ops.ts';
import { COSTS } from '../../src/graph/cost.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';
import { serializeIr } from '../../src/graph/serialize.ts';

const root = join(import.meta.dirname, '../..');
const committed = JSON.parse(readFileSync(join(root, 'schema/graph.schema.json'), 'utf8'));

describe('schema/graph.schema.json', () => {
  it('is the schema the op table generates (regenerate: npx ictal graph --schema schema/graph.schema.json)', () => {
    expect(committed).toEqual(irJsonSchema());
  });

  it('lists every op with exactly its attributes, and every op has a cost model', () => {
    for (const [op, spec] of Object.entries(OPS)) {
      expect(committed.$defs[`op_${op}`].properties.attrs.required).toEqual(Object.keys(spec.attrs));
      expect(COSTS[op], op).toBeDefined();
    }
    expect(committed.properties.nodes.items.oneOf).toHaveLength(Object.keys(OPS).length);
  });

  // Python's jsonschema, where the machine has it (a real second validator, not ours).
  const python = spawnSync('python3', ['-c', 'import jsonschema'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!python)('accepts the v3 and v3-tiny IR and refuses a node with an unknown attribute (python jsonschema)', () => {
    const docs = ['v3', 'v3-tiny'].map((p) => JSON.parse(serializeIr(buildV3(p, preset(p)))));
    const bad = structuredClone(docs[1]);
    bad.nodes[0].attrs.extra = 1;
    const script = `
import json, sys, jsonschema
schema, docs, bad = json.load(sys.stdin)
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for d in docs: v.validate(d)
print("bad-accepted" if v.is_valid(bad) else "bad-refused")`;
    const out = execFileSync('python3', ['-c', script], { input: JSON.stringify([committed, docs, bad]) }).toString().trim();
    expect(out).toBe('bad-refused');
  });
});
