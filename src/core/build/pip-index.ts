/**
 * Where the buildpack's pip gets packages (config `build.pip`): a private index, extra indexes,
 * trusted hosts (plain-HTTP or self-signed indexes). Pure: validation and the pip arguments.
 *
 * - The settings become arguments of the python-deps layer's RUN (and so part of its cache key:
 *   another index may resolve other versions). A Dockerfile's RUN line, like a build arg, is kept
 *   in the image history (`docker history --no-trunc`), readable by anyone who can pull the image:
 *   URLs carrying credentials (`https://user:pass@host/...`) are refused.
 * - Only http(s) URLs: a build container has no access to the machine's files, so `file:` indexes
 *   cannot work.
 */
import {ConfigError} from '../errors.js';

export interface PipIndex {
  /** pip `--index-url`: replaces PyPI. */
  readonly indexUrl?: string | undefined;
  /** pip `--extra-index-url`, in order. */
  readonly extraIndexUrls?: readonly string[] | undefined;
  /** pip `--trusted-host`: hosts (`host` or `host:port`) whose HTTP or unverified HTTPS pip accepts. */
  readonly trustedHosts?: readonly string[] | undefined;
}

export const PIP_CREDENTIALS_WHY =
  'the build command of the python-deps layer is kept in the image history (docker history), readable by anyone who can pull the image';

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** What is wrong with a package index URL, or undefined. */
export function pipIndexUrlProblem(url: string): string | undefined {
  if (/\s/.test(url)) return 'contains white space';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `is not an http(s) URL (${parsed.protocol.slice(0, -1)})`;
  if (parsed.hostname === '') return 'has no host';
  if (parsed.username !== '' || parsed.password !== '') {
    return `carries credentials (user:password@): refused because ${PIP_CREDENTIALS_WHY}`;
  }
  return undefined;
}

/** What is wrong with a trusted host (`host` or `host:port`), or undefined. */
export function pipTrustedHostProblem(host: string): string | undefined {
  return HOST.test(host) ? undefined : 'is not a host name or host:port';
}

/** The validated settings (ConfigError naming the bad one). */
export function validatePipIndex(index: PipIndex): PipIndex {
  const urls: [string, string][] = [
    ...(index.indexUrl === undefined ? [] : [['build.pip.indexUrl', index.indexUrl] as [string, string]]),
    ...(index.extraIndexUrls ?? []).map((url, i): [string, string] => [`build.pip.extraIndexUrls[${i}]`, url]),
  ];
  for (const [key, url] of urls) {
    const problem = pipIndexUrlProblem(url);
    if (problem !== undefined) {
      const shown = problem.startsWith('carries credentials') ? redactCredentials(url) : url;
      throw new ConfigError(`${key} ${JSON.stringify(shown)} ${problem}`, {
        actions: problem.startsWith('carries credentials')
          ? ['serve the index without credentials to the build (e.g. a read-only mirror or proxy on the build host, then build.pip.indexUrl: http://127.0.0.1:<port>/simple)']
          : ['give an http(s) URL of a PEP 503 "simple" index, e.g. https://pypi.example.com/simple'],
      });
    }
  }
  for (const [i, host] of (index.trustedHosts ?? []).entries()) {
    const problem = pipTrustedHostProblem(host);
    if (problem !== undefined) throw new ConfigError(`build.pip.trustedHosts[${i}] ${JSON.stringify(host)} ${problem}`);
  }
  return index;
}

/** pip's arguments for the settings (empty for the defaults: PyPI). */
export function pipIndexArgs(index: PipIndex): string[] {
  validatePipIndex(index);
  return [
    ...(index.indexUrl === undefined ? [] : ['--index-url', index.indexUrl]),
    ...(index.extraIndexUrls ?? []).flatMap((url) => ['--extra-index-url', url]),
    ...(index.trustedHosts ?? []).flatMap((host) => ['--trusted-host', host]),
  ];
}

function redactCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
