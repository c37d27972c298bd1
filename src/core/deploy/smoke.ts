/**
 * The smoke gate a new release passes before it gets traffic: Odoo's /web/health answers 200, an
 * Odoo page (/web/login) answers 200 HTML, an asset that page references answers 200, and, for a
 * production deploy, no module is left pending ('to upgrade', 'to install', 'to remove': an
 * update that did not finish). HTTP and the module query are injected; the checks' logic is pure.
 */
import {InternalError, InterruptedError, ProviderError} from '../errors.js';
import type {DatabaseHandle, EnvironmentType, ReleaseInstance} from '../../providers/provider.js';
import type {SmokeGate} from './strategy.js';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** One GET; rejects when nothing answers (refused, reset, timeout). */
export type HttpGet = (url: string, signal: AbortSignal) => Promise<HttpAnswer>;

export interface ModuleState {
  readonly name: string;
  readonly state: string;
}

/** The modules of a database whose state is one of PENDING_MODULE_STATES. */
export type PendingModulesQuery = (database: string, signal: AbortSignal) => Promise<readonly ModuleState[]>;

export const PENDING_MODULE_STATES = ['to upgrade', 'to install', 'to remove'] as const;

export type SmokeCheckName = 'health' | 'page' | 'asset' | 'modules';

export interface SmokeCheckResult {
  readonly check: SmokeCheckName;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SmokeOptions {
  readonly http: HttpGet;
  readonly envType: EnvironmentType;
  /** Required for production deploys. */
  readonly pendingModules?: PendingModulesQuery;
  /** The Odoo page to load (default /web/login). */
  readonly pagePath?: string;
}

type Target = Pick<ReleaseInstance, 'url' | 'database'>;

/** Runs every check (the asset check only when the page answered) and returns their results. */
export async function runSmokeChecks(target: Target, opts: SmokeOptions, signal: AbortSignal): Promise<SmokeCheckResult[]> {
  const base = target.url.replace(/\/+$/, '');
  const get = async (path: string): Promise<HttpAnswer | string> => {
    try {
      return await opts.http(new URL(path, `${base}/`).toString(), signal);
    } catch (err) {
      if (signal.aborted) throw new InterruptedError('interrupted during the smoke check', {cause: err});
      return `no answer: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  const results: SmokeCheckResult[] = [checkHealth(await get('/web/health'))];
  const pagePath = opts.pagePath ?? '/web/login';
  const page = await get(pagePath);
  results.push(checkPage(pagePath, page));
  if (typeof page !== 'string' && results.at(-1)!.ok) {
    const asset = findAssetPath(page.body);
    results.push(asset ? checkAsset(asset, await get(asset)) : {check: 'asset', ok: false, detail: `${pagePath} references no /web/assets/ bundle`});
  }
  if (opts.envType === 'production') {
    if (!opts.pendingModules) throw new InternalError('a production smoke check needs a pending-modules query');
    results.push(checkModules(await opts.pendingModules(target.database, signal)));
  }
  return results;
}

/** A SmokeGate for a strategy: throws ProviderError listing every failed check. */
export function smokeGate(opts: SmokeOptions): SmokeGate {
  if (opts.envType === 'production' && !opts.pendingModules) throw new InternalError('a production smoke gate needs a pending-modules query');
  return async (instance, signal) => {
    const results = await runSmokeChecks(instance, opts, signal);
    const failed = results.filter((r) => !r.ok);
    if (failed.length === 0) return;
    throw new ProviderError(`smoke check of ${instance.release} (${instance.launchId}) failed: ${failed.map((r) => `${r.check}: ${r.detail}`).join('; ')}`, {
      data: {checks: results},
      actions: [`odoo-sh-next logs --env ${instance.env}`],
    });
  };
}

// ---------------------------------------------------------------- pure checks

function describe(answer: HttpAnswer | string): string {
  return typeof answer === 'string' ? answer : `HTTP ${answer.status}`;
}

export function checkHealth(answer: HttpAnswer | string): SmokeCheckResult {
  const ok = typeof answer !== 'string' && answer.status === 200;
  return {check: 'health', ok, detail: ok ? '/web/health answered 200' : `/web/health: ${describe(answer)}`};
}

export function checkPage(path: string, answer: HttpAnswer | string): SmokeCheckResult {
  if (typeof answer === 'string' || answer.status !== 200) return {check: 'page', ok: false, detail: `${path}: ${describe(answer)}`};
  if (!answer.contentType.includes('text/html')) return {check: 'page', ok: false, detail: `${path}: ${answer.contentType || 'no content type'}, not HTML`};
  return {check: 'page', ok: true, detail: `${path} answered 200 HTML`};
}

export function checkAsset(path: string, answer: HttpAnswer | string): SmokeCheckResult {
  const ok = typeof answer !== 'string' && answer.status === 200;
  return {check: 'asset', ok, detail: `${path}: ${ok ? 'answered 200' : describe(answer)}`};
}

export function checkModules(pending: readonly ModuleState[]): SmokeCheckResult {
  if (pending.length === 0) return {check: 'modules', ok: true, detail: 'no module pending'};
  return {check: 'modules', ok: false, detail: `modules left pending: ${pending.map((m) => `${m.name} (${m.state})`).join(', ')}`};
}

/** The first asset bundle (stylesheet or script) an Odoo page references, as a path. */
export function findAssetPath(html: string): string | undefined {
  const match = /\b(?:href|src)\s*=\s*["']((?:https?:\/\/[^/"']+)?\/web\/assets\/[^"']+)["']/i.exec(html);
  if (!match) return undefined;
  return match[1]!.replace(/^https?:\/\/[^/]+/i, '');
}

// ---------------------------------------------------------------- injected implementations

export const PENDING_MODULES_SQL =
  `select name, state from ir_module_module where state in (${PENDING_MODULE_STATES.map((s) => `'${s}'`).join(', ')}) order by name`;

/** psql argv for the pending-modules query (unaligned, tuples only, tab-separated). */
export function pendingModulesArgv(database: string): string[] {
  return ['-X', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t', '-d', database, '-c', PENDING_MODULES_SQL];
}

export function parseModuleRows(stdout: string): ModuleState[] {
  return stdout.split('\n').filter((line) => line.trim() !== '').map((line) => {
    const [name = '', state = ''] = line.split('\t');
    return {name, state};
  });
}

/** The pending-modules query run through the provider's psql (same server version as the database). */
export function pendingModulesViaPsql(db: Pick<DatabaseHandle, 'runTool'>): PendingModulesQuery {
  return async (database, signal) => parseModuleRows((await db.runTool('psql', pendingModulesArgv(database), {}, signal)).stdout);
}

/** HttpGet over fetch, each request bounded by timeoutMs (redirects are not followed). */
export function fetchHttpGet(timeoutMs: number): HttpGet {
  return async (url, signal) => {
    const res = await fetch(url, {redirect: 'manual', signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])});
    return {status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text()};
  };
}
