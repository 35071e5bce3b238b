// Prints what the GPU suites really ran: kernel cases per precision and adapter, and the browser suite.
// Under CI=true it fails when no f16-native kernel case ran or the browser suite did not run.
import { existsSync, readFileSync } from 'node:fs';

const ci = Boolean(process.env.CI) && process.env.CI !== 'false';
const lines = (file) => (file && existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

const kernel = lines(process.env.ICTAL_KERNEL_LOG);
const byKey = new Map();
for (const r of kernel) {
  const key = `${r.precision} on ${r.adapter}`;
  byKey.set(key, (byKey.get(key) ?? 0) + 1);
}
console.log('\n== GPU test summary');
for (const [key, n] of byKey) console.log(`  kernel cases run in Node: ${n} ${key}`);
const f16 = kernel.filter((r) => r.precision === 'f16').length;
console.log(`  f16-native kernel tests run: ${f16}${f16 ? ` (adapter ${kernel.find((r) => r.precision === 'f16').adapter})` : ''}`);

const browser = lines(process.env.ICTAL_BROWSER_LOG);
for (const b of browser) console.log(`  browser suite: ${b.suite} in ${b.browser}: ${b.cases} cases (${b.precisions.join(', ')}), adapter ${b.adapter}`);
if (browser.length === 0) console.log('  browser suite: did not run');

if (ci && f16 === 0) { console.error('CI: no f16-native kernel test ran'); process.exit(1); }
if (ci && browser.length === 0 && existsSync('test/browser')) { console.error('CI: the browser suite did not run'); process.exit(1); }
