import {request} from 'node:http';

export interface DockerPing {
  readonly ok: boolean;
  /** The engine's API version (Api-Version header) when it answered. */
  readonly apiVersion?: string;
  readonly error?: string;
}

/**
 * GET /_ping on a Docker engine's unix socket with plain node:http (no Docker client library).
 * Never throws: an unreachable engine is reported as {ok: false, error}.
 */
export function pingDocker(socketPath: string, timeoutMs = 3000): Promise<DockerPing> {
  return new Promise((resolve) => {
    const req = request({socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs, headers: {host: 'docker'}}, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const apiVersion = res.headers['api-version'];
        const version = typeof apiVersion === 'string' ? {apiVersion} : {};
        if (res.statusCode === 200 && body.trim() === 'OK') resolve({ok: true, ...version});
        else resolve({ok: false, ...version, error: `HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`});
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ok: false, error: err.message}));
    req.end();
  });
}
