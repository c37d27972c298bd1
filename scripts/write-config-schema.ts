/**
 * Writes the JSON Schema of the configuration file to spec/contracts/config.schema.json.
 *
 *   node --import tsx scripts/write-config-schema.ts          # write
 *   node --import tsx scripts/write-config-schema.ts --check  # exit 1 when the committed file is stale
 *
 * (tsx is needed because src/ imports use NodeNext `.js` specifiers, which Node's own type
 * stripping does not map to `.ts` files.)
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {configJsonSchema} from '../src/core/config/json-schema.ts';

const target = fileURLToPath(new URL('../spec/contracts/config.schema.json', import.meta.url));
const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(`${target} is out of date: run node --import tsx scripts/write-config-schema.ts`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
