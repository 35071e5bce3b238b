// The IR's JSON Schema, generated from the op table so the two cannot drift; schema/graph.schema.json is
// its committed output (a test checks they are equal; `ictal graph --schema FILE` rewrites it).
import type { AttrSpec } from './attrs.ts';
import { MAX_DIM } from './attrs.ts';
import { IR_VERSION } from './ir.ts';
import { OPS } from './ops.ts';

type Json = Record<string, unknown>;

const dim: Json = { type: 'integer', minimum: 1, maximum: MAX_DIM };
const dimOrBatch: Json = { oneOf: [dim, { const: 'B' }] };

function attrSchema(s: AttrSpec): Json {
  switch (s.kind) {
    case 'int': return { type: 'integer', minimum: s.min, maximum: s.max ?? MAX_DIM };
    case 'number': {
      const j: Json = { type: 'number' };
      if (s.min !== undefined) j[s.minExclusive ? 'exclusiveMinimum' : 'minimum'] = s.min;
      if (s.max !== undefined) j[s.maxExclusive ? 'exclusiveMaximum' : 'maximum'] = s.max;
      return j;
    }
    case 'nullable-number': return { type: ['number', 'null'], ...(s.min !== undefined ? { minimum: s.min } : {}) };
    case 'bool': return { type: 'boolean' };
    case 'padding': return { type: 'array', items: { type: 'integer', minimum: 0, maximum: MAX_DIM }, minItems: 2, maxItems: 2 };
    case 'shape': return { type: 'array', minItems: 1, prefixItems: [dimOrBatch], items: dim };
    case 'perm': return { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 }, uniqueItems: true };
    case 'edges': return { type: 'array', minItems: 1, items: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 } };
    case 'last-axis': return { const: -1 };
  }
}

function nodeSchema(op: string): Json {
  const spec = OPS[op]!;
  const names = Object.keys(spec.attrs);
  const params = spec.roles ?? [];
  const buffers = spec.bufferRoles ?? [];
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'op', 'inputs', 'outputs', 'attrs', 'params', 'buffers'],
    properties: {
      id: { $ref: '#/$defs/path' },
      op: { const: op },
      inputs: spec.inputs === 'many' ? { type: 'array', minItems: 1, items: { type: 'string' } } : { type: 'array', minItems: spec.inputs, maxItems: spec.inputs, items: { type: 'string' } },
      outputs: { type: 'array', minItems: 1, maxItems: 1, items: { type: 'string' } },
      attrs: { type: 'object', additionalProperties: false, required: names, properties: Object.fromEntries(names.map((k) => [k, attrSchema(spec.attrs[k]!)])) },
      params: { type: 'object', additionalProperties: { type: 'string' }, ...(params.length ? { propertyNames: { enum: params } } : { maxProperties: 0 }) },
      buffers: { type: 'object', additionalProperties: { type: 'string' }, ...(buffers.length ? { propertyNames: { enum: buffers } } : { maxProperties: 0 }) },
    },
  };
}

export function irJsonSchema(): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'ictal-graph-ir-v1',
    title: `Ictal graph IR, version ${IR_VERSION} (docs/ir.md)`,
    type: 'object',
    additionalProperties: false,
    required: ['ictal_ir', 'name', 'config', 'inputs', 'outputs', 'tensors', 'params', 'buffers', 'nodes'],
    properties: {
      ictal_ir: { const: IR_VERSION },
      name: { type: 'string' },
      config: { type: 'object' },
      inputs: { type: 'array', items: { type: 'string' }, minItems: 1 },
      outputs: { type: 'array', items: { type: 'string' }, minItems: 1 },
      tensors: {
        type: 'object',
        additionalProperties: {
          type: 'object', additionalProperties: false, required: ['shape'],
          properties: { shape: { type: 'array', minItems: 1, prefixItems: [dimOrBatch], items: dim } },
        },
      },
      params: {
        type: 'object',
        additionalProperties: {
          type: 'object', additionalProperties: false, required: ['shape', 'dtype', 'weight_decay', 'init'],
          properties: { shape: { type: 'array', items: dim }, dtype: { const: 'F32' }, weight_decay: { type: 'boolean' }, init: { $ref: '#/$defs/init' } },
        },
      },
      buffers: {
        type: 'object',
        additionalProperties: {
          type: 'object', additionalProperties: false, required: ['shape', 'dtype', 'values'],
          properties: { shape: { type: 'array', items: dim }, dtype: { const: 'F32' }, values: { type: 'array', items: { type: 'number' } } },
        },
      },
      nodes: { type: 'array', minItems: 1, items: { oneOf: Object.keys(OPS).map((op) => ({ $ref: `#/$defs/op_${op}` })) } },
    },
    $defs: {
      path: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)*$' },
      init: {
        oneOf: [
          { type: 'object', additionalProperties: false, required: ['dist', 'bound'], properties: { dist: { const: 'uniform' }, bound: { type: 'number', minimum: 0 } } },
          { type: 'object', additionalProperties: false, required: ['dist', 'value'], properties: { dist: { const: 'const' }, value: { type: 'number' } } },
          { type: 'object', additionalProperties: false, required: ['dist', 'of'], properties: { dist: { const: 'weight_norm_g' }, of: { type: 'string' } } },
          { type: 'object', additionalProperties: false, required: ['dist', 'dt_min', 'dt_max', 'dt_floor'], properties: { dist: { const: 'mamba_dt_bias' }, dt_min: { type: 'number', exclusiveMinimum: 0 }, dt_max: { type: 'number', exclusiveMinimum: 0 }, dt_floor: { type: 'number', minimum: 0 } } },
          { type: 'object', additionalProperties: false, required: ['dist', 'low', 'high'], properties: { dist: { const: 'mamba_a_log' }, low: { type: 'number', exclusiveMinimum: 0 }, high: { type: 'number', exclusiveMinimum: 0 } } },
        ],
      },
      ...Object.fromEntries(Object.keys(OPS).map((op) => [`op_${op}`, nodeSchema(op)])),
    },
  };
}
