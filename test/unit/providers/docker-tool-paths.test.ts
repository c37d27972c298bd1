import {describe, expect, it} from 'vitest';
import {planToolPaths, type HostPathKind} from '../../../src/providers/docker/tool-paths.js';

const kinds = (map: Record<string, HostPathKind>) => (p: string): HostPathKind => map[p] ?? 'missing';

describe('pg tool host paths', () => {
  it('leaves argv without host paths alone', () => {
    expect(planToolPaths('pg_dump', ['-Fc', '-d', 'db'], '/tmp/s', kinds({}))).toEqual({argv: ['-Fc', '-d', 'db'], inputs: [], outputs: []});
    expect(planToolPaths('pg_restore', ['-f', '-', '-d', 'db'], '/tmp/s', kinds({})).argv).toEqual(['-f', '-', '-d', 'db']);
  });

  it('copies a directory-format dump back out, and a dump to restore in', () => {
    expect(planToolPaths('pg_dump', ['--format=directory', '--jobs=2', '--file=/h/dump', '--dbname=db'], '/tmp/s', kinds({}))).toEqual({
      argv: ['--format=directory', '--jobs=2', '--file=/tmp/s/0/dump', '--dbname=db'],
      inputs: [],
      outputs: [{host: '/h/dump', container: '/tmp/s/0/dump'}],
    });
    expect(planToolPaths('pg_restore', ['--jobs=2', '--dbname=t', '--no-owner', '/h/dump'], '/tmp/s', kinds({'/h/dump': 'dir'}))).toEqual({
      argv: ['--jobs=2', '--dbname=t', '--no-owner', '/tmp/s/0/dump'],
      inputs: [{host: '/h/dump', container: '/tmp/s/0/dump'}],
      outputs: [],
    });
    expect(planToolPaths('psql', ['-X', '-f', '/h/a.sql'], '/tmp/s', kinds({'/h/a.sql': 'file'})).inputs).toEqual([{host: '/h/a.sql', container: '/tmp/s/0/a.sql'}]);
  });

  it('feeds an output FIFO from stdout', () => {
    expect(planToolPaths('pg_dump', ['-Fc', '--file=/h/fifo', '-d', 'db'], '/tmp/s', kinds({'/h/fifo': 'fifo'}))).toEqual({
      argv: ['-Fc', '-d', 'db'], inputs: [], outputs: [], stdoutTo: '/h/fifo',
    });
  });

  it('reads pg_restore -f as its output and the positional file as its input', () => {
    expect(planToolPaths('pg_restore', ['-f', '/h/out.sql', '--data-only', '/h/in.dump'], '/tmp/s', kinds({'/h/in.dump': 'file'}))).toEqual({
      argv: ['-f', '/tmp/s/0/out.sql', '--data-only', '/tmp/s/1/in.dump'],
      inputs: [{host: '/h/in.dump', container: '/tmp/s/1/in.dump'}],
      outputs: [{host: '/h/out.sql', container: '/tmp/s/0/out.sql'}],
    });
  });
});
