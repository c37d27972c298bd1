/**
 * Project members: who may do what (src/core/members/rbac-matrix.ts), enforced by the database.
 * Every write is an audited SQL function (000012.sql): ops.ensure_member_role creates the member's
 * Postgres LOGIN role (least privileges: granted ops_app only), ops.add_member / ops.remove_member
 * change the membership (admin only; the last admin cannot be removed or demoted).
 */
import type pg from 'pg';
import {NotFoundError, UsageError} from '../errors.js';
import type {Secret} from '../secret.js';
import {query, withTransaction} from '../store/pool.js';
import {validateEnvType, validateJwtSubject, validateMemberRole, validatePostgresRoleName, type MemberEnvType, type MemberRole} from './member-input.js';
import {scramSha256Verifier} from './scram.js';

export interface Member {
  readonly member: string;
  readonly role: MemberRole;
  /** null: every environment type of the project. */
  readonly envType: MemberEnvType | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface AddMemberInput {
  readonly user: string;
  readonly role: string;
  readonly envType?: string | undefined;
  /** Add a jwt `sub` only: no Postgres role is created or touched. */
  readonly jwt?: boolean | undefined;
  /** Password of a new Postgres role (sent as a SCRAM verifier, never in clear text). */
  readonly password?: Secret | undefined;
}

export interface MemberPostgresRole {
  readonly name: string;
  /** The LOGIN role was created by this call. */
  readonly created: boolean;
  /** ops_app was granted by this call. */
  readonly granted: boolean;
}

export interface AddMemberResult {
  readonly member: Member;
  /** null with --jwt. */
  readonly postgresRole: MemberPostgresRole | null;
}

interface MemberRow {
  member: string;
  role: MemberRole;
  env_type: MemberEnvType | null;
  created_at: Date;
  created_by: string;
}

const toMember = (r: MemberRow): Member => ({
  member: r.member, role: r.role, envType: r.env_type, createdAt: r.created_at.toISOString(), createdBy: r.created_by,
});

export class MembersService {
  constructor(private readonly deps: {readonly pool: pg.Pool; readonly projectId: string}) {}

  /** Adds (or changes the role of) a member; creates its LOGIN role first unless `jwt`. One transaction. */
  async add(input: AddMemberInput): Promise<AddMemberResult> {
    const role = validateMemberRole(input.role);
    const envType = validateEnvType(input.envType);
    if (input.jwt && input.password) throw new UsageError('--password-from-env creates a Postgres role: it cannot be combined with --jwt');
    const user = input.jwt ? validateJwtSubject(input.user) : validatePostgresRoleName(input.user);
    const verifier = input.password ? scramSha256Verifier(input.password.reveal()) : null;
    return withTransaction(this.deps.pool, async (client) => {
      let postgresRole: MemberPostgresRole | null = null;
      if (!input.jwt) {
        const {rows} = await client.query<{r: {role: string; created: boolean; granted: boolean}}>(
          'select ops.ensure_member_role($1, $2, $3) as r', [this.deps.projectId, user, verifier]);
        postgresRole = {name: rows[0]!.r.role, created: rows[0]!.r.created, granted: rows[0]!.r.granted};
      }
      const {rows} = await client.query<MemberRow>('select * from ops.add_member($1, $2, $3, $4)', [this.deps.projectId, user, role, envType]);
      return {member: toMember(rows[0]!), postgresRole};
    });
  }

  /** Removes one membership row (the project-wide one unless envType). The Postgres role is kept. */
  async remove(input: {readonly user: string; readonly envType?: string | undefined}): Promise<{readonly member: string; readonly envType: MemberEnvType | null}> {
    const envType = validateEnvType(input.envType);
    const {rows} = await query<{removed: boolean}>(this.deps.pool, 'select ops.remove_member($1, $2, $3) as removed',
      [this.deps.projectId, input.user, envType]);
    if (!rows[0]?.removed) {
      throw new NotFoundError(`"${input.user}" is not a member${envType ? ` for ${envType} environments` : ''} of this project`, {
        actions: ['see `odoo-sh-next members list`'],
      });
    }
    return {member: input.user, envType};
  }

  /** Members of the project (readable by every member), by member then scope. */
  async list(): Promise<Member[]> {
    const {rows} = await query<MemberRow>(this.deps.pool, `
      select m.member, m.role, m.env_type, m.created_at, m.created_by from ops.project_members m
      where m.project_id = $1 order by m.member, m.env_type nulls first`, [this.deps.projectId]);
    return rows.map(toMember);
  }
}
