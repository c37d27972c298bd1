/**
 * A release: the immutable artifact a deploy puts on an environment. For the local provider it is
 * the commit, the hash of the addons (manifests and files), the Odoo version and the manifest
 * version of every addon module; container providers add an image digest. Its id derives from the
 * content, so the same artifact keeps its id when promoted. Pure.
 */
import {createHash} from 'node:crypto';

export const RELEASE_STATUSES = ['built', 'deployed', 'rolled_back', 'failed'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** What a release is made of (computed from the code before anything is recorded). */
export interface ReleaseArtifact {
  readonly commit: string | null;
  readonly addonsHash: string;
  readonly odooVersion: string;
  /** module name → manifest version as written in __manifest__.py. */
  readonly modules: Readonly<Record<string, string>>;
  readonly imageDigest: string | null;
}

export interface Release extends ReleaseArtifact {
  readonly id: string;
  readonly env: string;
  readonly sourceEnv: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly deployedAt: string | null;
  readonly status: ReleaseStatus;
  /** Gate name → passed (e.g. policy, backup, health, smoke). */
  readonly gates: Readonly<Record<string, unknown>>;
  readonly runId: string | null;
  readonly preDeployBackup: string | null;
  readonly updatedModules: readonly string[];
}

export interface ReleaseRow {
  id: string;
  env: string;
  source_env: string | null;
  commit: string | null;
  addons_hash: string;
  odoo_version: string;
  modules: Record<string, string>;
  image_digest: string | null;
  created_by: string;
  created_at: Date;
  deployed_at: Date | null;
  status: ReleaseStatus;
  gates: Record<string, unknown>;
  run_id: string | null;
  pre_deploy_backup: string | null;
  updated_modules: string[];
}

export function releaseFromRow(r: ReleaseRow): Release {
  return {
    id: r.id, env: r.env, sourceEnv: r.source_env, commit: r.commit, addonsHash: r.addons_hash, odooVersion: r.odoo_version,
    modules: r.modules, imageDigest: r.image_digest, createdBy: r.created_by, createdAt: r.created_at.toISOString(),
    deployedAt: r.deployed_at ? r.deployed_at.toISOString() : null, status: r.status, gates: r.gates,
    runId: r.run_id === null ? null : String(r.run_id), preDeployBackup: r.pre_deploy_backup, updatedModules: r.updated_modules,
  };
}

/** `r-` + 12 hex digits of sha256 over the artifact's identity (commit, addons hash, Odoo version, image digest). */
export function releaseId(a: Pick<ReleaseArtifact, 'commit' | 'addonsHash' | 'odooVersion' | 'imageDigest'>): string {
  const doc = JSON.stringify(['odoo-sh-next/release/v1', a.commit ?? null, a.addonsHash, a.odooVersion, a.imageDigest ?? null]);
  return `r-${createHash('sha256').update(doc, 'utf8').digest('hex').slice(0, 12)}`;
}

export function isReleaseId(value: string): boolean {
  return /^r-[0-9a-f]{12}$/.test(value);
}
