/** Table cells of `images list` / `images prune`. */
import {formatBytes} from '../../core/backup/backup-record.js';
import type {PlannedImage} from '../../core/release/image-retention.js';

/** `<tag>` for release tags, `cache:<tag>` for layer cache tags (the repositories are the project's). */
function shortTag(tag: string): string {
  return tag.replace(/^odoo-sh-next\/[^:]+:/, '').replace(/^odoo-sh-next-cache\/[^:]+:/, 'cache:');
}

export function imageCells(i: PlannedImage): {image: string; kind: string; tags: string; created: string; size: string} {
  const release = i.tags.filter((t) => !t.startsWith('odoo-sh-next-cache/')).map(shortTag);
  const cache = i.tags.filter((t) => t.startsWith('odoo-sh-next-cache/')).map(shortTag);
  return {
    image: i.id.replace(/^sha256:/, '').slice(0, 12), kind: i.kind, tags: [...release, ...cache].join(' '),
    created: i.created.replace(/\.\d+Z$/, 'Z'), size: formatBytes(i.size),
  };
}
