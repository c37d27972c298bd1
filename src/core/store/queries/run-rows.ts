/** Row shapes of ops.runs and ops.run_events as node-postgres returns them (int8 as string). */
export interface RunRow {
  readonly id: string;
  readonly project_id: string;
  readonly env: string | null;
  readonly type: string;
  readonly state: string;
  readonly git_sha: string | null;
  readonly ref: string | null;
  readonly payload: Record<string, unknown>;
  readonly result: Record<string, unknown> | null;
  readonly phase: string | null;
  readonly priority: number;
  readonly run_at: Date;
  readonly attempts: number;
  readonly max_attempts: number;
  readonly backoff_ms: number;
  readonly exclusive: boolean;
  readonly locked_by: string | null;
  readonly lease_expires_at: Date | null;
  readonly cancel_requested: boolean;
  readonly last_error: string | null;
  readonly created_by: string;
  readonly created_at: Date;
  readonly started_at: Date | null;
  readonly finished_at: Date | null;
  readonly updated_at: Date;
}

export interface RunEventRow {
  readonly id: string;
  readonly run_id: string;
  readonly at: Date;
  readonly level: string;
  readonly phase: string | null;
  readonly message: string;
  readonly payload: Record<string, unknown>;
  readonly attempt: number | null;
}
