/**
 * A client load loop for router and deploy tests: N concurrent loops issue GET requests through
 * the router until stopped, and every non-200 answer or connection error counts as failed. Half
 * the loops (by default) reuse one keep-alive connection each, the others open a new connection
 * per request, so both ways a browser talks to the router are covered. No retries: a request that
 * fails once is a failure.
 */
import http from 'node:http';

export interface LoadOptions {
  /** Router URL, e.g. http://127.0.0.1:8080/web/health (path and query are used as given). */
  readonly url: string;
  /** Host header to send (e.g. main.acme.localhost); default: the URL's host. */
  readonly hostHeader?: string;
  /** Concurrent loops (default 8). */
  readonly clients?: number;
  /** How many of the loops use a keep-alive connection (default: half, rounded up). */
  readonly keepAliveClients?: number;
  /** Per-request timeout (default 10 s); a timeout counts as failed. */
  readonly timeoutMs?: number;
  /** Pause between requests of one loop (default 0). */
  readonly pauseMs?: number;
  /** Keep at most this many error samples (default 20). */
  readonly maxErrorSamples?: number;
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  /** Count per HTTP status, or per error code and connection kind for connection errors ("ECONNRESET (new connection)"). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Count per response body of the 200 answers (trimmed, first 80 characters). */
  readonly byBody: Readonly<Record<string, number>>;
  /** A sample of the failures. */
  readonly errors: readonly string[];
  readonly seconds: number;
}

export interface LoadHandle {
  /** Counts so far (the loops keep running). */
  snapshot(): LoadResult;
  /** Stops every loop after its current request and returns the totals. */
  stop(): Promise<LoadResult>;
}

export function startLoad(opts: LoadOptions): LoadHandle {
  const url = new URL(opts.url);
  const clients = opts.clients ?? 8;
  const keepAliveClients = opts.keepAliveClients ?? Math.ceil(clients / 2);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxSamples = opts.maxErrorSamples ?? 20;
  const started = performance.now();
  const byStatus: Record<string, number> = {};
  const byBody: Record<string, number> = {};
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  let stopping = false;

  const fail = (key: string, detail: string): void => {
    failed += 1;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    if (errors.length < maxSamples) errors.push(`${new Date().toISOString()} ${detail}`);
  };

  const once = (agent: http.Agent | false): Promise<void> => new Promise((resolve) => {
    const req = http.request({
      host: url.hostname, port: url.port || 80, path: `${url.pathname}${url.search}`, method: 'GET', agent,
      headers: {host: opts.hostHeader ?? url.host, ...(agent === false ? {connection: 'close'} : {})},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err: NodeJS.ErrnoException) => { fail(err.code ?? 'error', `response: ${err.message}`); resolve(); });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').trim().slice(0, 80);
        if (res.statusCode === 200) {
          ok += 1;
          byStatus['200'] = (byStatus['200'] ?? 0) + 1;
          byBody[body] = (byBody[body] ?? 0) + 1;
        } else {
          fail(String(res.statusCode), `status ${res.statusCode}: ${body}`);
        }
        resolve();
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), {code: 'timeout'})));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const kind = agent === false ? 'new connection' : req.reusedSocket ? 'reused keep-alive connection' : 'new keep-alive connection';
      fail(`${err.code ?? 'error'} (${kind})`, `${kind}: ${err.message}`);
      resolve();
    });
    req.end();
  });

  const loop = async (keepAlive: boolean): Promise<void> => {
    const agent = keepAlive ? new http.Agent({keepAlive: true, maxSockets: 1}) : false;
    try {
      while (!stopping) {
        await once(agent);
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    } finally {
      if (agent) agent.destroy();
    }
  };

  const loops = Array.from({length: clients}, (_, i) => loop(i < keepAliveClients));
  const snapshot = (): LoadResult => ({
    ok, failed, byStatus: {...byStatus}, byBody: {...byBody}, errors: [...errors], seconds: (performance.now() - started) / 1000,
  });
  return {
    snapshot,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return snapshot();
    },
  };
}
