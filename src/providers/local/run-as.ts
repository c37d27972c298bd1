import {readFileSync} from 'node:fs';

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/**
 * PostgreSQL refuses to run as root. When this process is root, the cluster's processes run as an
 * unprivileged system account: $ODOO_SH_NEXT_PG_USER, else `postgres`, else `nobody`.
 * Returns undefined when no switch is needed.
 */
export function unprivilegedAccount(passwd = '/etc/passwd'): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    text = '';
  }
  const accounts = new Map<string, RunAs>();
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid && gid) accounts.set(name, {name, uid: Number(uid), gid: Number(gid)});
  }
  const wanted = [process.env['ODOO_SH_NEXT_PG_USER'], 'postgres', 'nobody'].filter((n): n is string => !!n);
  for (const name of wanted) {
    const account = accounts.get(name);
    if (account && account.uid !== 0) return account;
  }
  return {name: 'nobody', uid: 65534, gid: 65534};
}
