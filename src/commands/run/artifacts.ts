import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {RunArtifact} from '../../core/run/run-artifacts.js';

export interface RunArtifactsResult {
  readonly runId: string;
  /** The run's artifacts (with --name: the one read). */
  readonly artifacts: readonly RunArtifact[];
  /** With --name and without --out: the content of a stored artifact (null otherwise). */
  readonly content: string | null;
  /** With --out: the absolute path written. */
  readonly writtenTo: string | null;
  /** An artifact whose content is not stored with it: where it lives (e.g. ops:upgrade_reports/3#json). */
  readonly location: string | null;
  /** And how to read it there. */
  readonly readWith: string | null;
}

export default class RunArtifacts extends BaseCommand<typeof RunArtifacts> {
  static override summary = "List a run's artifacts (its kept logs, reports...); --name prints one, --out writes it to a file";
  static override examples = [
    '<%= config.bin %> run artifacts 42',
    '<%= config.bin %> run artifacts 42 --name build.log',
    '<%= config.bin %> run artifacts 42 --name build.log --out build-42.log',
  ];

  static override args = {
    id: Args.string({required: true, description: 'Run id (a number).'}),
  };

  static override flags = {
    name: Flags.string({char: 'n', summary: 'Print the content of the artifact of this name (or say where it lives).', helpValue: 'NAME'}),
    out: Flags.string({char: 'o', summary: 'With --name: write the content to this file instead.', helpValue: 'FILE', dependsOn: ['name']}),
  };

  async run(): Promise<RunArtifactsResult> {
    const runs = await (await this.services()).runs();
    const empty = {content: null, writtenTo: null, location: null, readWith: null};
    if (this.flags.name === undefined) {
      const artifacts = await runs.artifacts(this.args.id);
      this.table(artifacts.map((a) => ({id: a.id, kind: a.kind, name: a.name, size: a.sizeBytes, sha256: a.sha256?.slice(0, 12) ?? '', created: a.createdAt})),
        ['id', 'kind', 'name', 'size', 'sha256', 'created']);
      return {runId: this.args.id, artifacts, ...empty};
    }
    const read = await runs.readArtifact(this.args.id, this.flags.name, this.flags.out);
    const {artifact} = read;
    if (read.writtenTo) this.out(`${artifact.name} (${artifact.sizeBytes} bytes, sha256 ${artifact.sha256}) written to ${read.writtenTo}`);
    else if (read.content !== null) this.out(read.content.replace(/\n$/, ''));
    else this.warn(`${artifact.name} is not stored with the run: it lives at ${read.location}${read.readWith ? `; read it with \`${read.readWith}\`` : ''}`);
    return {runId: this.args.id, artifacts: [artifact], content: read.content, writtenTo: read.writtenTo, location: read.location, readWith: read.readWith};
  }
}
