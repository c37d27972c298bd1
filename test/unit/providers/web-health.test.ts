import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {InterruptedError} from '../../../src/core/errors.js';
import {probeWebHealth} from '../../../src/providers/web-health.js';

let server: Server;
let base = '';
let status = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.statusCode = req.url === '/web/health' ? status : 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('probeWebHealth', () => {
  const tail = async () => ['last line'];

  it('is healthy on 200, without reading the log', async () => {
    status = 200;
    expect(await probeWebHealth(base, AbortSignal.timeout(5000), () => Promise.reject(new Error('not read')))).toEqual({healthy: true, alive: true});
  });

  it('reports another status with the log tail', async () => {
    status = 500;
    expect(await probeWebHealth(base, AbortSignal.timeout(5000), tail))
      .toEqual({healthy: false, alive: true, reason: 'GET /web/health answered HTTP 500', logTail: ['last line']});
  });

  it('reports a refused connection as alive but not healthy', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await probeWebHealth(`http://127.0.0.1:${port}`, AbortSignal.timeout(5000), tail);
    expect(r).toMatchObject({healthy: false, alive: true, reason: 'GET /web/health failed (ECONNREFUSED)'});
  });

  it('throws InterruptedError when the caller aborts', async () => {
    status = 200;
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(probeWebHealth(base, ac.signal, tail)).rejects.toBeInstanceOf(InterruptedError);
  });
});
