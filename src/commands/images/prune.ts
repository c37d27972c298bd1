import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {imageCells} from '../../cli/render/images.js';
import {DEFAULT_KEEP} from '../../core/release/image-retention.js';
import {imageServiceFor, type ImagesPruneOutcome} from '../../core/release/image-service.js';

export type ImagesPruneResult = ImagesPruneOutcome;

export default class ImagesPrune extends BaseCommand<typeof ImagesPrune> {
  static override summary = 'Remove the project\'s old release and cache images, keeping what runs, rollback targets and the newest N.';
  static override description =
    'Kept: the image each environment runs, the release it would roll back to, the N newest release images (--keep, default 5) ' +
    'and every layer cache image under a kept image. Every other tag of odoo-sh-next/<project> and odoo-sh-next-cache/<project> is ' +
    'removed (the engine deletes an image with its last tag); tags of other repositories are never touched. An image a container ' +
    'still uses is reported as refused. Audited (images.prune). Container providers only (docker-local, ssh-host).';
  static override examples = [
    '<%= config.bin %> images prune --dry-run',
    '<%= config.bin %> images prune --keep 3',
    '<%= config.bin %> images prune --json',
  ];
  static override flags = {
    keep: Flags.integer({summary: 'How many of the newest release images to keep besides those in use.', default: DEFAULT_KEEP, min: 0, helpValue: 'N'}),
    'dry-run': Flags.boolean({summary: 'Only show what would be kept and removed (nothing changed).', default: false}),
  };

  async run(): Promise<ImagesPruneResult> {
    const images = await imageServiceFor(await this.services());
    const result = await images.prune({keep: this.flags.keep, dryRun: this.flags['dry-run']});
    const row = (i: ImagesPruneResult['kept'][number], action: string) => ({...imageCells(i), action});
    this.table([
      ...result.kept.map((i) => row(i, `kept: ${i.reasons.join('; ')}`)),
      ...result.removed.map((i) => row(i, i.outcome === 'refused' ? `refused: ${i.reason ?? ''}` : i.outcome)),
    ], ['image', 'kind', 'tags', 'created', 'size', 'action']);
    for (const pin of result.missingPins) this.warn(`${pin.env}: image ${pin.image} of release ${pin.release ?? '?'} is not on the engine`);
    const refused = result.removed.filter((i) => i.outcome === 'refused');
    for (const i of refused) this.warn(`image ${i.id.slice(0, 19)} not removed: ${i.reason ?? 'refused'}`);
    const done = result.removed.length - refused.length;
    this.out(`${result.dryRun ? 'Would remove' : 'Removed'} ${done} image(s), kept ${result.kept.length}${refused.length ? `, ${refused.length} refused` : ''}.`);
    return result;
  }
}
