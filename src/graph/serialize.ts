// IR text form: JSON with two-space indentation and a trailing newline. JSON numbers round-trip doubles
// exactly, so serialize(parse(serialize(ir))) === serialize(ir).
import type { IrDocument } from './ir.ts';

export function serializeIr(ir: IrDocument): string {
  return JSON.stringify(ir, null, 2) + '\n';
}
