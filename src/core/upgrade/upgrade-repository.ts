/** Upgrade reports in the state store: reads through RLS, writes through the audited ops.record_upgrade_report / ops.approve_upgrade_report. */
import {query, type Queryable} from '../store/pool.js';
import type {UpgradeReport} from './report.js';

export interface StoredUpgradeReport {
  /** `upg-<n>`. */
  readonly id: string;
  readonly runId: string | null;
  readonly env: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly verdict: 'ready' | 'blocked';
  readonly report: UpgradeReport;
  readonly markdown: string;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly approvedBy: string | null;
  readonly approvedAt: string | null;
}

interface Row {
  id: string;
  run_id: string | null;
  env: string;
  from_version: string;
  to_version: string;
  verdict: 'ready' | 'blocked';
  report: UpgradeReport;
  markdown: string;
  requested_by: string;
  created_at: Date;
  approved_by: string | null;
  approved_at: Date | null;
}

const PREFIX = 'upg-';

export const reportIdText = (n: string | number): string => `${PREFIX}${n}`;

function fromRow(r: Row): StoredUpgradeReport {
  return {
    id: reportIdText(r.id), runId: r.run_id === null ? null : String(r.run_id), env: r.env, fromVersion: r.from_version, toVersion: r.to_version,
    verdict: r.verdict, report: r.report, markdown: r.markdown, requestedBy: r.requested_by, createdAt: r.created_at.toISOString(),
    approvedBy: r.approved_by, approvedAt: r.approved_at ? r.approved_at.toISOString() : null,
  };
}

/** `upg-12` → {report: '12'}; `12` → {run: '12'}; anything else → undefined. */
export function parseReportRef(ref: string): {readonly report: string} | {readonly run: string} | undefined {
  const m = /^(upg-)?([1-9][0-9]{0,18})$/i.exec(ref.trim());
  if (!m) return undefined;
  return m[1] ? {report: m[2]!} : {run: m[2]!};
}

export class UpgradeRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  async record(input: {runId: string; env: string; report: UpgradeReport; markdown: string}): Promise<StoredUpgradeReport> {
    const {rows} = await query<Row>(this.db, 'select * from ops.record_upgrade_report($1, $2, $3, $4, $5, $6, $7::jsonb, $8)', [
      this.projectId, input.runId, input.env, input.report.fromVersion, input.report.toVersion, input.report.verdict.status,
      JSON.stringify(input.report), input.markdown,
    ]);
    return fromRow(rows[0]!);
  }

  async approve(reportId: string): Promise<StoredUpgradeReport> {
    const {rows} = await query<Row>(this.db, 'select * from ops.approve_upgrade_report($1, $2)', [this.projectId, reportId]);
    return fromRow(rows[0]!);
  }

  async find(ref: {readonly report: string} | {readonly run: string}): Promise<StoredUpgradeReport | undefined> {
    const byReport = 'report' in ref;
    const {rows} = await query<Row>(this.db,
      `select * from ops.upgrade_reports where project_id = $1 and ${byReport ? 'id' : 'run_id'} = $2`, [this.projectId, byReport ? ref.report : ref.run]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** Whether a ready, approved report exists for this environment and target series. */
  async approvedReady(env: string, toVersion: string): Promise<boolean> {
    const {rows} = await query<{ok: boolean}>(this.db,
      `select exists (select 1 from ops.upgrade_reports where project_id = $1 and env = $2 and to_version = $3
         and verdict = 'ready' and approved_by is not null) as ok`, [this.projectId, env, toVersion]);
    return rows[0]?.ok ?? false;
  }
}
