#!/usr/bin/env node
// The `ictal` command: runs the TypeScript CLI directly (tsx), with WGSL files importable as text.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

// `ictal edf-info F | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
registerTsx();
register('./wgsl-hook.mjs', import.meta.url);
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
