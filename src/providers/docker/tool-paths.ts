/**
 * pg tools run inside the Postgres container, but callers may name files of THIS machine in their
 * argv (a dump file to restore, a directory-format dump with --jobs, a FIFO to write a dump into).
 * This pure planner finds those paths and says how to bridge each one: inputs are copied into a
 * scratch folder of the container first, outputs copied back afterwards, and an output FIFO is
 * fed from the tool's stdout. Only absolute paths are considered; `-` (stdin/stdout) is left alone.
 */
import {basename} from 'node:path';
import type {PgTool} from '../provider.js';

export type HostPathKind = 'file' | 'dir' | 'fifo' | 'missing';

export interface ToolPathPlan {
  /** argv with host paths replaced by container paths. */
  readonly argv: string[];
  /** Host files/folders to copy into the container (to `container`) before running. */
  readonly inputs: {readonly host: string; readonly container: string}[];
  /** Host paths to copy back from the container after a successful run. */
  readonly outputs: {readonly host: string; readonly container: string}[];
  /** A host FIFO the tool's stdout is written into (its --file option is dropped). */
  readonly stdoutTo?: string;
}

/** The option naming a file, per tool, and whether that file is read (input) or written (output). */
const FILE_OPTION: Readonly<Record<PgTool, 'input' | 'output'>> = {psql: 'input', pg_dump: 'output', pg_restore: 'output'};

/** Plans the bridging of host paths in argv; `kind` tells what a host path is (an I/O lookup done by the caller). */
export function planToolPaths(tool: PgTool, argv: readonly string[], scratch: string, kind: (path: string) => HostPathKind): ToolPathPlan {
  const out: string[] = [];
  const inputs: {host: string; container: string}[] = [];
  const outputs: {host: string; container: string}[] = [];
  let stdoutTo: string | undefined;
  let n = 0;
  const mapped = (host: string) => `${scratch}/${n++}/${basename(host)}`;
  const bridge = (host: string, role: 'input' | 'output'): string | undefined => {
    if (!host.startsWith('/')) return host;
    if (role === 'input') {
      const container = mapped(host);
      inputs.push({host, container});
      return container;
    }
    if (kind(host) === 'fifo' && stdoutTo === undefined) {
      stdoutTo = host;
      return undefined;
    }
    const container = mapped(host);
    outputs.push({host, container});
    return container;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const long = /^--file=(.*)$/.exec(arg);
    if (long) {
      const path = bridge(long[1]!, FILE_OPTION[tool]);
      if (path !== undefined) out.push(`--file=${path}`);
      continue;
    }
    if ((arg === '-f' || arg === '--file') && i + 1 < argv.length) {
      const path = bridge(argv[++i]!, FILE_OPTION[tool]);
      if (path !== undefined) out.push(arg, path);
      continue;
    }
    // pg_restore's positional argument is its input (a dump file or a directory-format dump).
    if (tool === 'pg_restore' && arg.startsWith('/')) {
      out.push(bridge(arg, 'input')!);
      continue;
    }
    out.push(arg);
  }
  return {argv: out, inputs, outputs, ...(stdoutTo === undefined ? {} : {stdoutTo})};
}
