/**
 * Test doubles for the deploy strategies (test-only: the product has no fake provider): a provider
 * implementing the deploy verbs that records every call, a clock whose sleep advances time at
 * once, and a run that records its phases and events.
 */
import type {Clock} from '../../../src/core/clock.js';
import type {DeployContext, DeployProvider, DeployRun, SmokeGate} from '../../../src/core/deploy/strategy.js';
import type {HealthReport, InstanceRef, ReleaseInstance, ReleaseSpec} from '../../../src/providers/provider.js';

export function instance(launchId: string, over: Partial<ReleaseInstance> = {}): ReleaseInstance {
  return {
    provider: 'docker-local', id: `c-${launchId}`, env: 'main', launchId, release: `rel-${launchId}`, database: 'shop-main',
    url: `http://127.0.0.1:80${launchId.slice(-2)}`, port: 8000, startedAt: `2026-01-01T00:00:${launchId.slice(-2)}Z`,
    state: 'running', routed: false, labels: {}, ...over,
  };
}

export const spec = (launchId = 'L02'): ReleaseSpec => ({
  env: 'main', envType: 'production', release: `rel-${launchId}`, launchId, database: 'shop-main',
  code: {version: '17.0', image: 'odoo:17.0', addonsPaths: []},
});

export interface Script {
  /** Health answer for the n-th probe (0-based) of a launch; default healthy. */
  health?: (launchId: string, n: number) => HealthReport;
  /** An error for a call (e.g. 'route main -> L02') to throw; startRelease creates the instance first, like a half-done launch. */
  fail?: (call: string) => Error | undefined;
  /** Called before a verb runs (e.g. to fire an abort). */
  before?: (call: string) => void;
}

export class RecordingProvider implements DeployProvider {
  readonly name = 'docker-local' as const;
  readonly calls: string[] = [];
  /** Signals the verbs received, by call. */
  readonly signals: {call: string; aborted: boolean}[] = [];
  readonly instances: ReleaseInstance[];
  readonly #probes = new Map<string, number>();

  constructor(instances: ReleaseInstance[] = [], private readonly script: Script = {}) {
    this.instances = instances.map((i) => ({...i}));
  }

  #record(call: string, signal: AbortSignal): void {
    this.calls.push(call);
    this.signals.push({call, aborted: signal.aborted});
    this.script.before?.(call);
    const err = call.startsWith('startRelease') ? undefined : this.script.fail?.(call);
    if (err) throw err;
  }

  async list(filter: {env?: string}, signal: AbortSignal): Promise<readonly ReleaseInstance[]> {
    this.#record(`list ${filter.env ?? '*'}`, signal);
    return this.instances.filter((i) => filter.env === undefined || i.env === filter.env).map((i) => ({...i}));
  }

  async startRelease(s: ReleaseSpec, signal: AbortSignal): Promise<ReleaseInstance> {
    this.#record(`startRelease ${s.launchId}`, signal);
    let found = this.instances.find((i) => i.launchId === s.launchId);
    if (!found) {
      found = instance(s.launchId, {env: s.env, release: s.release, database: s.database});
      this.instances.push(found);
    }
    const err = this.script.fail?.(`startRelease ${s.launchId}`);
    if (err) throw err;
    return {...found};
  }

  async health(ref: InstanceRef, signal: AbortSignal): Promise<HealthReport> {
    this.#record(`health ${ref.launchId}`, signal);
    const n = this.#probes.get(ref.launchId) ?? 0;
    this.#probes.set(ref.launchId, n + 1);
    return this.script.health?.(ref.launchId, n) ?? {healthy: true, alive: true};
  }

  async route(env: string, ref: InstanceRef, signal: AbortSignal): Promise<{readonly url: string}> {
    this.#record(`route ${env} -> ${ref.launchId}`, signal);
    for (const i of this.instances) if (i.env === env) (i as {routed: boolean}).routed = i.launchId === ref.launchId;
    return {url: `http://${env}.shop.localhost`};
  }

  async stop(ref: InstanceRef, signal: AbortSignal): Promise<{readonly stopped: boolean}> {
    this.#record(`stop ${ref.launchId}`, signal);
    this.#set(ref, {state: 'stopped'});
    return {stopped: true};
  }

  async remove(ref: InstanceRef, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    this.#record(`remove ${ref.launchId}`, signal);
    const at = this.instances.findIndex((i) => i.launchId === ref.launchId);
    if (at >= 0) this.instances.splice(at, 1);
    return {removed: at >= 0};
  }

  #set(ref: InstanceRef, patch: Partial<ReleaseInstance>): void {
    const at = this.instances.findIndex((i) => i.launchId === ref.launchId);
    if (at >= 0) this.instances[at] = {...this.instances[at]!, ...patch};
  }

  /** Which launch the env's route points at. */
  routed(env = 'main'): string | undefined {
    return this.instances.find((i) => i.env === env && i.routed)?.launchId;
  }
}

/** A clock at t=0 whose sleep advances time instantly; onSleep may throw (or abort) to simulate a failure. */
export class FakeClock implements Clock {
  t = 0;
  readonly sleeps: number[] = [];
  constructor(private readonly onSleep?: (ms: number, signal?: AbortSignal) => void) {}
  now(): Date {
    return new Date(this.t);
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    this.onSleep?.(ms, signal);
    if (signal?.aborted) throw signal.reason;
    this.t += ms;
  }
}

/** A run that records `<phase>:start|done|fail` and events. */
export class RecordingRun implements DeployRun {
  readonly phases: string[] = [];
  readonly events: {level: string; message: string}[] = [];
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.phases.push(`${name}:start`);
    try {
      const out = await fn();
      this.phases.push(`${name}:done`);
      return out;
    } catch (err) {
      this.phases.push(`${name}:fail`);
      throw err;
    }
  }
  async event(level: string, message: string): Promise<void> {
    this.events.push({level, message});
  }
}

/** A smoke gate that records its call in the provider's call log and fails when told. */
export function recordingSmoke(provider: RecordingProvider, failure?: Error): SmokeGate {
  return async (i) => {
    provider.calls.push(`smoke ${i.launchId}`);
    if (failure) throw failure;
  };
}

export function context(provider: RecordingProvider, over: Partial<DeployContext> = {}): DeployContext & {run: RecordingRun; clock: FakeClock} {
  return {
    provider,
    spec: spec(),
    run: new RecordingRun(),
    clock: new FakeClock(),
    signal: new AbortController().signal,
    smoke: recordingSmoke(provider),
    timings: {healthTimeoutMs: 1000, healthIntervalMs: 250, drainMs: 5000},
    ...over,
  } as DeployContext & {run: RecordingRun; clock: FakeClock};
}
