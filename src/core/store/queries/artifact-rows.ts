/** Row shape of ops.artifacts as node-postgres returns it (int8 as string). */
export interface ArtifactRow {
  readonly id: string;
  readonly run_id: string | null;
  readonly project_id: string;
  readonly kind: string;
  readonly name: string;
  readonly uri: string;
  readonly sha256: string | null;
  readonly size_bytes: string | null;
  readonly metadata: Record<string, unknown>;
  readonly created_at: Date;
}
