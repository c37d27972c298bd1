/**
 * The last step of a restore: the environment's Odoo moves to the restored database. A release
 * is started on it (after stopping the running one when the provider cannot run two side by
 * side), checked healthy, routed, and only then is the switch recorded in the state store
 * (commit). Anything failing before commit puts the previous release back (a new launch on the
 * previous database when it had to be stopped), so the environment stays on its old data.
 */
import type {Clock} from '../clock.js';
import {ProviderError} from '../errors.js';
import type {EnvironmentType, OdooCode, Provider, ReleaseInstance} from '../../providers/provider.js';
import {waitHealthy} from '../../providers/provider.js';

export interface SwitchInput {
  readonly provider: Provider;
  readonly env: string;
  readonly envType: EnvironmentType;
  readonly release: string;
  readonly code: OdooCode;
  readonly newDatabase: string;
  readonly previousDatabase: string;
  /** Idempotency key of the new release (a retry finds the same instance). */
  readonly launchId: string;
  readonly clock: Clock;
  readonly healthTimeoutMs: number;
  readonly signal: AbortSignal;
  /** Records the switch (the environment serves newDatabase at url from now on); the point of no return. */
  readonly commit: (url: string) => Promise<void>;
  readonly event: (message: string, payload?: Record<string, unknown>) => Promise<void>;
  /** The previous release was started again (a new instance: its URL may differ) on the previous database. */
  readonly putBack: (url: string) => Promise<void>;
}

export interface SwitchResult {
  readonly url: string;
  readonly launchId: string;
  readonly replaced: readonly string[];
}

/** GET /web/login answers 200 with a login form: Odoo serves pages from the restored database. */
async function smokeLogin(baseUrl: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(new URL('/web/login', baseUrl), {signal, redirect: 'manual'});
  const body = await res.text();
  if (res.status !== 200 || !body.includes('csrf_token')) {
    throw new ProviderError(`the restored database does not serve the login page (HTTP ${res.status})`);
  }
}

export async function switchEnvironment(input: SwitchInput): Promise<SwitchResult> {
  const {provider, env, signal} = input;
  const before = (await provider.list({env}, signal)).filter((i) => i.launchId !== input.launchId);
  const running = before.filter((i) => i.state === 'running');
  const routedBefore = running.find((i) => i.routed) ?? running[0];
  let started: ReleaseInstance | undefined;
  let stopped = false;
  let routed = false;
  let url: string;
  try {
    if (!provider.capabilities.blueGreen && running.length > 0) {
      for (const old of running) await provider.stop(old, signal);
      stopped = true;
      await input.event(`stopped the running Odoo of ${env} (${running.map((i) => i.launchId).join(', ')})`);
    }
    started = await provider.startRelease({
      env, envType: input.envType, release: input.release, launchId: input.launchId, database: input.newDatabase, code: input.code,
    }, signal);
    await waitHealthy(provider, started, {timeoutMs: input.healthTimeoutMs, intervalMs: 100, clock: input.clock, signal});
    await smokeLogin(started.url, signal);
    url = (await provider.route(env, started, signal)).url;
    routed = true;
    await input.commit(url);
  } catch (err) {
    await putBack(input, {started, stopped, routed, previous: routedBefore}).catch(async (rollbackErr: unknown) => {
      await input.event(`could not put the previous Odoo of ${env} back: ${(rollbackErr as Error).message}`).catch(() => undefined);
    });
    throw err;
  }
  // Committed: the environment is on the restored data; what follows is housekeeping.
  await input.event(`${env} now serves ${input.newDatabase} at ${url}`, {url, launchId: input.launchId}).catch(() => undefined);
  const replaced: string[] = [];
  for (const old of before) {
    await provider.remove(old, AbortSignal.timeout(60_000)).then(() => replaced.push(old.launchId), () => undefined);
  }
  return {url, launchId: input.launchId, replaced};
}

/** Undoes a switch that did not commit (runs even when the restore's signal was aborted). */
async function putBack(input: SwitchInput, state: {
  readonly started: ReleaseInstance | undefined; readonly stopped: boolean; readonly routed: boolean; readonly previous: ReleaseInstance | undefined;
}): Promise<void> {
  const signal = AbortSignal.timeout(input.healthTimeoutMs + 60_000);
  const {provider, env} = input;
  if (state.started) await provider.remove(state.started, signal);
  const previous = state.previous;
  if (!previous) return;
  if (!state.stopped) {
    if (state.routed) await provider.route(env, previous, signal);
    return;
  }
  const again = await provider.startRelease({
    env, envType: input.envType, release: previous.release, launchId: `${input.launchId}-back`,
    database: previous.database, code: input.code,
  }, signal);
  await waitHealthy(provider, again, {timeoutMs: input.healthTimeoutMs, clock: input.clock, signal});
  const {url} = await provider.route(env, again, signal);
  await input.putBack(url);
  await provider.remove(previous, signal).catch(() => undefined);
  await input.event(`put the previous Odoo of ${env} back (launch ${again.launchId}, database ${previous.database})`);
}
