#!/usr/bin/env node
// Builds the Docker images the Docker-provider tests run, locally and offline from any registry:
// `mmdebstrap --variant=minbase bookworm - | docker import --change ... - TAG` (Debian packages
// from the machine's apt sources, files put in with a sync-in customize hook).
//   odoo-sh-next-test/postgres:15  Debian postgresql-15, entrypoint compatible with the official image
//   odoo-sh-next-test/caddy:2      Debian caddy, CMD `caddy run` (+ CADDY_ADMIN env, like Caddy >= 2.7)
//   odoo-sh-next-test/odoo:17.0    the project's Node 24 + the Odoo stand-in as `odoo` on PATH
//   odoo-sh-next-test/odoo-py:17.0 the same + Debian's python3 and python3-pip (pip 23: PEP 668 applies, as
//                                  on odoo:18), for the buildpack's pip layer; built only when asked by name
// Each image carries the label odoo-sh-next.test-image-hash=<sha256 of its inputs>: an image with the
// same hash is reused, a different one is rebuilt. Usage: node scripts/docker-test-images.mjs [--force] [name...]
import {spawn, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const IMAGES = JSON.parse(readFileSync(join(ROOT, 'test/helpers/docker-images.json'), 'utf8'));
const HASH_LABEL = 'odoo-sh-next.test-image-hash';
const SOURCES = '/etc/apt/sources.list.d/debian.sources';
const SUITE = 'bookworm';
const STANDIN = join(ROOT, 'test/fixtures/odoo-standin');
const RUNTIME_TAG = 'odoo-sh-next-test/odoo-runtime:local';
const PY_RUNTIME_TAG = 'odoo-sh-next-test/odoo-py-runtime:local';
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const fail = (msg) => {
  process.stderr.write(`docker-test-images: ${msg}\n`);
  process.exit(1);
};

// ---------------------------------------------------------------- files put into the images

const POSTGRES_ENTRYPOINT = `#!/bin/bash
# odoo-sh-next test image: the interface of the official postgres image's docker-entrypoint.sh
# (POSTGRES_PASSWORD[_FILE], POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD,
# PGDATA, /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz). Differences (tests use host networking):
# listen_addresses defaults to 127.0.0.1 (pass -c listen_addresses=... to change it), TCP from
# 127.0.0.1 needs the password too (the official image trusts it; the unix socket stays trusted), no VOLUME.
set -Eeo pipefail
file_env() {
  local var="$1" fileVar="$1_FILE" def="\${2:-}"
  if [ "\${!var:-}" ] && [ "\${!fileVar:-}" ]; then echo >&2 "error: both $var and $fileVar are set"; exit 1; fi
  local val="$def"
  if [ "\${!var:-}" ]; then val="\${!var}"; elif [ "\${!fileVar:-}" ]; then val="$(< "\${!fileVar}")"; fi
  export "$var"="$val"; unset "$fileVar"
}
if [ "\${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
export PGDATA="\${PGDATA:-/var/lib/postgresql/data}"
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA" || :
  chmod 3777 /var/run/postgresql || :
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi
if [ "$1" = 'postgres' ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
      cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
EOM
      exit 1
    fi
    pwargs=()
    pwfile="$(mktemp)"
    if [ -n "$POSTGRES_PASSWORD" ]; then printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"; pwargs=(--pwfile="$pwfile"); fi
    auth="\${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" "\${pwargs[@]}" --auth-local=trust --auth-host="$auth" $POSTGRES_INITDB_ARGS -D "$PGDATA"
    rm -f "$pwfile"
    printf '\\nhost all all all %s\\n' "$auth" >> "$PGDATA/pg_hba.conf"
    printf "\\nlisten_addresses = '127.0.0.1'\\n" >> "$PGDATA/postgresql.conf"
    export PGPASSWORD="\${PGPASSWORD:-$POSTGRES_PASSWORD}"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p \${PGPORT:-5432}" -w start
    psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
    if [ "$POSTGRES_DB" != 'postgres' ]; then printf 'create database :"db";\\n' | "\${psql[@]}" -v db="$POSTGRES_DB"; fi
    psql+=(--dbname "$POSTGRES_DB")
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
        *.sql) "\${psql[@]}" -f "$f" ;;
        *.sql.gz) gunzip -c "$f" | "\${psql[@]}" ;;
        *) ;;
      esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo 'PostgreSQL init process complete; ready for start up.'
  fi
fi
exec "$@"
`;

const CADDY_ENTRYPOINT = `#!/bin/sh
# odoo-sh-next test image: Debian's caddy 2.6 has no CADDY_ADMIN env (Caddy >= 2.7 has): when it is set
# and \`caddy run\` gets no --config/--resume, start with the config {"admin":{"listen":"$CADDY_ADMIN"}}.
if [ "$1" = caddy ] && [ "$2" = run ] && [ -n "$CADDY_ADMIN" ]; then
  case " $* " in
    *" --config"*|*" --resume"*) ;;
    *) printf '{"admin":{"listen":"%s"}}\\n' "$CADDY_ADMIN" > /tmp/caddy-admin.json
       set -- "$@" --config /tmp/caddy-admin.json ;;
  esac
fi
exec "$@"
`;

const ODOO_BIN = `#!/bin/sh
# odoo-sh-next test image: the Odoo stand-in (NOT Odoo), run by the project's Node.js.
exec /usr/local/bin/node /opt/odoo-standin/odoo-bin "$@"
`;

const ODOO_ENTRYPOINT = `#!/bin/sh
# Like the official odoo image: \`odoo ARGS\` and \`-ARGS\` run odoo; anything else runs as given.
# Differences: no wait-for-psql, no DB_ARGS from HOST/PORT/USER/PASSWORD env, no VOLUME.
set -e
case "$1" in
  odoo|--) shift; exec odoo "$@" ;;
  -*) exec odoo "$@" ;;
  *) exec "$@" ;;
esac
`;

// ---------------------------------------------------------------- inputs and hashes

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

function projectNode() {
  const link = join(ROOT, 'node_modules/.bin/node');
  const bin = existsSync(link) ? realpathSync(link) : process.execPath;
  const res = spawnSync(bin, ['--version'], {encoding: 'utf8'});
  if (res.status !== 0) fail(`cannot run ${bin} --version`);
  const version = res.stdout.trim();
  if (Number(version.slice(1).split('.')[0]) < 24) fail(`the odoo image needs the project's Node 24 (npm ci), found ${version} at ${bin}`);
  return {bin, version};
}

/** The installed packages `pg` needs at runtime: dependencies (+ installed optional ones), transitively. */
function packageClosure(roots) {
  const seen = new Map();
  const visit = (name, fromDir) => {
    let dir = fromDir;
    while (!existsSync(join(dir, 'node_modules', name, 'package.json'))) {
      if (dir === ROOT || dirname(dir) === dir) return;
      dir = dirname(dirname(dir)); // .../node_modules/<pkg> → parent of node_modules
    }
    const pkgDir = join(dir, 'node_modules', name);
    if (seen.has(pkgDir)) return;
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    seen.set(pkgDir, `${pkg.name}@${pkg.version}`);
    for (const dep of Object.keys({...pkg.dependencies, ...pkg.optionalDependencies})) visit(dep, pkgDir);
  };
  for (const r of roots) visit(r, ROOT);
  return seen;
}

function sha256(parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

// Bump when the way images are built changes in a way the hashed inputs below do not show.
const BUILD_FORMAT = '1';
const MM_OPTIONS = ['--variant=minbase', '--quiet', '--aptopt=Apt::Install-Recommends "false"',
  ...['man', 'doc', 'info', 'locale'].map((d) => `--dpkgopt=path-exclude=/usr/share/${d}/*`)];

// ---------------------------------------------------------------- the images

/** @typedef {{key: string, tag: string, internal?: boolean, optional?: boolean, base?: string, include?: string[], stage: (dir: string) => void, hooks?: string[], changes?: string[], stopSignal?: string, inputs: () => (string|Buffer)[]}} Spec */

/** @type {Spec[]} */
const SPECS = [
  {
    key: 'postgres',
    tag: IMAGES.postgres,
    include: ['postgresql-15', 'postgresql-client-15'],
    stage(dir) {
      put(dir, 'usr/local/bin/docker-entrypoint.sh', POSTGRES_ENTRYPOINT, 0o755);
      mkdirSync(join(dir, 'docker-entrypoint-initdb.d'), {recursive: true});
    },
    hooks: [
      // the official image's postgres is uid/gid 999; no cluster from the Debian package
      `chroot "$1" sh -ec 'groupmod -g 999 postgres; usermod -u 999 -g 999 postgres; rm -rf /var/lib/postgresql/15 /etc/postgresql/15; mkdir -p /var/lib/postgresql/data /var/run/postgresql; chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql /var/log/postgresql; chmod 700 /var/lib/postgresql/data; chmod 3777 /var/run/postgresql'`,
    ],
    changes: [
      `ENV PATH=/usr/lib/postgresql/15/bin:${BASE_PATH}`,
      'ENV LANG=C.UTF-8',
      'ENV PGDATA=/var/lib/postgresql/data',
      'ENTRYPOINT ["docker-entrypoint.sh"]',
      'CMD ["postgres"]',
      'EXPOSE 5432',
    ],
    // fast shutdown on `docker stop`, like the official image (docker import cannot set it)
    stopSignal: 'SIGINT',
    inputs: () => [POSTGRES_ENTRYPOINT],
  },
  {
    key: 'caddy',
    tag: IMAGES.caddy,
    include: ['caddy', 'ca-certificates'],
    stage(dir) {
      put(dir, 'usr/local/bin/caddy-entrypoint.sh', CADDY_ENTRYPOINT, 0o755);
      for (const d of ['config', 'data', 'srv']) mkdirSync(join(dir, d), {recursive: true});
    },
    hooks: [],
    changes: [`ENV PATH=${BASE_PATH}`, 'ENV XDG_CONFIG_HOME=/config', 'ENV XDG_DATA_HOME=/data', 'WORKDIR /srv',
      'ENTRYPOINT ["caddy-entrypoint.sh"]', 'CMD ["caddy", "run"]'],
    inputs: () => [CADDY_ENTRYPOINT],
  },
  {
    // Debian + the project's Node + the `odoo` launcher: rebuilt only when Node changes
    key: 'odoo-runtime',
    tag: RUNTIME_TAG,
    internal: true,
    include: ['postgresql-client-15', 'libstdc++6', 'ca-certificates'],
    stage(dir) {
      mkdirSync(join(dir, 'usr/local/bin'), {recursive: true});
      copyFileSync(projectNode().bin, join(dir, 'usr/local/bin/node'));
      chmodSync(join(dir, 'usr/local/bin/node'), 0o755);
      put(dir, 'usr/bin/odoo', ODOO_BIN, 0o755);
      put(dir, 'usr/local/bin/odoo-entrypoint.sh', ODOO_ENTRYPOINT, 0o755);
      put(dir, 'etc/odoo/odoo.conf', '[options]\ndata_dir = /var/lib/odoo\n', 0o644);
      for (const d of ['mnt/extra-addons', 'var/lib/odoo', 'opt/odoo-standin']) mkdirSync(join(dir, d), {recursive: true});
    },
    hooks: [
      // the official image's odoo user (uid/gid 101, home /var/lib/odoo)
      `chroot "$1" sh -ec 'groupadd -g 101 odoo; useradd -u 101 -g 101 -d /var/lib/odoo -s /bin/bash -M odoo; chown -R odoo:odoo /var/lib/odoo /mnt/extra-addons /etc/odoo'`,
    ],
    changes: [`ENV PATH=${BASE_PATH}`, 'ENV LANG=C.UTF-8', 'ENV ODOO_RC=/etc/odoo/odoo.conf', 'USER odoo',
      'WORKDIR /var/lib/odoo', 'ENTRYPOINT ["odoo-entrypoint.sh"]', 'CMD ["odoo"]', 'EXPOSE 8069 8071 8072'],
    inputs: () => {
      const node = projectNode();
      return [ODOO_BIN, ODOO_ENTRYPOINT, node.version, String(statSync(node.bin).size)];
    },
  },
  {
    // odoo-runtime + the stand-in and the packages it imports (pg...), a few seconds to redo
    key: 'odoo',
    tag: IMAGES.odoo,
    base: 'odoo-runtime',
    stage(dir) {
      cpSync(STANDIN, join(dir, 'odoo-standin'), {recursive: true});
      for (const pkgDir of packageClosure(['pg']).keys()) {
        cpSync(pkgDir, join(dir, 'odoo-standin', relative(ROOT, pkgDir)), {recursive: true});
      }
    },
    inputs: () => {
      const files = listFiles(STANDIN).map((f) => Buffer.concat([Buffer.from(relative(STANDIN, f) + '\n'), readFileSync(f)]));
      return [...packageClosure(['pg']).values(), ...files];
    },
  },
];

// odoo-runtime and odoo again with Debian's python3 + pip (bookworm's pip 23 refuses a plain
// `pip install` with "externally-managed-environment", PEP 668, as the official odoo:18 image does):
// the buildpack's python-deps layer runs pip for real on it. Optional: built only when asked by name
// (test/helpers/docker.ts ensurePythonTestImage). Same stage functions, so the hashes of the
// images above do not change.
{
  const runtime = SPECS.find((s) => s.key === 'odoo-runtime');
  const odoo = SPECS.find((s) => s.key === 'odoo');
  SPECS.push(
    {...runtime, key: 'odoo-py-runtime', tag: PY_RUNTIME_TAG, include: [...runtime.include, 'python3', 'python3-pip']},
    {...odoo, key: 'odoo-py', tag: IMAGES['odoo-py'], base: 'odoo-py-runtime', optional: true},
  );
}

function put(dir, rel, content, mode) {
  const p = join(dir, rel);
  mkdirSync(dirname(p), {recursive: true});
  writeFileSync(p, content);
  chmodSync(p, mode);
}

const hashes = new Map();
function hashOf(spec) {
  if (!hashes.has(spec.key)) {
    const base = spec.base ? hashOf(SPECS.find((s) => s.key === spec.base)) : '';
    const recipe = [BUILD_FORMAT, ...MM_OPTIONS, SUITE, readFileSync(SOURCES), spec.tag, base, String(spec.stage)];
    const parts = [...recipe, ...(spec.include ?? []), ...(spec.changes ?? []), ...(spec.hooks ?? []), spec.stopSignal ?? ''];
    hashes.set(spec.key, sha256([...parts, ...spec.inputs()]));
  }
  return hashes.get(spec.key);
}

// ---------------------------------------------------------------- docker and mmdebstrap

function docker(args, timeout = 30_000) {
  return spawnSync('docker', args, {encoding: 'utf8', timeout});
}

function currentHash(tag) {
  const res = docker(['image', 'inspect', '--format', `{{index .Config.Labels "${HASH_LABEL}"}}`, tag]);
  return res.status === 0 ? res.stdout.trim() : undefined;
}

const labelChanges = (hash) => [`LABEL ${HASH_LABEL}=${hash}`, 'LABEL odoo-sh-next.test-image=true'];

/** A Debian rootfs from mmdebstrap, piped into `docker import`. */
function importImage(spec, hash, stage) {
  const mmArgs = [
    ...MM_OPTIONS,
    `--include=${spec.include.join(',')}`,
    `--customize-hook=sync-in ${stage} /`,
    ...spec.hooks.map((h) => `--customize-hook=${h}`),
    SUITE,
    '-',
  ];
  const changes = [...spec.changes, ...labelChanges(hash)];
  const importArgs = ['import', ...changes.flatMap((c) => ['--change', c]), '-', spec.tag];
  return new Promise((resolve) => {
    const errs = [];
    const mm = spawn('mmdebstrap', mmArgs, {stdio: [openSync(SOURCES, 'r'), 'pipe', 'pipe']});
    const imp = spawn('docker', importArgs, {stdio: ['pipe', 'ignore', 'pipe']});
    mm.stdout.pipe(imp.stdin);
    mm.stderr.on('data', (d) => errs.push(d));
    imp.stderr.on('data', (d) => errs.push(d));
    let mmCode;
    mm.on('error', (e) => errs.push(Buffer.from(String(e))));
    mm.on('exit', (code) => (mmCode = code));
    imp.on('exit', (code) => resolve({ok: code === 0 && mmCode === 0, log: Buffer.concat(errs).toString('utf8')}));
  }).then((res) => (res.ok && spec.stopSignal ? setStopSignal(spec) : res));
}

/** STOPSIGNAL through a one-line Dockerfile FROM the imported image (classic builder, no context). */
function setStopSignal(spec) {
  const res = spawnSync('docker', ['build', '-q', '-t', spec.tag, '-'], {
    input: `FROM ${spec.tag}\nSTOPSIGNAL ${spec.stopSignal}\n`,
    encoding: 'utf8',
    timeout: 120_000,
    env: {...process.env, DOCKER_BUILDKIT: '0'},
  });
  return {ok: res.status === 0, log: `docker build (STOPSIGNAL): ${res.stderr || res.error?.message || ''}`};
}

/** The base image + the staged files in /opt (docker create, docker cp, docker commit). */
function deriveImage(spec, hash, stage) {
  const base = SPECS.find((s) => s.key === spec.base);
  const name = `osn-test-image-build-${process.pid}-${spec.key}`;
  const steps = [
    ['create', '--name', name, '--label', 'odoo-sh-next.test=image-build', base.tag],
    ...readdirSync(stage).map((entry) => ['cp', join(stage, entry), `${name}:/opt/`]),
    ['commit', ...labelChanges(hash).flatMap((c) => ['--change', c]), name, spec.tag],
  ];
  let log = '';
  for (const args of steps) {
    const res = docker(args, 300_000);
    if (res.status !== 0) {
      log = `docker ${args[0]}: ${res.stderr || res.error?.message}`;
      break;
    }
  }
  docker(['rm', '-f', name]);
  return {ok: log === '', log};
}

async function build(spec, hash) {
  const stage = mkdtempSync(join(tmpdir(), `osn-image-${spec.key}-`));
  try {
    chmodSync(stage, 0o755);
    spec.stage(stage);
    return spec.base ? deriveImage(spec, hash, stage) : await importImage(spec, hash, stage);
  } finally {
    rmSync(stage, {recursive: true, force: true});
  }
}

/** One build at a time per machine (parallel test files may all ask): a lock directory with our pid. */
async function withLock(fn) {
  const lock = join(tmpdir(), 'odoo-sh-next-docker-test-images.lock');
  const holder = () => {
    try {
      const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      process.kill(pid, 0);
      return pid;
    } catch {
      return 0; // dead, or the lock is being created/removed
    }
  };
  for (let waited = 0; ; waited += 1) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const pid = holder();
      if (pid === 0 && waited > 2) rmSync(lock, {recursive: true, force: true});
      if (waited === 900) fail(`${lock} held by pid ${pid} for 15 min: remove it if no build runs`);
      if (waited === 0) console.log(`waiting for another build of the test images (pid ${pid})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, {recursive: true, force: true});
  }
}

// ---------------------------------------------------------------- main

const argv = process.argv.slice(2);
const force = argv.includes('--force');
const only = argv.filter((a) => !a.startsWith('-'));
for (const a of argv) if (a.startsWith('-') && a !== '--force') fail(`unknown option ${a} (usage: docker-test-images.mjs [--force] [postgres|caddy|odoo|odoo-py...])`);

const ping = docker(['version', '--format', '{{.Server.Version}}']);
if (ping.status !== 0) fail(`Docker engine not answering (${(ping.stderr || ping.error?.message || '').trim()}): start dockerd --bridge=none --iptables=false or run bash .ci/run`);
const unknown = only.filter((k) => !SPECS.some((s) => s.key === k));
if (unknown.length > 0) fail(`no such image: ${unknown.join(', ')} (choose from ${SPECS.map((s) => s.key).join(', ')})`);

// the asked images and the bases they derive from
const wanted = new Set(only.length > 0 ? only : SPECS.filter((s) => !s.internal && !s.optional).map((s) => s.key));
for (const s of [...SPECS].reverse()) if (wanted.has(s.key) && s.base) wanted.add(s.base);

const failed = await withLock(async () => {
  const todo = SPECS.filter((s) => wanted.has(s.key)).filter((s) => {
    if (!force && currentHash(s.tag) === hashOf(s)) {
      console.log(`${s.tag}: reused`);
      return false;
    }
    return true;
  });
  if (todo.some((s) => !s.base) && spawnSync('mmdebstrap', ['--version']).status !== 0) {
    fail('mmdebstrap is missing: apt-get install -y mmdebstrap (or run bash .ci/run)');
  }
  const ok = new Map();
  const one = async (spec) => {
    const t0 = Date.now();
    const res = spec.base && ok.get(spec.base) === false ? {ok: false, log: `base ${spec.base} failed`} : await build(spec, hashOf(spec));
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (res.ok) console.log(`${spec.tag}: built (${secs} s)`);
    else console.error(`${spec.tag}: FAILED after ${secs} s\n${res.log.split('\n').slice(-40).join('\n')}`);
    ok.set(spec.key, res.ok);
  };
  // mmdebstrap two at a time (downloads overlap; few cores), the odoo runtimes (the slowest) first;
  // then the images derived from them
  const slow = (s) => Number(s.key.endsWith('-runtime'));
  const queue = todo.filter((s) => !s.base).sort((a, b) => slow(b) - slow(a));
  const worker = async () => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) await one(spec);
  };
  await Promise.all([worker(), worker()]);
  for (const spec of todo.filter((s) => s.base)) await one(spec);
  if (todo.length > 0) docker(['image', 'prune', '--force', '--filter', 'label=odoo-sh-next.test-image=true']);
  return [...ok.values()].includes(false);
});
if (failed) process.exit(1);
