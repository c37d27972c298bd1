import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {parseAnchor, type AuditVerifyResult} from '../../core/audit/audit-chain.js';
import {ConflictError, UsageError} from '../../core/errors.js';

export type AuditVerifyCommandResult = AuditVerifyResult;

export default class AuditVerify extends BaseCommand<typeof AuditVerify> {
  static override summary = 'Recompute the audit hash chain and report the first tampered row';
  static override description = [
    'Reads every audit row of the project in seq order and recomputes its SHA-256 link. A broken chain',
    '(a row edited, deleted, swapped or backdated) exits 5 and names the first broken row. Keep the',
    'printed head (SEQ:HASH) somewhere else and pass it later as --anchor: that also detects a chain',
    'rewritten from some row on, or rows removed from its end.',
  ].join('\n');

  static override examples = ['<%= config.bin %> audit verify', '<%= config.bin %> audit verify --anchor 42:<64 hex digits> --json'];

  static override flags = {
    anchor: Flags.string({summary: 'A head recorded earlier, SEQ:HASH; that row must still carry that hash.'}),
  };

  async run(): Promise<AuditVerifyCommandResult> {
    const anchor = this.flags.anchor === undefined ? undefined : parseAnchor(this.flags.anchor);
    if (this.flags.anchor !== undefined && !anchor) {
      throw new UsageError(`invalid --anchor "${this.flags.anchor}": use SEQ:HASH as printed by \`audit verify\` (64 hex digits)`);
    }
    const audit = await (await this.services()).audit();
    const result = await audit.verify({anchor});
    const b = result.firstBroken;
    if (b) {
      throw new ConflictError(`audit chain BROKEN at seq ${b.seq}${b.id === null ? '' : ` (id ${b.id})`}: ${b.reason}: ${b.detail}`, {
        data: {firstBroken: b, rows: result.rows, ...(result.head ? {head: result.head} : {})},
        actions: ['list the rows around it: `odoo-sh-next audit list --json`', 'compare with a head recorded earlier (audit verify --anchor SEQ:HASH)'],
      });
    }
    this.out(`audit chain intact: ${result.rows} rows${result.head ? `, head ${result.head.seq}:${result.head.hash}` : ''}`);
    return result;
  }
}
