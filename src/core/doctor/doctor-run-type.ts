/**
 * The `doctor` run type: checks what odoo-sh-next needs on this machine, one phase and one event
 * per check. The run fails (ProviderError, the checks in its data) when any check fails; its
 * result lists every check.
 */
import type pg from 'pg';
import {ProviderError} from '../errors.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import {checkDocker, checkPgBinaries, checkProvider, checkStateDb, realProbes, usesDocker, type DoctorConfig, type DoctorProbes} from './doctor-checks.js';
import {eventLevelFor, summarizeChecks, type CheckResult, type DoctorSummary} from './doctor-report.js';

export interface DoctorResult {
  readonly [key: string]: unknown;
  readonly checks: readonly CheckResult[];
  readonly summary: DoctorSummary;
}

class CheckFailed extends Error {}

export function doctorRunType(deps: {readonly pool: pg.Pool; readonly config: DoctorConfig; readonly probes?: DoctorProbes}): RunTypeHandler {
  return {
    type: 'doctor',
    summary: 'Check the state database, PostgreSQL binaries, Docker and the provider settings',
    timeoutMs: 60_000,
    async execute(ctx: RunContext): Promise<DoctorResult> {
      const probes = deps.probes ?? realProbes(deps.pool);
      const plan: ReadonlyArray<readonly [string, () => Promise<CheckResult | undefined>]> = [
        ['state-db', () => checkStateDb(probes)],
        ['postgres-binaries', () => checkPgBinaries(deps.config, probes)],
        ['docker', () => checkDocker(deps.config, probes)],
        ['provider', () => checkProvider(deps.config, probes)],
      ];
      const checks: CheckResult[] = [];
      for (const [name, run] of plan) {
        if (name === 'docker' && !usesDocker(deps.config.provider.name)) continue;
        try {
          await ctx.phase(name, async () => {
            const result = await run();
            if (!result) return;
            checks.push(result);
            await ctx.event(eventLevelFor(result.status), result.detail, {check: result.name, status: result.status, actions: result.actions});
            if (result.status === 'fail') throw new CheckFailed(result.detail);
          });
        } catch (err) {
          if (!(err instanceof CheckFailed)) throw err;
        }
        ctx.signal.throwIfAborted();
      }
      const summary = summarizeChecks(checks);
      if (summary.fail > 0) {
        throw new ProviderError(`${summary.fail} of ${checks.length} doctor checks failed: ${summary.failed.join(', ')}`, {
          actions: checks.filter((c) => c.status === 'fail').flatMap((c) => c.actions),
          data: {checks, summary},
        });
      }
      return {checks, summary};
    },
  };
}
