/**
 * The role × action matrix the database enforces (Odoo.sh's: admin everything; tester staging and
 * previews; developer previews and dev; viewer read-only; backups, restores of backups and members
 * admin-only). Pure: the expected table of test/integration/rbac and the README's table.
 * Any actor outside its project may do nothing (not even read).
 */

export const MATRIX_ACTORS = ['admin', 'tester', 'developer', 'viewer', 'tester@preview', 'admin@preview', 'non-member'] as const;
export type MatrixActor = (typeof MATRIX_ACTORS)[number];

export const MATRIX_ACTIONS = [
  'read', 'queue.preview', 'queue.staging', 'queue.production',
  'env.preview', 'env.staging', 'env.production',
  'backup.create', 'backup.restore', 'member.add',
  'run.cancel.preview', 'run.cancel.production', 'run.claim',
] as const;
export type MatrixAction = (typeof MATRIX_ACTIONS)[number];

/** What each action is, and the SQL function that decides it. */
export const ACTION_LABELS: Readonly<Record<MatrixAction, string>> = {
  'read': 'read runs, environments and the audit log (RLS)',
  'queue.preview': 'queue a run on a preview env (ops.queue_run)',
  'queue.staging': 'queue a run on a staging env (ops.queue_run)',
  'queue.production': 'queue a run on the production env (ops.queue_run)',
  'env.preview': 'create/update a preview env (ops.upsert_environment)',
  'env.staging': 'create/update a staging env (ops.upsert_environment)',
  'env.production': 'create/update the production env (ops.upsert_environment)',
  'backup.create': 'create a backup (ops.create_backup)',
  'backup.restore': 'restore a backup into production (ops.start_restore)',
  'member.add': 'add a member (ops.add_member)',
  'run.cancel.preview': 'cancel a preview run (ops.cancel_run)',
  'run.cancel.production': 'cancel a production run (ops.cancel_run)',
  'run.claim': 'claim a queued run as a worker (ops.claim_next_run)',
};

export const ACTOR_LABELS: Readonly<Record<MatrixActor, string>> = {
  'admin': 'admin',
  'tester': 'tester',
  'developer': 'developer',
  'viewer': 'viewer',
  'tester@preview': 'tester (preview only)',
  'admin@preview': 'admin (preview only)',
  'non-member': 'not a member',
};

/** The member row behind an actor (role and env_type), or null for a non-member. */
export function actorMembership(actor: MatrixActor): {readonly role: string; readonly envType: string | null} | null {
  if (actor === 'non-member') return null;
  const [role, envType] = actor.split('@') as [string, string | undefined];
  return {role, envType: envType ?? null};
}

const PREVIEW: readonly MatrixActor[] = ['admin', 'tester', 'developer', 'tester@preview', 'admin@preview'];
const ALLOWED: Readonly<Record<MatrixAction, readonly MatrixActor[]>> = {
  'read': ['admin', 'tester', 'developer', 'viewer', 'tester@preview', 'admin@preview'],
  'queue.preview': PREVIEW,
  'queue.staging': ['admin', 'tester'],
  'queue.production': ['admin'],
  'env.preview': PREVIEW,
  'env.staging': ['admin', 'tester'],
  'env.production': ['admin'],
  'backup.create': ['admin'],
  'backup.restore': ['admin'],
  'member.add': ['admin'],
  'run.cancel.preview': PREVIEW,
  'run.cancel.production': ['admin'],
  // Workers execute runs of the whole project: a project-wide role other than viewer.
  'run.claim': ['admin', 'tester', 'developer'],
};

/** Whether `actor` may do `action` in its own project (own) or in another project (never). */
export function expectedAllowed(actor: MatrixActor, action: MatrixAction, project: 'own' | 'other'): boolean {
  return project === 'own' && ALLOWED[action].includes(actor);
}

export interface MatrixCell {
  readonly actor: MatrixActor;
  readonly action: MatrixAction;
  readonly project: 'own' | 'other';
  readonly allowed: boolean;
}

/** Every cell of the matrix with its expected outcome. */
export function expectedMatrix(): MatrixCell[] {
  return MATRIX_ACTORS.flatMap((actor) => MATRIX_ACTIONS.flatMap((action) =>
    (['own', 'other'] as const).map((project) => ({actor, action, project, allowed: expectedAllowed(actor, action, project)}))));
}

/** The README table: one row per action, one column per actor (own project; other projects: nothing). */
export function renderMatrixMarkdown(): string {
  const head = `| action | ${MATRIX_ACTORS.map((a) => ACTOR_LABELS[a]).join(' | ')} |`;
  const rule = `|---|${MATRIX_ACTORS.map(() => ':-:').join('|')}|`;
  const rows = MATRIX_ACTIONS.map((action) =>
    `| ${ACTION_LABELS[action]} | ${MATRIX_ACTORS.map((a) => (expectedAllowed(a, action, 'own') ? 'yes' : '—')).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}
