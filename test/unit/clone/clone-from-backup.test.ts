import {describe, expect, it} from 'vitest';
import {cloneBackupDeps, formatAge} from '../../../src/core/clone/clone-from-backup.js';
import {backupsSection} from '../../../src/core/config/schema-sections.js';

describe('clone from backup: pure parts', () => {
  it('formats ages in minutes below an hour, else hours with one decimal', () => {
    expect(formatAge(0)).toBe('0 min');
    expect(formatAge(42 * 60_000)).toBe('42 min');
    expect(formatAge(3.5 * 3600_000)).toBe('3.5 h');
  });

  it('reads backups.cloneFromBackupMaxAge as a duration, unset by default', () => {
    expect(backupsSection.parse({}).cloneFromBackupMaxAge).toBeUndefined();
    expect(backupsSection.parse({cloneFromBackupMaxAge: '6h'}).cloneFromBackupMaxAge).toEqual({text: '6h', ms: 6 * 3600_000});
    expect(() => backupsSection.parse({cloneFromBackupMaxAge: 'soon'})).toThrow();
  });

  it('is off unless backups.cloneFromBackupMaxAge is set', () => {
    const storage = async () => {
      throw new Error('unused');
    };
    expect(cloneBackupDeps({pool: {} as never, projectId: '1', maxAge: undefined, storage})).toBeUndefined();
    expect(cloneBackupDeps({pool: {} as never, projectId: '1', maxAge: {ms: 6 * 3600_000}, storage})?.maxAgeMs).toBe(6 * 3600_000);
  });
});
