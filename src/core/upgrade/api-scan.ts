/**
 * Removed-API scan of custom addons: every line of the given files matching a rule of
 * removed-apis.ts that applies between the current and the target series. Pure: the files are
 * passed in (addon-files.ts reads them).
 */
import {compareVersions} from './odoo-version.js';
import {REMOVED_APIS, type RemovedApi} from './removed-apis.js';

export interface SourceFile {
  /** Path shown in the report (relative to its addons folder, e.g. `my_module/models/x.py`). */
  readonly path: string;
  readonly text: string;
}

export interface ApiFinding {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly version: string;
  readonly message: string;
  readonly replacement: string;
  /** The matching line, trimmed (at most 200 characters). */
  readonly code: string;
}

/** Whether a file name matches a `*.ext` glob. */
export function matchesGlob(path: string, glob: string): boolean {
  const ext = glob.startsWith('*.') ? glob.slice(1) : glob;
  return path.toLowerCase().endsWith(ext.toLowerCase());
}

/** The rules removed after `current` and up to `target` (inclusive). */
export function rulesBetween(current: string, target: string, rules: readonly RemovedApi[] = REMOVED_APIS): RemovedApi[] {
  return rules.filter((r) => compareVersions(r.version, current) > 0 && compareVersions(r.version, target) <= 0);
}

export function scanRemovedApis(files: readonly SourceFile[], current: string, target: string, rules: readonly RemovedApi[] = REMOVED_APIS): ApiFinding[] {
  const active = rulesBetween(current, target, rules);
  const findings: ApiFinding[] = [];
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const own = active.filter((r) => matchesGlob(file.path, r.files));
    if (own.length === 0) continue;
    file.text.split(/\r?\n/).forEach((text, i) => {
      for (const r of own) {
        if (r.pattern.test(text)) {
          findings.push({file: file.path, line: i + 1, rule: r.id, version: r.version, message: r.message, replacement: r.replacement,
            code: text.trim().slice(0, 200)});
        }
      }
    });
  }
  return findings;
}
