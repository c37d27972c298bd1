/**
 * Which modules a deploy updates (`-u`): the installed modules whose latest_version in the
 * database differs from the version in the release's manifests (adapted to the series the way
 * Odoo does: "1.2" → "17.0.1.2"). `-u all` only when asked. Pure.
 */

export interface InstalledModule {
  readonly name: string;
  readonly latestVersion: string | null;
}

export interface ModuleUpdatePlan {
  /** The -u list, sorted; ['all'] with allModules; empty → no update run. */
  readonly modules: readonly string[];
  /** name → {from, to} for every module that moved. */
  readonly changes: Readonly<Record<string, {readonly from: string | null; readonly to: string}>>;
}

/** odoo.modules.module.adapt_version. */
export function adaptVersion(version: string, series: string): string {
  if (version === series || !version.startsWith(`${series}.`)) return `${series}.${version}`;
  return version;
}

export function planModuleUpdate(input: {
  readonly odooVersion: string;
  readonly releaseModules: Readonly<Record<string, string>>;
  readonly installed: readonly InstalledModule[];
  readonly allModules?: boolean;
}): ModuleUpdatePlan {
  const changes: Record<string, {from: string | null; to: string}> = {};
  for (const m of input.installed) {
    const manifest = input.releaseModules[m.name];
    if (manifest === undefined) continue;
    const to = adaptVersion(manifest, input.odooVersion);
    if (m.latestVersion !== to) changes[m.name] = {from: m.latestVersion, to};
  }
  const names = Object.keys(changes).sort();
  return {modules: input.allModules ? ['all'] : names, changes};
}

/** `-u` argv for the plan, or undefined when nothing is to update. */
export function updateArgs(plan: ModuleUpdatePlan): string[] | undefined {
  return plan.modules.length === 0 ? undefined : ['-u', plan.modules.join(','), '--stop-after-init'];
}

/** Parses `name<TAB>state<TAB>latest_version` rows (psql -A -t -F '\t'). */
export function parseInstalledRows(stdout: string): InstalledModule[] {
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const [name = '', version = ''] = line.split('\t');
    return {name, latestVersion: version === '' ? null : version};
  });
}

export const INSTALLED_MODULES_SQL = "select name, latest_version from ir_module_module where state = 'installed' order by name";
