import {describe, expect, it} from 'vitest';
import {
  findAssetPath, parseModuleRows, pendingModulesArgv, pendingModulesViaPsql, runSmokeChecks, smokeGate, type HttpAnswer, type HttpGet,
} from '../../../src/core/deploy/smoke.js';
import {InternalError, InterruptedError, ProviderError} from '../../../src/core/errors.js';
import {instance} from './deploy-doubles.js';

const LOGIN = '<html><head><link type="text/css" rel="stylesheet" href="/web/assets/1a2b/web.assets_frontend.min.css"/></head></html>';
const ok = (contentType: string, body = ''): HttpAnswer => ({status: 200, contentType, body});

/** Answers by path; records the URLs asked. */
function http(routes: Record<string, HttpAnswer | Error>): HttpGet & {asked: string[]} {
  const asked: string[] = [];
  const get = async (url: string) => {
    asked.push(url);
    const answer = routes[new URL(url).pathname] ?? {status: 404, contentType: 'text/html', body: ''};
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return Object.assign(get, {asked});
}

const healthy = {
  '/web/health': ok('application/json', '{"status": "pass"}'),
  '/web/login': ok('text/html; charset=utf-8', LOGIN),
  '/web/assets/1a2b/web.assets_frontend.min.css': ok('text/css'),
};
const target = instance('L02', {url: 'http://127.0.0.1:8069/'});
const signal = new AbortController().signal;

describe('smoke gate', () => {
  it('checks health, an Odoo page and an asset that page references', async () => {
    const h = http(healthy);
    expect(await runSmokeChecks(target, {http: h, envType: 'preview'}, signal)).toEqual([
      {check: 'health', ok: true, detail: '/web/health answered 200'},
      {check: 'page', ok: true, detail: '/web/login answered 200 HTML'},
      {check: 'asset', ok: true, detail: '/web/assets/1a2b/web.assets_frontend.min.css: answered 200'},
    ]);
    expect(h.asked).toEqual(['http://127.0.0.1:8069/web/health', 'http://127.0.0.1:8069/web/login', 'http://127.0.0.1:8069/web/assets/1a2b/web.assets_frontend.min.css']);
  });

  it.each([
    ['health 500', {'/web/health': {status: 500, contentType: 'application/json', body: ''}}, /health: \/web\/health: HTTP 500/],
    ['page 500', {'/web/login': {status: 500, contentType: 'text/html', body: ''}}, /page: \/web\/login: HTTP 500/],
    ['page not HTML', {'/web/login': ok('application/json', '{}')}, /page: \/web\/login: application\/json, not HTML/],
    ['page without assets', {'/web/login': ok('text/html', '<html></html>')}, /asset: \/web\/login references no \/web\/assets\/ bundle/],
    ['asset 500', {'/web/assets/1a2b/web.assets_frontend.min.css': {status: 500, contentType: 'text/html', body: ''}}, /asset: .*HTTP 500/],
    ['port closed', {'/web/health': new Error('connect ECONNREFUSED 127.0.0.1:8069')}, /health: \/web\/health: no answer: connect ECONNREFUSED/],
  ] as const)('refuses a release: %s', async (_name, override, message) => {
    const gate = smokeGate({http: http({...healthy, ...override}), envType: 'staging'});
    const err = await gate(target, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(message);
    expect((err as ProviderError).data?.['checks']).toBeInstanceOf(Array);
  });

  it('production: no module may be left pending', async () => {
    const asked: string[] = [];
    const gate = smokeGate({
      http: http(healthy), envType: 'production',
      pendingModules: async (db) => (asked.push(db), [{name: 'sale', state: 'to upgrade'}]),
    });
    await expect(gate(target, signal)).rejects.toThrow(/modules: modules left pending: sale \(to upgrade\)/);
    expect(asked).toEqual(['shop-main']);
    await expect(smokeGate({http: http(healthy), envType: 'production', pendingModules: async () => []})(target, signal)).resolves.toBeUndefined();
  });

  it('production without a module query is a bug', () => {
    expect(() => smokeGate({http: http(healthy), envType: 'production'})).toThrow(InternalError);
  });

  it('an abort during a request is an interruption, not a failed check', async () => {
    const ac = new AbortController();
    const get: HttpGet = async () => {
      ac.abort();
      throw new Error('aborted');
    };
    await expect(runSmokeChecks(target, {http: get, envType: 'preview'}, ac.signal)).rejects.toBeInstanceOf(InterruptedError);
  });

  it('finds the first asset bundle of a page', () => {
    expect(findAssetPath(LOGIN)).toBe('/web/assets/1a2b/web.assets_frontend.min.css');
    expect(findAssetPath('<script src="http://x.localhost/web/assets/9/web.assets_frontend_minimal.min.js"></script>')).toBe('/web/assets/9/web.assets_frontend_minimal.min.js');
    expect(findAssetPath('<link href="/web/static/img/favicon.ico"/>')).toBeUndefined();
  });

  it('queries pending modules through the provider psql', async () => {
    const calls: unknown[] = [];
    const query = pendingModulesViaPsql({runTool: async (tool, argv) => (calls.push([tool, argv]), {stdout: 'sale\tto upgrade\nstock\tto install\n', stderr: ''})});
    expect(await query('shop-main', signal)).toEqual([{name: 'sale', state: 'to upgrade'}, {name: 'stock', state: 'to install'}]);
    expect(calls).toEqual([['psql', pendingModulesArgv('shop-main')]]);
    expect(pendingModulesArgv('db1')).toEqual([
      '-X', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t', '-d', 'db1', '-c',
      "select name, state from ir_module_module where state in ('to upgrade', 'to install', 'to remove') order by name",
    ]);
    expect(parseModuleRows('')).toEqual([]);
  });
});
