// Bundles test/kernels/run-cases.ts into one file, out/run-cases/run-cases.mjs, for a GPU machine with Node (or
// the devkit's Node) but no node_modules; Dawn is loaded from out/run-cases/dist/linux-x64/dawn.node there:
//   here:  node test/kernels/bundle-run-cases.mjs && bash ../shared/tools/devkit.sh
//   there: source .devkit/bootstrap.sh; mkdir -p out/run-cases/dist/linux-x64
//          xz -dc .devkit/dawn.node.xz > out/run-cases/dist/linux-x64/dawn.node; node out/run-cases/run-cases.mjs
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
await build({
  configFile: false,
  root,
  publicDir: false,
  logLevel: 'warn',
  ssr: { noExternal: true, target: 'node' },
  build: {
    ssr: true,
    outDir: 'out/run-cases',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    rollupOptions: { input: 'test/kernels/run-cases.ts', output: { format: 'es', entryFileNames: 'run-cases.mjs', codeSplitting: false } },
  },
});
console.log('bundle-run-cases: out/run-cases/run-cases.mjs');
