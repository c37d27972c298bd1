import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {MEMBER_ENV_TYPES, MEMBER_ROLES, passwordFromEnv} from '../../core/members/member-input.js';
import type {AddMemberResult} from '../../core/members/members-service.js';

export type MembersAddResult = AddMemberResult;

export default class MembersAdd extends BaseCommand<typeof MembersAdd> {
  static override summary = 'Add a member to the project (or change its role), optionally for one environment type only';
  static override description = 'Without --jwt, USER is a Postgres LOGIN role: it is created if missing, granted ops_app and nothing else '
    + '(its authentication is the DBA\'s: peer, cert, or the password from --password-from-env). With --jwt, USER is the `sub` '
    + 'of the jwt claims a trusted authenticator sets; no Postgres role is created. Admin only; audited.';
  static override examples = [
    '<%= config.bin %> members add alice --role developer',
    '<%= config.bin %> members add bob --role tester --env-type staging',
    'ALICE_PW=... <%= config.bin %> members add alice --role admin --password-from-env ALICE_PW',
    '<%= config.bin %> members add alice@example.com --role viewer --jwt --json',
  ];

  static override args = {
    user: Args.string({required: true, description: 'Postgres role name, or the jwt sub with --jwt.'}),
  };

  static override flags = {
    role: Flags.option({options: MEMBER_ROLES, required: true, summary: 'The role: admin, tester, developer or viewer.'})(),
    'env-type': Flags.option({options: MEMBER_ENV_TYPES, summary: 'Grant the role for this environment type only.'})(),
    jwt: Flags.boolean({default: false, summary: 'USER is a jwt sub: do not create a Postgres role.'}),
    'password-from-env': Flags.string({summary: 'Set the new Postgres role\'s password from this environment variable.', exclusive: ['jwt']}),
  };

  async run(): Promise<MembersAddResult> {
    const {args, flags} = this;
    const password = flags['password-from-env'] === undefined ? undefined : passwordFromEnv(flags['password-from-env'], process.env);
    const members = await (await this.services()).members();
    const result = await members.add({user: args.user, role: flags.role, envType: flags['env-type'], jwt: flags.jwt, password});
    const scope = result.member.envType ? ` for ${result.member.envType} environments` : '';
    const pgRole = result.postgresRole;
    const note = pgRole ? (pgRole.created ? ' (Postgres role created)' : pgRole.granted ? ' (ops_app granted to the existing role)' : '') : ' (jwt sub)';
    this.out(`${result.member.member} is ${result.member.role}${scope}${note}.`);
    return result;
  }
}
