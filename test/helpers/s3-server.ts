/**
 * A real S3-compatible server for tests: s3rver (from npm) on 127.0.0.1, a free port and a temp
 * folder, with one bucket. s3rver does not implement ListMultipartUploads nor AbortMultipartUpload;
 * this helper adds both (over s3rver's own upload folders) so that the cleanup of interrupted
 * multipart uploads can be tested against the same server. Signatures are checked by s3rver for
 * every other request (credentials S3RVER/S3RVER).
 */
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdtemp, readdir, readFile, rm, stat} from 'node:fs/promises';
import {createRequire} from 'node:module';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export interface S3TestServer {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** s3rver's data folder (objects and open multipart uploads). */
  readonly directory: string;
  stop(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  status: number;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: Middleware[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);

/** s3rver keeps open multipart uploads in <dir>/<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,<part>}. */
function uploadsDir(directory: string, bucket: string): string {
  return join(directory, bucket, '._S3rver_uploads');
}

function multipartExtensions(directory: string): Middleware {
  return async (ctx, next) => {
    const segments = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
    const [bucket, ...keyParts] = segments;
    if (bucket && keyParts.length === 0 && ctx.method === 'GET' && 'uploads' in ctx.query) {
      const dir = uploadsDir(directory, bucket);
      const prefix = ctx.query['prefix'] ?? '';
      const uploads: {Key: string; UploadId: string; Initiated: string}[] = [];
      for (const id of existsSync(dir) ? await readdir(dir) : []) {
        const keyFile = join(dir, id, 'key');
        if (!existsSync(keyFile)) continue;
        const key = await readFile(keyFile, 'utf8');
        if (!key.startsWith(prefix)) continue;
        uploads.push({Key: key, UploadId: id, Initiated: (await stat(keyFile)).mtime.toISOString()});
      }
      uploads.sort((a, b) => a.Key.localeCompare(b.Key));
      ctx.status = 200;
      ctx.body = {
        ListMultipartUploadsResult: {
          '@': {xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/'},
          Bucket: bucket,
          Prefix: prefix,
          MaxUploads: 1000,
          IsTruncated: false,
          ...(uploads.length ? {Upload: uploads} : {}),
        },
      };
      return;
    }
    if (bucket && keyParts.length > 0 && ctx.method === 'DELETE' && ctx.query['uploadId']) {
      const dir = join(uploadsDir(directory, bucket), ctx.query['uploadId']);
      if (!/^[0-9a-f]+$/.test(ctx.query['uploadId']) || !existsSync(dir)) {
        ctx.status = 404;
        ctx.body = {Error: {Code: 'NoSuchUpload', Message: 'The specified upload does not exist.'}};
        return;
      }
      await rm(dir, {recursive: true, force: true});
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    await next();
  };
}

/** Starts s3rver on 127.0.0.1 with one bucket; stop() closes it and removes its folder. */
export async function startS3Server(): Promise<S3TestServer> {
  const S3rver = require('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const bucket = `backups-${randomBytes(3).toString('hex')}`;
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{name: bucket}],
  });
  // Before the router (the last middleware), after logging, XML rendering and vhost parsing.
  server.middleware.splice(server.middleware.length - 1, 0, multipartExtensions(directory));
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    async stop() {
      await server.close().catch(() => undefined);
      await rm(directory, {recursive: true, force: true});
    },
  };
}
