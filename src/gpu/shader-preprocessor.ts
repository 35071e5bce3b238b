/**
 * The WGSL preprocessor: one source, three precision variants. Small and explicit on purpose.
 *
 * Directives (whole lines):
 *   //#if NAME | //#if !NAME     keep the block when the define is (not) set
 *   //#else, //#endif
 *   //#tensor B NAME read|read_write [f32|u32|i32]
 *       declares storage binding B of group 0 named NAME with accessors:
 *         NAME_ld(i: u32) -> act              element i (flat index in the tensor's physical layout)
 *         NAME_st2(i, v0: act, v1: act, second: bool)   (read_write) elements i and i + 1, i even; the
 *                                              invocation owns both (a packed u32 word); `second` false
 *                                              skips i + 1 where the row ends (f32 and f16 only: packed
 *                                              rows are padded to even length, so the pad is written).
 *       A trailing element type pins the tensor to that type whatever the precision (stats, indices):
 *         then NAME_ld / NAME_st(i, v) use that type.
 *
 * Global directives (`enable`, `requires`, `diagnostic` lines) are moved to the top, each once: WGSL wants them
 * before any declaration, and a source appended after another (a GEMM core after its operand file) may need its own.
 *
 * Prelude of every variant: `act` is the arithmetic type of element values (f16 in native f16, else f32),
 * `acc` (always f32) is for sums; defines F32, F16_STORAGE or F16 name the mode. `linear_wg` turns a 2-D
 * dispatch grid back into one workgroup index (grids are split to stay under 65,535 per dimension).
 */
import type { Precision } from './precision.ts';

export type Defines = Record<string, boolean | number>;

const PRELUDE_COMMON = `alias acc = f32;
fn linear_wg(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y; }
`;

function prelude(p: Precision): string {
  if (p === 'f16') return `enable f16;\nalias act = f16;\nconst ACT_MAX: f32 = 65504.0;\n${PRELUDE_COMMON}`;
  return `alias act = f32;\nconst ACT_MAX: f32 = 3.4028234e38;\n${PRELUDE_COMMON}`;
}

function modeDefines(p: Precision): Defines {
  return { F32: p === 'f32', F16_STORAGE: p === 'f16-storage', F16: p === 'f16' };
}

function tensorDecl(binding: number, name: string, access: string, fixed: string | undefined, p: Precision): string {
  const mode = access === 'read' ? 'read' : 'read_write';
  if (fixed) {
    let s = `@group(0) @binding(${binding}) var<storage, ${mode}> ${name}: array<${fixed}>;\n`;
    s += `fn ${name}_ld(i: u32) -> ${fixed} { return ${name}[i]; }\n`;
    if (mode === 'read_write') s += `fn ${name}_st(i: u32, v: ${fixed}) { ${name}[i] = v; }\n`;
    return s;
  }
  if (p === 'f16-storage') {
    let s = `@group(0) @binding(${binding}) var<storage, ${mode}> ${name}: array<u32>;\n`;
    s += `fn ${name}_ld(i: u32) -> act { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }\n`;
    if (mode === 'read_write') {
      s += `fn ${name}_st2(i: u32, v0: act, v1: act, second: bool) { ${name}[i >> 1u] = pack2x16float(vec2<f32>(v0, select(0.0, v1, second))); }\n`;
    }
    return s;
  }
  const elem = p === 'f16' ? 'f16' : 'f32';
  let s = `@group(0) @binding(${binding}) var<storage, ${mode}> ${name}: array<${elem}>;\n`;
  s += `fn ${name}_ld(i: u32) -> act { return act(${name}[i]); }\n`;
  if (mode === 'read_write') {
    s += `fn ${name}_st2(i: u32, v0: act, v1: act, second: bool) { ${name}[i] = ${elem}(v0); if (second) { ${name}[i + 1u] = ${elem}(v1); } }\n`;
  }
  return s;
}

const GLOBAL_DIRECTIVE = /^\s*(enable|requires|diagnostic)\b[^;]*;\s*$/;

export class ShaderSyntaxError extends Error {
  override name = 'ShaderSyntaxError';
}

/** Expands one WGSL source into the variant for precision `p`; `file` names it in errors. */
export function preprocessShader(source: string, p: Precision, extra: Defines = {}, file = 'shader'): string {
  const defines: Defines = { ...modeDefines(p), ...extra };
  const head = prelude(p);
  const out: string[] = [head];
  const directives: string[] = [];
  const stack: { keep: boolean; parentKeep: boolean; sawElse: boolean; line: number }[] = [];
  const keeping = () => stack.every((f) => f.keep);
  const lines = source.split('\n');
  lines.forEach((line, idx) => {
    const at = `${file}:${idx + 1}`;
    const m = /^\s*\/\/#(\w+)\s*(.*?)\s*$/.exec(line);
    if (!m) {
      if (!keeping()) return;
      const directive = GLOBAL_DIRECTIVE.test(line) ? line.trim() : undefined;
      if (!directive) out.push(line);
      else if (!directives.includes(directive) && !head.split('\n').includes(directive)) directives.push(directive);
      return;
    }
    const [, directive, arg] = m as unknown as [string, string, string];
    switch (directive) {
      case 'if': {
        const neg = arg.startsWith('!');
        const name = neg ? arg.slice(1) : arg;
        if (!/^\w+$/.test(name)) throw new ShaderSyntaxError(`${at}: //#if takes one define name, got "${arg}"`);
        const value = Boolean(defines[name]);
        stack.push({ keep: neg ? !value : value, parentKeep: keeping(), sawElse: false, line: idx + 1 });
        return;
      }
      case 'else': {
        const top = stack[stack.length - 1];
        if (!top || top.sawElse) throw new ShaderSyntaxError(`${at}: //#else without a matching //#if`);
        top.keep = !top.keep;
        top.sawElse = true;
        return;
      }
      case 'endif':
        if (!stack.pop()) throw new ShaderSyntaxError(`${at}: //#endif without a matching //#if`);
        return;
      case 'tensor': {
        if (!keeping()) return;
        const t = /^(\d+)\s+(\w+)\s+(read|read_write)(?:\s+(f32|u32|i32))?$/.exec(arg);
        if (!t) throw new ShaderSyntaxError(`${at}: //#tensor wants "BINDING NAME read|read_write [f32|u32|i32]", got "${arg}"`);
        out.push(tensorDecl(Number(t[1]), t[2]!, t[3]!, t[4], p));
        return;
      }
      default:
        throw new ShaderSyntaxError(`${at}: unknown directive //#${directive}`);
    }
  });
  if (stack.length) throw new ShaderSyntaxError(`${file}:${stack[stack.length - 1]!.line}: //#if without //#endif`);
  return [...directives, ...out].join('\n');
}
