import {describe, expect, it} from 'vitest';
import {backupFromRow, backupSummary, formatBytes, parseBackupId, type BackupRow} from '../../../src/core/backup/backup-record.js';
import {odooSeries} from '../../../src/core/backup/backup-sources.js';
import {canonicalJson} from '../../../src/core/backup/canonical-json.js';
import {startOfUtcDay} from '../../../src/core/backup/backup-service.js';
import {UsageError} from '../../../src/core/errors.js';

describe('backup ids', () => {
  it('accepts a uuid or a unique prefix of 6+ hex digits', () => {
    expect(parseBackupId('3F2A9C1E-0000-4000-8000-000000000001')).toEqual({id: '3f2a9c1e-0000-4000-8000-000000000001'});
    expect(parseBackupId('3f2a9c')).toEqual({prefix: '3f2a9c'});
    expect(parseBackupId('3f2a9c1e-00')).toEqual({prefix: '3f2a9c1e-00'});
    for (const bad of ['3f2a', 'xyzxyzxyz', "3f2a9c'; drop", '']) expect(() => parseBackupId(bad)).toThrow(UsageError);
  });
});

describe('rows and summaries', () => {
  const row: BackupRow = {
    id: 'b1', project_id: 'p', environment: 'production', kind: 'manual', status: 'complete', run_id: '42', storage: 's3',
    location: 's3://b/x/', manifest: null, size_bytes: '12345678901', created_by: 'admin', created_at: new Date('2026-01-02T03:04:05Z'),
    completed_at: null, error: null, verified_at: null, verification: {ok: false, failures: 2},
  };
  it('maps bigint sizes to numbers and keeps the verification outcome', () => {
    const b = backupFromRow(row);
    expect(b).toMatchObject({env: 'production', runId: '42', sizeBytes: 12345678901, createdAt: '2026-01-02T03:04:05.000Z'});
    expect(backupSummary(b)).toMatchObject({verified: false, parts: [], sizeBytes: 12345678901});
    expect(backupSummary(backupFromRow({...row, verification: null})).verified).toBeNull();
  });
  it('formats sizes', () => {
    expect(formatBytes(null)).toBe('');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
  });
});

describe('small helpers', () => {
  it('reads the Odoo series from base latest_version', () => {
    expect(odooSeries('17.0.1.3')).toBe('17.0');
    expect(odooSeries('saas~17.2.1.0')).toBe('saas~17.2');
    expect(odooSeries(undefined)).toBeNull();
    expect(odooSeries('')).toBeNull();
  });
  it('compares JSON whatever the key order (jsonb reorders keys)', () => {
    expect(canonicalJson({b: 1, a: [{d: 2, c: 3}]})).toBe(canonicalJson({a: [{c: 3, d: 2}], b: 1}));
    expect(canonicalJson({a: [1, 2]})).not.toBe(canonicalJson({a: [2, 1]}));
  });
  it('counts manual backups per UTC day', () => {
    expect(startOfUtcDay(new Date('2026-03-29T23:59:59.999Z')).toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(startOfUtcDay(new Date('2026-03-30T00:00:00.000Z')).toISOString()).toBe('2026-03-30T00:00:00.000Z');
  });
});
