/**
 * The Python requirements of an image: every addon's requirements.txt and manifest
 * `external_dependencies.python`, merged into one deterministic requirements file. Pure.
 *
 * - Requirements are grouped by normalized package name and marker; extras and version clauses
 *   of a group are united into one line (`requests[socks]>=2.0,==2.31`), lines sorted.
 * - Two different exact pins (`==`, `===`, `@ URL`) of one package are an error naming both
 *   addons: picking one would silently break the other. Other contradictions (`==2.31` with
 *   `<2`) are left to pip, which reports them at build time.
 * - Which addon asked for a package is not part of the result, so moving a requirement from one
 *   addon to another does not rebuild the layer.
 */
import {ConfigError} from '../errors.js';
import {compareCodeUnits} from './layer-key.js';
import type {Requirement} from './addon-sources.js';

export interface AddonRequirements {
  /** Names the addon in errors, e.g. `addon sale_ext in ./addons`. */
  readonly origin: string;
  readonly requirements: readonly Requirement[];
}

interface Group {
  readonly name: string;
  readonly marker: string | undefined;
  readonly extras: Set<string>;
  readonly specifiers: Set<string>;
  /** exact pin → origin of its first occurrence */
  readonly pins: Map<string, string>;
}

function isExactPin(clause: string): boolean {
  return clause.startsWith('@') || clause.startsWith('===') || (clause.startsWith('==') && !clause.endsWith('*'));
}

function line(group: Group): string {
  const extras = group.extras.size > 0 ? `[${[...group.extras].sort(compareCodeUnits).join(',')}]` : '';
  const specs = [...group.specifiers].sort(compareCodeUnits);
  const url = specs.find((s) => s.startsWith('@'));
  const version = url === undefined ? specs.join(',') : ` ${url}`;
  const marker = group.marker === undefined ? '' : `${url === undefined ? '' : ' '}; ${group.marker}`;
  return `${group.name}${extras}${version}${marker}`;
}

/** The merged requirement lines, sorted; `[]` when no addon needs anything. */
export function mergeRequirements(addons: readonly AddonRequirements[]): string[] {
  const groups = new Map<string, Group>();
  for (const addon of addons) {
    for (const req of addon.requirements) {
      const id = `${req.name}\u0000${req.marker ?? ''}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = {name: req.name, marker: req.marker, extras: new Set(), specifiers: new Set(), pins: new Map()};
        groups.set(id, group);
      }
      for (const extra of req.extras) group.extras.add(extra);
      for (const clause of req.specifiers) {
        if (isExactPin(clause) && !group.pins.has(clause)) {
          const [otherPin, otherOrigin] = [...group.pins][0] ?? [];
          if (otherPin !== undefined) {
            const show = (pin: string) => (pin.startsWith('@') ? `${req.name} ${pin}` : `${req.name}${pin}`);
            throw new ConfigError(
              `conflicting pins for Python package "${req.name}": ${show(otherPin)} (${otherOrigin}) and ${show(clause)} (${addon.origin}): pin one version`,
              {actions: ['make both addons require the same version, or loosen one of them (e.g. >=)']},
            );
          }
          group.pins.set(clause, addon.origin);
        }
        group.specifiers.add(clause);
      }
    }
  }
  return [...groups.values()].map(line).sort(compareCodeUnits);
}

/** The requirements.txt written into the image (`''` when empty). */
export function requirementsText(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
