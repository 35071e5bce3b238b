// Device-loss recovery for real: a device of the DeviceKeeper is lost, the owner is told what was lost, and the
// next get() gives a new, working device.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { DeviceKeeper, type GpuContext } from '../../src/gpu/device.ts';
import { ComputeSession } from '../../src/gpu/session.ts';
import { describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import { elementwiseCases } from '../kernels/cases/elementwise.cases.ts';

const gpu = await testGpu(); // also installs the Node provider that DeviceKeeper's acquisitions use
const silu = elementwiseCases().find((c) => c.name === 'silu [13,257]')!;

async function assertWorks(ctx: GpuContext): Promise<void> {
  const r = await runKernelCase(new ComputeSession(ctx), silu, 'f32');
  expect(r.pass, describeResult(r)).toBe(true);
}

describe.skipIf(!gpu.session)('DeviceKeeper', () => {
  it('replaces a lost device and tells the owner what was lost', async () => {
    const losses: { reason: string; message: string }[] = [];
    const keeper = new DeviceKeeper({}, (loss) => losses.push(loss));
    const first = await keeper.get();
    expect(await keeper.get()).toBe(first); // one device while it lives
    await assertWorks(first);

    first.device.destroy(); // a loss the keeper did not cause
    const info = await first.device.lost;
    expect(losses).toEqual([{ reason: info.reason, message: info.message }]);
    expect(losses[0]!.reason).toBe('destroyed');
    expect(keeper.lastLoss).toEqual(losses[0]);

    const second = await keeper.get();
    expect(second.device).not.toBe(first.device);
    expect(second.info.description).toBe(first.info.description);
    expect(second.info.features).toEqual(first.info.features);
    await assertWorks(second);

    // The keeper's own destroy() is no loss to report, and the next get() still gives a working device.
    await keeper.destroy();
    await second.device.lost;
    expect(losses).toHaveLength(1);
    const third = await keeper.get();
    expect(third.device).not.toBe(second.device);
    await assertWorks(third);
    await keeper.destroy();
  });
});
