import {describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {ProviderError} from '../../../src/core/errors.js';
import {nullLogger} from '../../../src/core/logger.js';
import {checkDocker, checkPgBinaries, checkProvider, checkStateDb, type DoctorConfig, type DoctorProbes} from '../../../src/core/doctor/doctor-checks.js';
import {doctorRunType} from '../../../src/core/doctor/doctor-run-type.js';
import {summarizeChecks} from '../../../src/core/doctor/doctor-report.js';
import type {Run} from '../../../src/core/run/run-record.js';
import type {RunContext} from '../../../src/core/run/run-types.js';

const probes = (over: Partial<DoctorProbes> = {}): DoctorProbes => ({
  stateDb: async () => ({versionNum: 160004, version: '16.4', migration: {current: 4, latest: 4, pending: [], unknown: []}}),
  findPgBinDir: async () => '/usr/lib/postgresql/16/bin',
  pgVersion: async () => '16.4',
  dockerPing: async () => ({ok: true, apiVersion: '1.45'}),
  executable: async () => 'ok',
  ...over,
});
const config = (over: Partial<DoctorConfig> = {}): DoctorConfig => ({
  odoo: {bin: '/opt/odoo/odoo-bin', image: 'odoo:17.0'},
  provider: {name: 'local'},
  postgres: {},
  state: {},
  ...over,
});

describe('doctor checks', () => {
  it('state-db: ok, too old, pending migrations, unreachable', async () => {
    expect(await checkStateDb(probes())).toMatchObject({status: 'ok', detail: 'PostgreSQL 16.4, migration 4 of 4'});
    expect(await checkStateDb(probes({stateDb: async () => ({versionNum: 120010, version: '12.10', migration: {current: 4, latest: 4, pending: [], unknown: []}})})))
      .toMatchObject({status: 'fail', detail: expect.stringContaining('13 or newer')});
    expect(await checkStateDb(probes({stateDb: async () => ({versionNum: 160000, version: '16.0', migration: {current: 3, latest: 4, pending: [4], unknown: []}})})))
      .toMatchObject({status: 'fail', actions: ['run `odoo-sh-next state migrate`']});
    expect(await checkStateDb(probes({stateDb: async () => Promise.reject(new ProviderError('down', {actions: ['check state.url']}))})))
      .toMatchObject({status: 'fail', detail: expect.stringContaining('down'), actions: ['check state.url']});
  });

  it('postgres-binaries: required for local, optional with a remote state store on other providers', async () => {
    const missing = probes({findPgBinDir: async () => Promise.reject(new ProviderError('no PostgreSQL server binaries', {actions: ['install']}))});
    expect(await checkPgBinaries(config(), probes())).toMatchObject({status: 'ok', detail: 'PostgreSQL 16.4 in /usr/lib/postgresql/16/bin'});
    expect(await checkPgBinaries(config(), missing)).toMatchObject({status: 'fail', actions: ['install']});
    expect(await checkPgBinaries(config({provider: {name: 'docker-local'}, state: {url: 'postgres://x/y'}}), missing)).toMatchObject({status: 'warn'});
    expect(await checkPgBinaries(config({postgres: {version: '15'}}), probes())).toMatchObject({status: 'warn'});
  });

  it('docker: skipped for local/k8s, fail for docker-local, warn for ssh-host when the socket does not answer', async () => {
    const down = probes({dockerPing: async () => ({ok: false, error: 'connect ENOENT /var/run/docker.sock'})});
    expect(await checkDocker(config(), down)).toBeUndefined();
    expect(await checkDocker(config({provider: {name: 'k8s'}}), down)).toBeUndefined();
    expect(await checkDocker(config({provider: {name: 'docker-local'}}), probes())).toMatchObject({status: 'ok', detail: expect.stringContaining('API 1.45')});
    expect(await checkDocker(config({provider: {name: 'docker-local', docker: {socketPath: '/tmp/d.sock'}}}), down)).toMatchObject({status: 'fail', detail: expect.stringContaining('/tmp/d.sock')});
    expect(await checkDocker(config({provider: {name: 'ssh-host', ssh: {host: 'h'}}}), down)).toMatchObject({status: 'warn'});
  });

  it('provider: local needs an executable odoo.bin; others say what is configured', async () => {
    expect(await checkProvider(config(), probes())).toMatchObject({status: 'ok'});
    expect(await checkProvider(config({odoo: {}}), probes())).toMatchObject({status: 'fail', detail: 'local: odoo.bin is not set'});
    expect(await checkProvider(config(), probes({executable: async () => 'missing'}))).toMatchObject({status: 'fail', detail: expect.stringContaining('does not exist')});
    expect(await checkProvider(config(), probes({executable: async () => 'not-executable'}))).toMatchObject({status: 'fail', actions: ['chmod +x /opt/odoo/odoo-bin']});
    expect(await checkProvider(config({provider: {name: 'ssh-host', ssh: {host: 'srv', user: 'odoo', port: 2222}}}), probes()))
      .toMatchObject({status: 'ok', detail: expect.stringContaining('odoo@srv:2222')});
    expect(await checkProvider(config({provider: {name: 'k8s', k8s: {namespace: 'ns'}}}), probes())).toMatchObject({status: 'ok', detail: expect.stringContaining('namespace ns')});
  });

  it('summarizes to the worst status', () => {
    expect(summarizeChecks([{name: 'a', status: 'ok', detail: '', actions: []}, {name: 'b', status: 'warn', detail: '', actions: []}])).toMatchObject({status: 'warn', fail: 0});
    expect(summarizeChecks([{name: 'a', status: 'fail', detail: '', actions: []}])).toMatchObject({status: 'fail', failed: ['a']});
  });
});

function fakeContext(): {ctx: RunContext; events: {level: string; message: string; phase: string | null}[]} {
  const events: {level: string; message: string; phase: string | null}[] = [];
  let phase: string | null = null;
  const ctx: RunContext = {
    run: {id: '1', type: 'doctor'} as Run,
    attempt: 1,
    workerId: 'w',
    signal: new AbortController().signal,
    clock: systemClock,
    logger: nullLogger,
    async phase(name, fn) {
      phase = name;
      try {
        return await fn();
      } finally {
        phase = null;
      }
    },
    async event(level, message) {
      events.push({level, message, phase});
    },
    async saveLog(name) {
      return {id: '1', name, sizeBytes: 0, sha256: '', truncated: false};
    },
  };
  return {ctx, events};
}

describe('doctor run type', () => {
  it('records one event per check in its phase and returns the checks', async () => {
    const {ctx, events} = fakeContext();
    const result = await doctorRunType({pool: undefined as never, config: config(), probes: probes()}).execute(ctx);
    expect(result).toMatchObject({summary: {status: 'ok', ok: 3}});
    expect(events.map((e) => [e.phase, e.level])).toEqual([['state-db', 'info'], ['postgres-binaries', 'info'], ['provider', 'info']]);
  });

  it('fails with ProviderError carrying every check when one fails, after running all checks', async () => {
    const {ctx, events} = fakeContext();
    const run = doctorRunType({pool: undefined as never, config: config({provider: {name: 'docker-local'}}), probes: probes({dockerPing: async () => ({ok: false, error: 'ENOENT'})})});
    const err = await run.execute(ctx).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toBe('1 of 4 doctor checks failed: docker');
    expect((err as ProviderError).data?.['checks']).toHaveLength(4);
    expect(events.find((e) => e.phase === 'docker')).toMatchObject({level: 'error'});
  });
});
