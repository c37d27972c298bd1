/**
 * One probe of Odoo's `GET /web/health` on a running instance, the same for every provider: 200
 * is healthy; another status or no answer within 3 s is reported (alive, not healthy), with the
 * instance's last log lines when it answered at all. An aborted signal throws InterruptedError.
 */
import {InterruptedError} from '../core/errors.js';
import type {HealthReport} from './provider.js';

const PROBE_TIMEOUT_MS = 3000;

export async function probeWebHealth(baseUrl: string, signal: AbortSignal, logTail: () => Promise<readonly string[]>): Promise<HealthReport> {
  try {
    const res = await fetch(`${baseUrl}/web/health`, {signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]), redirect: 'manual'});
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 200) return {healthy: true, alive: true};
    return {healthy: false, alive: true, reason: `GET /web/health answered HTTP ${res.status}`, logTail: await logTail()};
  } catch (err) {
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    const cause = (err as {cause?: {code?: string}}).cause?.code ?? (err as Error).name;
    return {healthy: false, alive: true, reason: `GET /web/health failed (${cause})`};
  }
}
