/** Test helper: a throw-away project folder with config files in it. */
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';

export interface TempProject {
  readonly dir: string;
  write(file: string, content: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function tempProject(files: Record<string, string> = {}): Promise<TempProject> {
  const dir = await mkdtemp(join(tmpdir(), 'osn-config-'));
  const project: TempProject = {
    dir,
    async write(file, content) {
      const path = join(dir, file);
      await mkdir(dirname(path), {recursive: true});
      await writeFile(path, content);
      return path;
    },
    cleanup: () => rm(dir, {recursive: true, force: true}),
  };
  for (const [file, content] of Object.entries(files)) await project.write(file, content);
  return project;
}

/** Runs `fn`, expecting it to reject; returns the error. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & {actions?: readonly string[]; data?: Record<string, unknown>}> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
