/**
 * The main job, end to end, on the zero-setup local provider: a sample project in a temporary
 * folder → init → preview up for two branches → both answer /web/health and /web/login → list →
 * tear down. Every step is reported as it happens.
 */
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ProviderError} from '../errors.js';
import type {EventSink} from '../events.js';
import type {Environment} from '../environments/environment-record.js';
import type {EnvironmentService} from '../environments/environment-service.js';
import type {RuntimeService} from '../environments/runtime-service.js';
import {starterConfig} from '../config/starter-config.js';
import {DEMO_BRANCHES, writeSampleProject} from './sample-project.js';

export interface DemoServices {
  environments(): Promise<EnvironmentService>;
  runtime(): Promise<RuntimeService>;
  close(): Promise<void>;
}

export interface DemoStep {
  readonly step: string;
  readonly detail: string;
}

export interface DemoResult {
  readonly folder: string;
  readonly kept: boolean;
  readonly previews: readonly {branch: string; env: string; url: string; health: number; login: number}[];
  readonly listed: readonly string[];
  readonly steps: readonly DemoStep[];
}

export async function runDemo(opts: {
  readonly odooBin: string;
  readonly keep: boolean;
  readonly events: EventSink;
  readonly signal: AbortSignal;
  readonly servicesFor: (cwd: string) => DemoServices;
}): Promise<DemoResult> {
  const steps: DemoStep[] = [];
  const say = (step: string, detail: string) => {
    steps.push({step, detail});
    opts.events.emit({kind: 'message', level: 'info', phase: 'demo', message: `${step}: ${detail}`});
  };
  const folder = await mkdtemp(join(tmpdir(), 'odoo-sh-next-demo-'));
  await chmod(folder, 0o755); // PostgreSQL runs as an unprivileged account when we are root
  const services = opts.servicesFor(folder);
  const previews: {branch: string; env: string; url: string; health: number; login: number}[] = [];
  let listed: Environment[] = [];
  try {
    await writeSampleProject(folder);
    say('sample project', `${folder} (git repository, addon demo_shop, branches ${DEMO_BRANCHES.join(', ')})`);
    await writeFile(join(folder, 'odoo-sh-next.config.yaml'), starterConfig({project: 'demo', provider: 'local', odooBin: opts.odooBin}));
    say('init', `odoo-sh-next.config.yaml written (odoo.bin: ${opts.odooBin})`);
    const envs = await services.environments();
    for (const branch of DEMO_BRANCHES) {
      say('preview up', branch);
      const up = await envs.up({branch, signal: opts.signal});
      if (up.run.state !== 'succeeded' || !up.url) {
        throw new ProviderError(`preview up ${branch} ended ${up.run.state}: ${up.run.lastError ?? ''}`, {actions: [`odoo-sh-next run logs ${up.run.id}`]});
      }
      const health = (await fetch(new URL('/web/health', up.url), {signal: opts.signal})).status;
      const login = (await fetch(new URL('/web/login', up.url), {signal: opts.signal})).status;
      say('check', `${up.url}/web/health → ${health}, /web/login → ${login}`);
      if (health !== 200 || login !== 200) throw new ProviderError(`preview ${up.env} does not answer as Odoo should`);
      previews.push({branch, env: up.env, url: up.url, health, login});
    }
    listed = await envs.list({type: 'preview'});
    say('preview list', listed.map((e) => `${e.name} ${e.url ?? ''}`).join('; '));
    for (const p of previews) {
      const run = await envs.destroy(await envs.locate({env: p.env}), {signal: opts.signal});
      say('preview down', `${p.env}: ${run.state}`);
    }
    await (await services.runtime()).down(opts.signal);
    say('down', 'project PostgreSQL stopped');
  } finally {
    await services.close();
    if (!opts.keep) await rm(folder, {recursive: true, force: true}).catch(() => undefined);
  }
  return {folder, kept: opts.keep, previews, listed: listed.map((e) => e.name), steps};
}
