import {createHash, createHmac, pbkdf2Sync, randomBytes} from 'node:crypto';

/**
 * A PostgreSQL SCRAM-SHA-256 password verifier (what `alter role ... password` stores), computed
 * client-side so the clear-text password never reaches the server or its logs:
 * SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (RFC 5802 / 7677, base64).
 * Non-ASCII passwords are NFKC-normalized (the core of SASLprep).
 */
export function scramSha256Verifier(password: string, opts: {salt?: Buffer; iterations?: number} = {}): string {
  const salt = opts.salt ?? randomBytes(16);
  const iterations = opts.iterations ?? 4096;
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
