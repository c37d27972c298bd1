import {describe, expect, it} from 'vitest';
import type {Clock} from '../../../src/core/clock.js';
import {InterruptedError, ProviderError, TimeoutError} from '../../../src/core/errors.js';
import {ownershipLabels, waitHealthy, type HealthReport, type InstanceRef} from '../../../src/providers/provider.js';

/** A clock whose sleep advances time instantly. */
function fakeClock(): Clock {
  let t = 0;
  return {now: () => new Date(t), sleep: async (ms) => void (t += ms)};
}

const ref: InstanceRef = {provider: 'local', id: 'l1', env: 'main', launchId: 'l1'};
const probe = (reports: HealthReport[]) => {
  let i = 0;
  return {health: async () => reports[Math.min(i++, reports.length - 1)]!};
};

describe('waitHealthy', () => {
  it('returns once a probe is healthy', async () => {
    const p = probe([{healthy: false, alive: true, reason: 'starting'}, {healthy: true, alive: true}]);
    await expect(waitHealthy(p, ref, {timeoutMs: 5000, clock: fakeClock(), signal: new AbortController().signal})).resolves.toEqual({healthy: true, alive: true});
  });

  it('fails fast with the log tail when the instance is not alive', async () => {
    const p = probe([{healthy: false, alive: false, reason: 'exited', logTail: ['boom']}]);
    const err = await waitHealthy(p, ref, {timeoutMs: 5000, clock: fakeClock(), signal: new AbortController().signal}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).data).toEqual({logTail: ['boom']});
  });

  it('times out', async () => {
    const p = probe([{healthy: false, alive: true, reason: 'refused'}]);
    await expect(waitHealthy(p, ref, {timeoutMs: 1000, clock: fakeClock(), signal: new AbortController().signal})).rejects.toBeInstanceOf(TimeoutError);
  });

  it('stops when the signal fires', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(waitHealthy(probe([{healthy: true, alive: true}]), ref, {timeoutMs: 1000, clock: fakeClock(), signal: ac.signal})).rejects.toBeInstanceOf(InterruptedError);
  });
});

describe('ownershipLabels', () => {
  it('labels owned resources', () => {
    expect(ownershipLabels({project: 'shop', env: 'main', release: 'abc', launchId: 'L'})).toEqual({
      'odoo-sh.managed': 'true',
      'odoo-sh.project': 'shop',
      'odoo-sh.env': 'main',
      'odoo-sh.release': 'abc',
      'odoo-sh.launch-id': 'L',
    });
    expect(ownershipLabels({project: 'shop', env: 'main'})).toEqual({'odoo-sh.managed': 'true', 'odoo-sh.project': 'shop', 'odoo-sh.env': 'main'});
  });
});
