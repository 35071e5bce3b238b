// Bundles the `ictal` CLI into one ES module, out/node-bundle/ictal.mjs, for a GPU machine that has Node (or the
// devkit's Node) but no node_modules. The npm `webgpu` package is inlined and loads Dawn from
// out/node-bundle/dist/linux-x64/dawn.node, which the machine provides (see docs/PERFORMANCE.md).
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = 'virtual:ictal-cli';
await build({
  configFile: false,
  root,
  publicDir: false,
  logLevel: 'warn',
  ssr: { noExternal: true, target: 'node' },
  plugins: [{
    name: 'ictal-cli-entry',
    enforce: 'pre',
    resolveId: (id) => (id === entry ? `\0${entry}` : undefined),
    load: (id) => (id === `\0${entry}` ? `import { main } from '/src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n` : undefined),
  }],
  build: {
    ssr: true,
    outDir: 'out/node-bundle',
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    rollupOptions: { input: entry, output: { format: 'es', entryFileNames: 'ictal.mjs', codeSplitting: false } },
  },
});
console.log('bundle-node: out/node-bundle/ictal.mjs');
