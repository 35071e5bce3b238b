// Compiled pipelines keyed by shader file, entry point, precision and defines: each variant compiles once.
import { type Defines, preprocessShader } from './shader-preprocessor.ts';
import type { Precision } from './precision.ts';
import { GpuOperationError } from './errors.ts';

/** A WGSL file as loaded with `import source from '.../x.wgsl?raw'`. */
export interface ShaderFile {
  name: string;
  source: string;
}

export interface PipelineKey {
  shader: ShaderFile;
  entry: string;
  precision: Precision;
  defines?: Defines;
  /** Values for `override` constants (e.g. workgroup size). */
  constants?: Record<string, number>;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  constructor(readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(key: PipelineKey): Promise<GPUComputePipeline> {
    const id = JSON.stringify([key.shader.name, key.entry, key.precision, key.defines ?? {}, key.constants ?? {}]);
    let p = this.pipelines.get(id);
    if (!p) {
      p = this.compile(key);
      this.pipelines.set(id, p);
      p.catch(() => this.pipelines.delete(id));
    }
    return p;
  }

  private async compile(key: PipelineKey): Promise<GPUComputePipeline> {
    const what = `${key.shader.name}:${key.entry} (${key.precision})`;
    const code = preprocessShader(key.shader.source, key.precision, key.defines, key.shader.name);
    const module = this.device.createShaderModule({ code, label: what });
    try {
      return await this.device.createComputePipelineAsync({
        label: what,
        layout: 'auto',
        compute: { module, entryPoint: key.entry, constants: key.constants },
      });
    } catch (e) {
      const info = await module.getCompilationInfo();
      const errors = info.messages
        .filter((m) => m.type === 'error')
        .map((m) => `  line ${m.lineNum}:${m.linePos}: ${m.message}\n    ${code.split('\n')[m.lineNum - 1] ?? ''}`);
      throw new GpuOperationError(`compile ${what}`, 'validation', errors.length ? `\n${errors.join('\n')}` : (e as Error).message);
    }
  }
}
