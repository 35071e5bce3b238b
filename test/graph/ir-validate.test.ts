// Loading IR documents: exact round trips, and malformed documents each refused with a message that says
// what is wrong and where.
import { describe, expect, it } from 'vitest';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset, applyOverrides } from '../../src/graph/config.ts';
import { parseIr } from '../../src/graph/validate.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import type { IrDocument } from '../../src/graph/ir.ts';

const tiny = buildV3('v3-tiny', preset('v3-tiny'));
const text = serializeIr(tiny);
/** A fresh mutable copy of the v3-tiny IR. */
const doc = (): IrDocument & Record<string, unknown> => JSON.parse(text);
const node = (d: IrDocument, id: string) => d.nodes.find((n) => n.id === id)!;

describe('IR round trip', () => {
  it.each(['v3', 'v3-tiny'])('%s: serialize(parse(text)) === text, and parse(text) deep-equals the built graph', (name) => {
    const ir = buildV3(name, preset(name));
    const s = serializeIr(ir);
    const back = parseIr(s);
    expect(serializeIr(back)).toBe(s);
    expect(back).toEqual(JSON.parse(s));
    expect(back).toEqual(JSON.parse(JSON.stringify(ir)));
  });

  it('keeps float64 buffer values and float attributes bit-exact', () => {
    const back = parseIr(text);
    expect(back.buffers['pe.value']!.values).toEqual(tiny.buffers['pe.value']!.values);
    expect(node(back, 'adjacency').attrs.threshold).toBe(1e-4);
    expect(node(back, 'tcn.layers.0.dropout').attrs.p).toBe(0.15);
  });

  it('round-trips an overridden graph', () => {
    const ir = buildV3('custom', applyOverrides(preset('v3-tiny'), ['head.clamp_mid=null', 'tcn.weight_norm=false', 'gnn.layers=3']));
    expect(serializeIr(parseIr(serializeIr(ir)))).toBe(serializeIr(ir));
    expect(ir.nodes.some((n) => n.id === 'head.clamp_mid')).toBe(false);
    expect(ir.params['tcn.layers.0.conv.weight']).toBeDefined();
  });
});

/** [what is wrong, how to break the document, what the message must say]. */
const MALFORMED: [string, (d: IrDocument & Record<string, unknown>) => unknown, RegExp][] = [
  ['not JSON', () => '{"ictal_ir": 1,', /not valid JSON/],
  ['not an object', () => '[1, 2]', /IR document: expected an object, got an array/],
  ['no version field', (d) => { delete (d as Record<string, unknown>).ictal_ir; }, /missing field "ictal_ir"/],
  ['wrong version', (d) => { (d as Record<string, unknown>).ictal_ir = 2; }, /ictal_ir: version 2 is not supported \(this reader understands version 1\)/],
  ['unknown top-level field', (d) => { d.extra = true; }, /IR document: unknown field "extra"/],
  ['unknown op', (d) => { node(d, 'tcn.layers.0.relu').op = 'gelu'; }, /nodes\[\d+\] "tcn.layers.0.relu" \(gelu\): unknown op "gelu"/],
  ['duplicate node id', (d) => { node(d, 'tcn.layers.1.relu').id = 'tcn.layers.0.relu'; }, /duplicate node id "tcn.layers.0.relu"/],
  ['dangling tensor reference', (d) => { node(d, 'tcn.layers.0.relu').inputs = ['nowhere']; }, /"tcn.layers.0.relu" \(relu\).inputs\[0\]: tensor "nowhere" is not declared anywhere \(dangling reference\)/],
  ['nodes out of order', (d) => { const i = d.nodes.findIndex((n) => n.id === 'sanitize'); d.nodes.push(...d.nodes.splice(i, 1)); }, /tensor "sanitize" is not produced by any earlier node/],
  ['inconsistent dims: conv in_channels', (d) => { node(d, 'tcn.layers.1.conv').attrs.in_channels = 9; }, /"tcn.layers.1.conv" \(conv1d\): input "x" dimension 1 \(channels\) is 8, expected 9/],
  ['inconsistent dims: declared output shape', (d) => { d.tensors['tcn.down']!.shape = ['B', 32, 161]; }, /"tcn.down" \(conv1d\): output "tcn.down" is declared \[B, 32, 161\] but the op gives \[B, 32, 160\] \(dimension 2: 161 vs 160\)/],
  ['non-finite attribute (1e999 parses to Infinity)', () => text.replace('"p": 0.15', '"p": 1e999'), /attribute "p" must be finite, got "Infinity"|p: Infinity is not finite/],
  ['absurd dimension', (d) => { d.tensors.eeg!.shape = ['B', 19, 2 ** 40]; }, /tensors\["eeg"\].shape: dimension 2 is 1099511627776, absurdly large/],
  ['absurd element count', (d) => { d.tensors.eeg!.shape = ['B', 2 ** 30, 2 ** 30]; }, /shape \[B, 1073741824, 1073741824\] holds \d+ elements per batch item, absurdly many \(limit 2\^40\)/],
  ['negative dimension', (d) => { d.params['edge.lift.weight']!.shape = [-8, 1]; }, /params\["edge.lift.weight"\].shape: dimension 0 is -8; dimensions are positive integers/],
  ['batch symbol not first', (d) => { d.tensors.eeg!.shape = [19, 'B', 2560]; }, /dimension 1 is "B"; the batch symbol may only be dimension 0/],
  ['missing attribute', (d) => { delete node(d, 'tcn.layers.0.conv').attrs.dilation; }, /"tcn.layers.0.conv" \(conv1d\): attribute "dilation" is missing/],
  ['extra attribute', (d) => { node(d, 'edge.softplus').attrs.beta = 2; }, /"edge.softplus" \(softplus\): unknown attribute "beta" \(this op takes no attributes\)/],
  ['attribute out of range', (d) => { node(d, 'tcn.layers.0.dropout').attrs.p = 1; }, /attribute "p" must be < 1, got 1/],
  ['attribute of the wrong type', (d) => { node(d, 'tcn.layers.0.conv').attrs.bias = 'yes'; }, /attribute "bias" must be true or false, got "yes"/],
  ['parameter missing from node', (d) => { delete node(d, 'edge.project').params.bias; }, /"edge.project" \(linear\).params: parameter "bias" is missing/],
  ['parameter named against the rule', (d) => { node(d, 'edge.project').params.bias = 'edge.lift.weight'; }, /params.bias: named "edge.lift.weight"; parameter names are "<node id>.<role>", here "edge.project.bias"/],
  ['parameter with the wrong shape', (d) => { d.params['head.out.weight']!.shape = [1, 19, 2]; }, /"head.out.weight" is declared \[1, 19, 2\] but the op needs \[1, 19, 1\]/],
  ['undeclared parameter', (d) => { delete d.params['head.out.bias']; }, /parameter "head.out.bias" is not declared in "params"/],
  ['unused parameter', (d) => { d.params['ghost.weight'] = { ...d.params['head.out.bias']! }; }, /params\["ghost.weight"\]: declared but no node uses it/],
  ['tensor produced twice', (d) => { node(d, 'tcn.layers.1.relu').outputs = ['tcn.layers.0.relu']; }, /tensor "tcn.layers.0.relu" is already produced by an earlier node/],
  ['output never produced', (d) => { d.outputs = ['logits', 'probabilities']; }, /outputs\[1\]: tensor "probabilities" is never produced/],
  ['declared tensor nobody produces', (d) => { d.tensors.orphan = { shape: ['B', 1] }; }, /tensors\["orphan"\]: declared but neither a graph input nor produced by any node/],
  ['buffer values of the wrong length', (d) => { d.buffers['pe.value']!.values.pop(); }, /buffers\["pe.value"\].values: 303 values for shape \[19, 16\] \(needs 304\)/],
  ['mamba2 heads that do not divide', (d) => { const n = node(d, 'node.layers.0.fwd'); n.attrs.headdim = 5; }, /d_inner = expand \* d_model = 32 is not a multiple of headdim 5/],
  ['reshape that changes the element count', (d) => { node(d, 'electrodes.view').attrs.shape = ['B', 19, 16, 161]; }, /changes the element count per batch item \(48640 vs 48944\)/],
  ['unknown init rule', (d) => { d.params['head.out.bias']!.init = { dist: 'normal', std: 1 } as never; }, /params\["head.out.bias"\].init.dist: unknown init "normal"/],
];

describe('malformed IR documents are refused with a precise message', () => {
  it(`has at least ten cases (${MALFORMED.length})`, () => expect(MALFORMED.length).toBeGreaterThanOrEqual(10));
  it.each(MALFORMED)('%s', (_what, breakIt, message) => {
    const d = doc();
    const r = breakIt(d);
    const input = typeof r === 'string' ? r : JSON.stringify(d);
    expect(() => parseIr(input)).toThrow(message);
  });
  it('the unbroken document loads (the cases above fail for their own reason only)', () => {
    expect(() => parseIr(JSON.stringify(doc()))).not.toThrow();
  });
});
