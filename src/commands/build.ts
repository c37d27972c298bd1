import {Flags} from '@oclif/core';
import {BaseCommand} from '../cli/base-command.js';
import {exitForRun} from '../cli/render/run-outcome.js';
import {BUILD_LOG, type BuildRunResult} from '../core/release/build-service.js';

/** The build run's result (warnings are printed, not returned) and the run's id. */
export type BuildResult = Omit<BuildRunResult, 'warnings'> & {readonly run: string};

export default class Build extends BaseCommand<typeof Build> {
  static override summary = 'Build the Odoo image of the project: base image + Python requirements + one layer per addons source + config.';
  static override description =
    'Each layer is keyed by a hash of its inputs and cached on the engine (odoo-sh-next-cache/<project>): an unchanged addons ' +
    'source is never rebuilt, and the same inputs give the same layer contents. Tags <short_sha> and <date> (and latest with ' +
    '--tag-latest) in odoo-sh-next/<project>. With --env the release and its image are recorded on that environment. ' +
    'The Docker output of each layer is in `run logs <run>`, and kept (also when the build fails) as the artifact build.log ' +
    'of the run: `run artifacts <run> --name build.log`.';
  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build --env staging --sha 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b --json',
    '<%= config.bin %> build --tag-latest',
  ];
  static override flags = {
    env: Flags.string({char: 'e', summary: 'Record the release (with its image) on this environment.', helpValue: 'ENV'}),
    sha: Flags.string({summary: 'Commit being built (default: the checkout HEAD).', helpValue: 'SHA'}),
    'tag-latest': Flags.boolean({default: false, summary: 'Also tag the image latest.'}),
  };

  async run(): Promise<BuildResult> {
    const builder = await (await this.services()).builder();
    const run = await builder.build({env: this.flags.env, sha: this.flags.sha, tagLatest: this.flags['tag-latest'], signal: this.signal});
    const readLog = `odoo-sh-next run artifacts ${run.id} --name ${BUILD_LOG}`;
    if (run.state !== 'succeeded' && (run.phase === 'build' || run.phase === 'record')) this.warn(`the build log is kept: ${readLog}`);
    exitForRun(run);
    const result = run.result as unknown as BuildRunResult;
    for (const warning of result.warnings) this.warn(warning);
    this.table(result.layers.map((l) => ({layer: l.name, key: l.key.slice(0, 12), cached: l.cached ? 'yes' : 'no', seconds: l.seconds})), ['layer', 'key', 'cached', 'seconds']);
    this.out(`${result.image} (${result.digest.slice(0, 19)}): ${result.rebuilt} of ${result.layers.length} layers built; tags ${result.tags.join(', ')}`);
    if (result.release) this.out(`release ${result.release} recorded on ${result.env}`);
    if (result.log) this.out(`build log (${result.log.sizeBytes} bytes): ${readLog}`);
    const {image, digest, tags, layers, rebuilt, commit, release, env, log} = result;
    return {image, digest, tags, layers, rebuilt, commit, release, env, log: log ?? null, run: run.id};
  }
}
