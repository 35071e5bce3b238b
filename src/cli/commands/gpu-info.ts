import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { f16Hint, useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { Engine } from '../../engine/engine.ts';

const HELP = `ictal gpu-info [--json]
  The WebGPU adapter Dawn finds here: name, driver, the Dawn toggles Ictal sets (and why), features, limits.`;

export const gpuInfo: Command = {
  name: 'gpu-info',
  summary: 'the WebGPU adapter, its features and limits',
  async run(argv) {
    const { values } = parseOptions('gpu-info', argv, { json: { type: 'boolean' }, help: { type: 'boolean' } });
    if (values.help) return console.log(HELP), 0;
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    const i = await engine.gpuInfo().finally(() => engine.dispose());
    if (values.json) {
      console.log(JSON.stringify(i, null, 2));
    } else {
      console.log(`adapter   ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ')}`);
      console.log(`driver    ${i.driver}`);
      console.log(`features  ${i.adapterFeatures.join(', ')}`);
      console.log(`in use    ${i.features.join(', ') || '(none)'}`);
      const hint = f16Hint(i);
      if (hint) console.log(`f16       ${hint}`);
      console.log('toggles');
      for (const t of i.toggles) console.log(`  ${t.state === 'enabled' ? '+' : '-'} ${t.name.padEnd(30)} ${t.why}`);
      console.log('limits');
      for (const [k, v] of Object.entries(i.limits)) console.log(`  ${k.padEnd(44)} ${v}`);
    }
    return 0;
  },
};
