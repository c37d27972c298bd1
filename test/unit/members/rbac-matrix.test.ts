import {describe, expect, it} from 'vitest';
import {
  actorMembership, expectedAllowed, expectedMatrix, MATRIX_ACTIONS, MATRIX_ACTORS, renderMatrixMarkdown,
} from '../../../src/core/members/rbac-matrix.js';

describe('the expected role × action matrix', () => {
  it('lets an admin do everything in its project and nobody anything in another project', () => {
    for (const action of MATRIX_ACTIONS) expect(expectedAllowed('admin', action, 'own'), action).toBe(true);
    expect(expectedMatrix().filter((c) => c.project === 'other' && c.allowed)).toEqual([]);
  });

  it('keeps viewers and non-members read-only / out', () => {
    expect(MATRIX_ACTIONS.filter((a) => expectedAllowed('viewer', a, 'own'))).toEqual(['read']);
    expect(MATRIX_ACTIONS.filter((a) => expectedAllowed('non-member', a, 'own'))).toEqual([]);
  });

  it('keeps backups, restores, members and production admin-only (a preview-scoped admin is not an admin)', () => {
    for (const action of ['backup.create', 'backup.restore', 'member.add', 'queue.production', 'env.production', 'run.cancel.production'] as const) {
      expect(MATRIX_ACTORS.filter((a) => expectedAllowed(a, action, 'own')), action).toEqual(['admin']);
    }
  });

  it('gives testers staging and developers previews only', () => {
    expect(expectedAllowed('tester', 'queue.staging', 'own')).toBe(true);
    expect(expectedAllowed('developer', 'queue.staging', 'own')).toBe(false);
    expect(expectedAllowed('tester@preview', 'queue.staging', 'own')).toBe(false);
    expect(expectedAllowed('tester@preview', 'queue.preview', 'own')).toBe(true);
  });

  it('maps actors to member rows', () => {
    expect(actorMembership('tester@preview')).toEqual({role: 'tester', envType: 'preview'});
    expect(actorMembership('viewer')).toEqual({role: 'viewer', envType: null});
    expect(actorMembership('non-member')).toBeNull();
  });

  it('renders the README table: one row per action, one column per actor', () => {
    const md = renderMatrixMarkdown().split('\n');
    expect(md).toHaveLength(MATRIX_ACTIONS.length + 2);
    expect(md[0]).toBe('| action | admin | tester | developer | viewer | tester (preview only) | admin (preview only) | not a member |');
    expect(md[2]).toBe('| read runs, environments and the audit log (RLS) | yes | yes | yes | yes | yes | yes | — |');
  });
});
