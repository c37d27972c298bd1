#!/usr/bin/env node
// The public surface as checked-in contracts (house style rule 7):
//   spec/contracts/command-snapshot.json   command ids, flags, flag chars, aliases (from oclif.manifest.json)
//   spec/contracts/schemas/<id>.json       JSON Schema of each command's --json `result` (its exported *Result type)
// `node scripts/contracts.mjs write` regenerates them; `check` fails on drift (run by the test suite).
import {mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs';
import {join, relative} from 'node:path';
import {createGenerator} from 'ts-json-schema-generator';

const root = new URL('..', import.meta.url).pathname;
const mode = process.argv[2] ?? 'check';
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'));

function snapshot() {
  return Object.values(manifest.commands)
    .map((c) => ({
      command: c.id,
      aliases: [...(c.aliases ?? [])].sort(),
      flags: Object.keys(c.flags).sort(),
      flagChars: Object.values(c.flags).map((f) => f.char).filter(Boolean).sort(),
      args: Object.keys(c.args ?? {}),
    }))
    .sort((a, b) => a.command.localeCompare(b.command));
}

function commandFiles(dir = join(root, 'src/commands')) {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

function schemas() {
  const generator = createGenerator({
    path: join(root, 'src/commands/**/*.ts'),
    tsconfig: join(root, 'tsconfig.json'),
    type: '*',
    skipTypeCheck: true,
    expose: 'export',
    additionalProperties: true,
  });
  const out = {};
  for (const file of commandFiles()) {
    const id = relative(join(root, 'src/commands'), file).replace(/\.ts$/, '').split('/').join('-');
    const m = /export (?:type|interface) (\w+Result)\b/.exec(readFileSync(file, 'utf8'));
    if (!m) throw new Error(`${relative(root, file)} exports no *Result type: every command's --json result is a contract`);
    out[id] = generator.createSchema(m[1]);
  }
  return out;
}

const files = {'command-snapshot.json': snapshot()};
for (const [id, schema] of Object.entries(schemas())) files[`schemas/${id}.json`] = schema;
const dir = join(root, 'spec/contracts');
if (mode === 'write') {
  rmSync(join(dir, 'schemas'), {recursive: true, force: true});
  mkdirSync(join(dir, 'schemas'), {recursive: true});
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  console.error(`wrote ${Object.keys(files).length} contract files`);
} else {
  const drift = [];
  for (const [name, value] of Object.entries(files)) {
    const path = join(dir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== `${JSON.stringify(value, null, 2)}\n`) drift.push(name);
  }
  const known = new Set(Object.keys(files));
  if (existsSync(join(dir, 'schemas'))) {
    for (const f of readdirSync(join(dir, 'schemas'))) if (!known.has(`schemas/${f}`)) drift.push(`schemas/${f} (no such command)`);
  }
  if (drift.length) {
    console.error(`contract drift in spec/contracts: ${drift.join(', ')}\nreview the change, then run: node scripts/contracts.mjs write`);
    process.exit(1);
  }
  console.error(`contracts match (${Object.keys(files).length} files)`);
}
