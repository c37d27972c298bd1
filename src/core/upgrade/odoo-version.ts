/**
 * Odoo versions for the upgrade advisor: the series a preview may target, and Odoo's ordering of
 * module versions (migration folders such as `17.0.1.1` or `1.1`). Pure.
 */
import {UsageError} from '../errors.js';
import {adaptVersion} from '../release/module-update-plan.js';

/** Series an upgrade preview may target (16.0 and later: the ones odoo-sh-next supports). */
export const KNOWN_SERIES = ['16.0', '17.0', '18.0', '19.0'] as const;

const SERIES_RE = /^(\d{1,3})\.0$/;

/** The major number of a series or module version: "17.0" → 17, "17.0.1.2" → 17; undefined when not a version. */
export function majorOf(version: string): number | undefined {
  const m = /^(\d{1,3})\.\d+/.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}

/**
 * `--to-version`: a known series (16.0-18.0 and the newer ones in KNOWN_SERIES), not lower than the
 * current one. The same series is allowed (a rehearsal of `-u all`). UsageError otherwise.
 */
export function validateTargetVersion(to: string, current: string): string {
  const target = to.trim();
  if (!SERIES_RE.test(target) || !(KNOWN_SERIES as readonly string[]).includes(target)) {
    throw new UsageError(`--to-version "${to}" is not a known Odoo series: use ${KNOWN_SERIES.join(', ')}`, {data: {to, known: KNOWN_SERIES}});
  }
  const cur = majorOf(current);
  if (cur !== undefined && majorOf(target)! < cur) {
    throw new UsageError(`--to-version ${target} is lower than the current Odoo version ${current}: Odoo databases cannot be downgraded`, {
      data: {to: target, current},
    });
  }
  return target;
}

/** Numeric parts of a dotted version; non-numeric parts count as 0. */
function parts(version: string): number[] {
  return version.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
}

/** Compares dotted versions numerically ("17.0.1.10" > "17.0.1.9"; "17.0.1" < "17.0.1.0"). */
export function compareVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === undefined) return -1;
    if (y[i] === undefined) return 1;
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return 0;
}

/**
 * The migration folders of a module that an update from `installed` to `target` runs, in the order
 * Odoo runs them (odoo.modules.migration): folder names are adapted to the target series like
 * manifest versions (`1.1` → `18.0.1.1`); a folder runs when installed < version <= target;
 * `0.0.0` runs on every update (first). Folders that are not versions are ignored.
 */
export function migrationsToRun(folders: readonly string[], installed: string | null, target: string, series: string): string[] {
  if (installed === null) return [];
  const picked: {folder: string; version: string}[] = [];
  for (const folder of folders) {
    if (folder === '0.0.0') {
      picked.push({folder, version: '0'});
      continue;
    }
    if (!/^\d+(\.\d+){1,4}$/.test(folder)) continue;
    const version = adaptVersion(folder, series);
    if (compareVersions(installed, version) < 0 && compareVersions(version, target) <= 0) picked.push({folder, version});
  }
  return picked.sort((a, b) => compareVersions(a.version, b.version)).map((p) => p.folder);
}
