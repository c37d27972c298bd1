/**
 * Reads an addon's `__manifest__.py` the way Odoo does (`ast.literal_eval` of the whole file),
 * without Python. Pure. Supported literals: dicts, lists, tuples, sets (as lists), strings
 * (quotes, triple quotes, r/u/b prefixes, escapes, implicit concatenation), ints, floats,
 * True/False/None, comments and trailing commas. Anything else (names, calls, f-strings) is an
 * error, as it is for Odoo.
 */
import {ConfigError} from '../errors.js';

export type PyValue = null | boolean | number | string | PyValue[] | {[key: string]: PyValue};

export interface AddonManifest {
  readonly name?: string | undefined;
  readonly version?: string | undefined;
  readonly depends: readonly string[];
  /** `external_dependencies.python`. */
  readonly externalPythonDeps: readonly string[];
  /** `external_dependencies.bin`. */
  readonly externalBinDeps: readonly string[];
  readonly installable: boolean;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

class Parser {
  pos = 0;
  constructor(readonly text: string, readonly where: string) {}

  fail(why: string): never {
    const line = this.text.slice(0, this.pos).split('\n').length;
    throw new ConfigError(`${this.where}: line ${line}: ${why} (the manifest must be one Python literal)`);
  }

  skip(): void {
    for (;;) {
      const m = /^(?:[ \t\r\n\f]+|#[^\n]*|\\\r?\n)/.exec(this.text.slice(this.pos, this.pos + 4096));
      if (!m) return;
      this.pos += m[0].length;
    }
  }

  peek(): string {
    this.skip();
    return this.text[this.pos] ?? '';
  }

  eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos += 1;
    return true;
  }

  items(close: string): PyValue[] {
    const out: PyValue[] = [];
    while (!this.eat(close)) {
      out.push(this.value());
      if (!this.eat(',') && this.peek() !== close) this.fail(`expected "," or "${close}"`);
    }
    return out;
  }

  value(): PyValue {
    const ch = this.peek();
    if (ch === '[') {
      this.pos++;
      return this.items(']');
    }
    if (ch === '(') {
      this.pos++;
      if (this.eat(')')) return [];
      const first = this.value();
      if (this.eat(')')) return first;
      if (!this.eat(',')) this.fail('expected "," or ")"');
      return [first, ...this.items(')')];
    }
    if (ch === '{') return this.dictOrSet();
    if (ch === '-' || ch === '+' || /[0-9.]/.test(ch)) return this.number();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))?.[0] ?? '';
    const next = this.text[this.pos + word.length];
    if (/^[rRuUbB]{1,2}$/.test(word) && (next === "'" || next === '"')) return this.strings();
    if (word === '' && (ch === "'" || ch === '"')) return this.strings();
    this.pos += word.length;
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    this.pos -= word.length;
    return this.fail(word === '' ? `unexpected ${ch === '' ? 'end of file' : JSON.stringify(ch)}` : `"${word}" is not a literal`);
  }

  dictOrSet(): PyValue {
    this.pos++;
    if (this.eat('}')) return {};
    const first = this.value();
    if (!this.eat(':')) return [first, ...(this.eat(',') ? this.items('}') : (this.eat('}') ? [] : this.fail('expected "," or "}"')))];
    const dict: {[key: string]: PyValue} = {};
    let key = first;
    for (;;) {
      if (typeof key !== 'string') this.fail('manifest keys must be strings');
      dict[key] = this.value();
      if (this.eat('}')) return dict;
      if (!this.eat(',')) this.fail('expected "," or "}"');
      if (this.eat('}')) return dict;
      key = this.value();
      if (!this.eat(':')) this.fail('expected ":"');
    }
  }

  number(): number {
    const m = /^[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9_]+)?)/.exec(this.text.slice(this.pos));
    const text = m?.[0].replace(/_/g, '') ?? '';
    const sign = text.startsWith('-') ? -1 : 1;
    const body = text.replace(/^[-+]/, '');
    const n = /^0[xXoObB]/.test(body) ? Number(body.toLowerCase()) : Number(body);
    if (body === '' || body === '.' || Number.isNaN(n)) this.fail('bad number');
    this.pos += m![0].length;
    return sign * n;
  }

  /** One string, or several written next to each other ('a' 'b' is 'ab'). */
  strings(): string {
    let out = '';
    for (;;) {
      out += this.string();
      this.skip();
      if (!/^[rRuUbB]{0,2}['"]/.test(this.text.slice(this.pos, this.pos + 3))) return out;
    }
  }

  string(): string {
    const prefix = /^[rRuUbB]{0,2}/.exec(this.text.slice(this.pos))![0];
    const raw = /r/i.test(prefix);
    this.pos += prefix.length;
    const quote = this.text.startsWith(this.text[this.pos]!.repeat(3), this.pos) ? this.text[this.pos]!.repeat(3) : this.text[this.pos]!;
    this.pos += quote.length;
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string');
      if (this.text.startsWith(quote, this.pos)) {
        this.pos += quote.length;
        return out;
      }
      const c = this.text[this.pos]!;
      if (c === '\n' && quote.length === 1) this.fail('unterminated string');
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = this.text[this.pos + 1] ?? '';
      if (raw) {
        out += c + e;
        this.pos += 2;
      } else if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        this.pos += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = this.text.slice(this.pos + 2, this.pos + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail(`bad \\${e} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += 2 + len;
      } else if (/[0-7]/.test(e)) {
        const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.pos + 1, this.pos + 4))![0];
        out += String.fromCodePoint(parseInt(octal, 8));
        this.pos += 1 + octal.length;
      } else {
        out += c + e; // Python keeps unknown escapes as they are
        this.pos += 2;
      }
    }
  }
}

/**
 * Import names that older manifests (OCA modules before 16.0 in particular) list under
 * `external_dependencies.python` instead of the PyPI name pip needs. Odoo itself accepts both
 * (it falls back to importing the name), pip does not.
 */
const IMPORT_TO_PYPI: Readonly<Record<string, string>> = {
  Crypto: 'pycryptodome', Levenshtein: 'python-Levenshtein', OpenSSL: 'pyOpenSSL', PIL: 'Pillow', barcode: 'python-barcode',
  bs4: 'beautifulsoup4', cv2: 'opencv-python', dateutil: 'python-dateutil', dns: 'dnspython', docx: 'python-docx', git: 'GitPython',
  jose: 'python-jose', jwt: 'PyJWT', ldap: 'python-ldap', magic: 'python-magic', serial: 'pyserial', sklearn: 'scikit-learn',
  slugify: 'python-slugify', stdnum: 'python-stdnum', usb: 'pyusb', yaml: 'PyYAML', zmq: 'pyzmq',
};

/** The PyPI requirement for a manifest `external_dependencies.python` entry (import names mapped). */
export function pypiName(entry: string): string {
  const name = entry.trim();
  return Object.hasOwn(IMPORT_TO_PYPI, name) ? IMPORT_TO_PYPI[name]! : name;
}

/** Evaluates a Python literal like `ast.literal_eval`. */
export function parsePythonLiteral(text: string, where: string): PyValue {
  const parser = new Parser(text.replace(/^\uFEFF/, ''), where);
  const value = parser.value();
  if (parser.peek() !== '') parser.fail('unexpected text after the literal');
  return value;
}

function stringList(value: PyValue | undefined, field: string, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ConfigError(`${where}: "${field}" must be a list of strings`);
  return value as string[];
}

/** The fields of a manifest the build needs, type-checked. */
export function parseManifest(text: string, where: string): AddonManifest {
  const value = parsePythonLiteral(text, where);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${where}: the manifest is not a dict`);
  const ext = value.external_dependencies ?? {};
  if (ext === null || typeof ext !== 'object' || Array.isArray(ext)) throw new ConfigError(`${where}: "external_dependencies" must be a dict`);
  const optionalString = (field: string): string | undefined => {
    const v = value[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ConfigError(`${where}: "${field}" must be a string`);
    return v;
  };
  return {
    name: optionalString('name'),
    version: optionalString('version'),
    depends: stringList(value.depends, 'depends', where),
    externalPythonDeps: stringList(ext.python, 'external_dependencies.python', where),
    externalBinDeps: stringList(ext.bin, 'external_dependencies.bin', where),
    installable: value.installable === undefined ? true : Boolean(value.installable),
  };
}
