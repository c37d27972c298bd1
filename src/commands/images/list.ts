import {BaseCommand} from '../../cli/base-command.js';
import {imageCells} from '../../cli/render/images.js';
import {imageServiceFor, type ImagesListing} from '../../core/release/image-service.js';

export type ImagesListResult = ImagesListing;

export default class ImagesList extends BaseCommand<typeof ImagesList> {
  static override summary = 'The release and cache images of the project on the container engine, and why prune keeps each one.';
  static override description =
    'Release images (odoo-sh-next/<project>) and layer cache images (odoo-sh-next-cache/<project>), newest first. ' +
    'The "kept because" column is what `images prune` (default --keep 5) decides: in use by an environment, rollback target ' +
    'of an environment, among the newest release images, or a layer of a kept image; "(prunable)" otherwise. ' +
    'Container providers only (docker-local, ssh-host).';
  static override examples = ['<%= config.bin %> images list', '<%= config.bin %> images list --json'];

  async run(): Promise<ImagesListResult> {
    const listing = await (await imageServiceFor(await this.services())).list();
    this.table(listing.images.map((i) => ({...imageCells(i), 'kept because': i.reasons.join('; ') || '(prunable)'})),
      ['image', 'kind', 'tags', 'created', 'size', 'kept because']);
    for (const pin of listing.missingPins) this.warn(`${pin.env}: image ${pin.image} of release ${pin.release ?? '?'} is not on the engine`);
    const prunable = listing.images.filter((i) => !i.keep).length;
    this.out(`${listing.images.length} image(s), ${prunable} prunable with --keep ${listing.keep}: odoo-sh-next images prune --dry-run`);
    return listing;
  }
}
