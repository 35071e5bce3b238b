// The DSL's core: declare tensors and nodes; every node is shape-checked the moment it is added, so a wiring
// mistake is reported at the module that makes it.
import type { Attrs, IrBuffer, IrDocument, IrNode, IrParam, Shape } from './ir.ts';
import { IR_VERSION, numel } from './ir.ts';
import { checkAttrs } from './attrs.ts';
import { opSpec } from './ops.ts';
import { GraphError } from './errors.ts';

export interface NodeOptions {
  /** Name of the output tensor (default: the node id). */
  output?: string;
  /** Buffer contents by role, for ops that own buffers. */
  buffers?: Record<string, number[]>;
}

export class GraphBuilder {
  private readonly tensors: Record<string, { shape: Shape }> = {};
  private readonly params: Record<string, IrParam> = {};
  private readonly buffers: Record<string, IrBuffer> = {};
  private readonly nodes: IrNode[] = [];
  private readonly inputs: string[] = [];
  private readonly ids = new Set<string>();

  constructor(
    readonly name: string,
    private readonly config: Attrs,
  ) {}

  input(name: string, shape: Shape): string {
    this.declare(name, shape, `input "${name}"`);
    this.inputs.push(name);
    return name;
  }

  shapeOf(tensor: string): Shape {
    const t = this.tensors[tensor];
    if (!t) throw new GraphError(`no tensor "${tensor}"`);
    return [...t.shape];
  }

  /** Adds a node; returns its output tensor's name. */
  node(id: string, op: string, inputs: string[], attrs: Attrs = {}, options: NodeOptions = {}): string {
    const where = `${id} (${op})`;
    if (this.ids.has(id)) throw new GraphError(`${where}: duplicate node id`);
    const spec = opSpec(op, where);
    checkAttrs(where, spec.attrs, attrs);
    if (spec.inputs === 'many' ? inputs.length === 0 : inputs.length !== spec.inputs) {
      throw new GraphError(`${where}: takes ${spec.inputs === 'many' ? 'at least 1' : spec.inputs} input(s), got ${inputs.length}`);
    }
    const shape = spec.infer(attrs, inputs.map((t) => this.shapeOf(t)), where);
    const output = options.output ?? id;
    const node: IrNode = { id, op, inputs: [...inputs], outputs: [output], attrs, params: {}, buffers: {} };
    for (const [role, p] of Object.entries(spec.params(attrs))) {
      const name = `${id}.${role}`;
      const init = p.init.dist === 'weight_norm_g' ? { ...p.init, of: `${id}.${p.init.of}` } : p.init;
      this.params[name] = { shape: p.shape, dtype: 'F32', weight_decay: p.weight_decay, init };
      node.params[role] = name;
    }
    for (const [role, bshape] of Object.entries(spec.buffers?.(attrs) ?? {})) {
      const values = options.buffers?.[role];
      if (!values || values.length !== numel(bshape)) throw new GraphError(`${where}: buffer "${role}" needs ${numel(bshape)} values, got ${values?.length ?? 'none'}`);
      const name = `${id}.${role}`;
      this.buffers[name] = { shape: bshape, dtype: 'F32', values: [...values] };
      node.buffers[role] = name;
    }
    this.declare(output, shape, where);
    this.ids.add(id);
    this.nodes.push(node);
    return output;
  }

  build(outputs: string[]): IrDocument {
    for (const o of outputs) this.shapeOf(o);
    return {
      ictal_ir: IR_VERSION, name: this.name, config: this.config, inputs: [...this.inputs], outputs: [...outputs],
      tensors: this.tensors, params: this.params, buffers: this.buffers, nodes: this.nodes,
    };
  }

  private declare(name: string, shape: Shape, where: string): void {
    if (Object.hasOwn(this.tensors, name)) throw new GraphError(`${where}: tensor "${name}" is already defined`);
    this.tensors[name] = { shape: [...shape] };
  }
}
