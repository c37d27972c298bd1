/**
 * Artifacts of runs (ops.artifacts): what a run kept besides its events, e.g. the build's log
 * (kind 'log', content stored in the state database, uri ops:artifacts/<id>) or an upgrade report
 * (kind 'upgrade-report', which lives at ops:upgrade_reports/<id>). Listing, and reading one
 * artifact's content to stdout or a file (`run artifacts`).
 */
import {writeFile} from 'node:fs/promises';
import {resolve} from 'node:path';
import {NotFoundError, UsageError} from '../errors.js';
import type {ArtifactRow} from '../store/queries/artifact-rows.js';
import type {RunRepository} from './run-repository.js';

export interface RunArtifact {
  readonly id: string;
  readonly runId: string | null;
  readonly kind: string;
  readonly name: string;
  /** ops:artifacts/<id> when the content is stored with the artifact; else where it lives. */
  readonly uri: string;
  readonly sha256: string | null;
  readonly sizeBytes: number | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  /** The content is stored in the state database (readable with `run artifacts --name`). */
  readonly stored: boolean;
}

/** What RunContext.saveLog() gives back. */
export interface SavedLog {
  readonly id: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Only the tail was kept (the log was above the size bound). */
  readonly truncated: boolean;
}

export function artifactFromRow(row: ArtifactRow & {readonly stored?: boolean}): RunArtifact {
  return {
    id: String(row.id),
    runId: row.run_id === null ? null : String(row.run_id),
    kind: row.kind,
    name: row.name,
    uri: row.uri,
    sha256: row.sha256,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    metadata: row.metadata ?? {},
    createdAt: row.created_at.toISOString(),
    stored: row.stored ?? false,
  };
}

export function savedLogFromRow(row: ArtifactRow): SavedLog {
  return {id: String(row.id), name: row.name, sizeBytes: Number(row.size_bytes ?? 0), sha256: row.sha256 ?? '', truncated: row.metadata?.['truncated'] === true};
}

/** One artifact read: its content (stored ones), or where it lives. */
export interface ArtifactRead {
  readonly artifact: RunArtifact;
  /** The content when stored and not written to a file; null otherwise. */
  readonly content: string | null;
  /** The absolute path written (with `out`), else null. */
  readonly writtenTo: string | null;
  /** Where the content lives when it is not stored with the artifact (e.g. ops:upgrade_reports/3#json), else null. */
  readonly location: string | null;
  /** A command to read it there, when one is known. */
  readonly readWith: string | null;
}

/** The artifacts of a run (NotFoundError for an unknown run or one of another project). */
export async function runArtifacts(repo: RunRepository, runId: string): Promise<RunArtifact[]> {
  await repo.get(runId);
  return repo.artifacts(runId);
}

/** Reads the artifact `name` of a run; writes its content to `out` when given. */
export async function readRunArtifact(repo: RunRepository, runId: string, name: string, out?: string | undefined): Promise<ArtifactRead> {
  if (name.trim() === '') throw new UsageError('--name needs an artifact name (see `odoo-sh-next run artifacts <run>`)');
  const all = await runArtifacts(repo, runId);
  const artifact = all.find((a) => a.name === name);
  if (!artifact) {
    throw new NotFoundError(`run ${runId} has no artifact named "${name}"${all.length ? ` (it has: ${all.map((a) => a.name).join(', ')})` : ' (it has none)'}`, {
      actions: [`odoo-sh-next run artifacts ${runId}`],
      data: {runId, name, known: all.map((a) => a.name)},
    });
  }
  if (!artifact.stored) {
    return {artifact, content: null, writtenTo: null, location: artifact.uri, readWith: readCommand(artifact)};
  }
  const content = await repo.artifactContent(artifact.id);
  if (content === undefined) throw new NotFoundError(`the content of artifact ${artifact.id} (${name}) is gone`, {data: {runId, name}});
  if (out === undefined) return {artifact, content, writtenTo: null, location: null, readWith: null};
  const path = resolve(out);
  await writeFile(path, content, 'utf8');
  return {artifact, content: null, writtenTo: path, location: null, readWith: null};
}

/** How to read an artifact that lives elsewhere. */
function readCommand(a: RunArtifact): string | null {
  const m = /^ops:upgrade_reports\/(\d+)(?:#(json|markdown))?$/.exec(a.uri);
  if (m) return `odoo-sh-next upgrade report show upg-${m[1]}${m[2] === 'json' ? ' --format json' : ''}`;
  return null;
}
