/** HTTP from tests to loopback servers. */
import {request} from 'node:http';

/**
 * GET http://127.0.0.1:<port><path> with a Host header (fetch cannot set one): how tests reach
 * `<env>.<project>.<domain>` routes of a router without DNS. Resolves the status and the body
 * (trimmed); a new connection each time (no keep-alive between calls).
 */
export function getWithHost(port: number, host: string, path = '/'): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path, agent: false, headers: {host}}, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim()}));
    });
    req.on('error', reject);
    req.end();
  });
}
