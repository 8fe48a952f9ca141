// NETCONF users: roles, password hashes (scrypt) and SSH public keys.
//
// Password hash format (self-describing, one string):
//   scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>
// e.g. scrypt$16384$8$1$3q2+7w...$Yk9x... (standard base64 with padding).
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';

export type Role = 'read-only' | 'read-write';
export const ROLES: readonly Role[] = ['read-only', 'read-write'];

export interface NetconfUser {
  name: string;
  role: Role;
  /** A hash made by hashPassword(). */
  passwordHash?: string;
  /** OpenSSH public key lines ("ssh-ed25519 AAAA... comment"); authorized_keys options are not supported. */
  authorizedKeys?: string[];
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** 2^14, 8, 1: about 16 MiB and a few tens of milliseconds per hash. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = { N: 16384, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
// Bounds on parameters read from a hash, so a configured hash cannot make a login attempt use
// gigabytes of memory or minutes of CPU.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_N_R = (1 << 20) * 8; // 128 * N * r bytes of memory: at most 1 GiB

/** A password hash taken apart. */
export interface PasswordHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

function decodeB64(s: string): Buffer | undefined {
  if (!B64.test(s) || s.length % 4 !== 0) return undefined;
  return Buffer.from(s, 'base64');
}

function checkParams(params: ScryptParams): string | undefined {
  const { N, r, p } = params;
  if (!Number.isSafeInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) {
    return `scrypt N must be a power of two in 2..${MAX_N}, got ${N}`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_R) return `scrypt r must be in 1..${MAX_R}, got ${r}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) return `scrypt p must be in 1..${MAX_P}, got ${p}`;
  if (N * r > MAX_N_R) return `scrypt N*r must be at most ${MAX_N_R}, got ${N * r}`;
  return undefined;
}

/** Parse a hash made by hashPassword(); throws an Error saying what is wrong. The hash itself is never quoted. */
export function parsePasswordHash(text: string): PasswordHash {
  if (typeof text !== 'string') throw new Error('password hash must be a string');
  const fields = text.split('$');
  if (fields.length !== 6 || fields[0] !== 'scrypt') {
    throw new Error('password hash is not in the format scrypt$N$r$p$<salt base64>$<hash base64> (use hashPassword)');
  }
  const [, n, r, p, salt64, hash64] = fields as [string, string, string, string, string, string];
  for (const [name, v] of [
    ['N', n],
    ['r', r],
    ['p', p],
  ] as const) {
    if (!DECIMAL.test(v)) throw new Error(`password hash: scrypt ${name} is not a positive decimal integer`);
  }
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const bad = checkParams(params);
  if (bad) throw new Error(`password hash: ${bad}`);
  const salt = decodeB64(salt64);
  if (!salt || salt.length < 8) throw new Error('password hash: salt is not base64 of at least 8 bytes');
  const hash = decodeB64(hash64);
  if (!hash || hash.length < 16 || hash.length > 64) throw new Error('password hash: hash is not base64 of 16 to 64 bytes');
  return { ...params, salt, hash };
}

function scryptOptions(h: ScryptParams) {
  return { N: h.N, r: h.r, p: h.p, maxmem: 128 * h.N * h.r * 2 + 1024 * 1024 };
}

/** Hash a password with scrypt and a random 16-byte salt, in the self-describing format above. */
export function hashPassword(plain: string, params: Partial<ScryptParams> = {}): string {
  if (typeof plain !== 'string') throw new TypeError('password must be a string');
  const full: ScryptParams = { ...DEFAULT_SCRYPT_PARAMS, ...params };
  const bad = checkParams(full);
  if (bad) throw new RangeError(bad);
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(Buffer.from(plain, 'utf8'), salt, HASH_BYTES, scryptOptions(full));
  return `scrypt$${full.N}$${full.r}$${full.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Check a password against a hash, in constant time. False (never a throw) for a malformed hash. */
export function verifyPassword(plain: string, hash: string): boolean {
  let h: PasswordHash;
  try {
    h = parsePasswordHash(hash);
  } catch {
    return false;
  }
  const got = scryptSync(Buffer.from(String(plain), 'utf8'), h.salt, h.hash.length, scryptOptions(h));
  return timingSafeEqual(got, h.hash);
}

/** verifyPassword() off the event loop (scrypt in the libuv thread pool). */
export function verifyPasswordAsync(plain: string, hash: string): Promise<boolean> {
  let h: PasswordHash;
  try {
    h = parsePasswordHash(hash);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    scrypt(Buffer.from(String(plain), 'utf8'), h.salt, h.hash.length, scryptOptions(h), (err, got) => {
      resolve(!err && timingSafeEqual(got, h.hash));
    });
  });
}

/**
 * Parse one OpenSSH public key line ("<type> <base64> [comment]") with ssh2's parser. Throws an
 * Error saying what is wrong. Private keys and authorized_keys options are refused.
 */
export function parseAuthorizedKey(line: string): ParsedKey {
  if (typeof line !== 'string') throw new Error('authorized key must be a string');
  const text = line.trim();
  if (text === '') throw new Error('authorized key is empty');
  if (text.includes('PRIVATE KEY')) throw new Error('authorized key is a private key; give the public key line');
  if (!/^(ssh-|ecdsa-sha2-)/.test(text)) {
    throw new Error('authorized key must start with the key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-...); options are not supported');
  }
  let parsed = utils.parseKey(text);
  if (Array.isArray(parsed)) parsed = parsed[0] as ParsedKey;
  if (parsed instanceof Error) throw new Error(`authorized key cannot be parsed: ${parsed.message}`);
  if (!parsed) throw new Error('authorized key cannot be parsed');
  if (parsed.isPrivateKey()) throw new Error('authorized key is a private key; give the public key line');
  return parsed;
}

/** OpenSSH-style fingerprint of a public key (SSH wire blob or parsed key): "SHA256:<base64, no padding>". */
export function keyFingerprint(key: Buffer | ParsedKey): string {
  const blob = Buffer.isBuffer(key) ? key : key.getPublicSSH();
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Users with their keys parsed, by name. */
export interface UserTable {
  get(name: string): { user: NetconfUser; keys: ParsedKey[] } | undefined;
  readonly size: number;
}

/**
 * Check a user list and return it indexed by name. Throws one Error listing every problem:
 * a missing or duplicate name, an unknown role, no authentication method, a password hash not
 * in hashPassword()'s format, a malformed authorized key.
 */
export function validateUsers(users: readonly NetconfUser[]): UserTable {
  if (!Array.isArray(users)) throw new Error('users must be an array');
  const problems: string[] = [];
  const table = new Map<string, { user: NetconfUser; keys: ParsedKey[] }>();
  users.forEach((u, i) => {
    const name = u && typeof u.name === 'string' ? u.name : undefined;
    const who = name ? `user '${name}'` : `user #${i + 1}`;
    if (!u || typeof u !== 'object') {
      problems.push(`${who}: not an object`);
      return;
    }
    if (!name || name.trim() !== name || /[\x00-\x1f\x7f]/.test(name)) {
      problems.push(`${who}: name must be a non-empty string without surrounding whitespace or control characters`);
    } else if (table.has(name)) {
      problems.push(`${who}: defined more than once`);
    }
    if (!ROLES.includes(u.role)) {
      problems.push(`${who}: unknown role ${JSON.stringify(u.role)} (expected ${ROLES.join(' or ')})`);
    }
    const hasPassword = u.passwordHash !== undefined;
    const keyLines = u.authorizedKeys ?? [];
    if (!Array.isArray(keyLines)) problems.push(`${who}: authorizedKeys must be an array of strings`);
    if (!hasPassword && (!Array.isArray(keyLines) || keyLines.length === 0)) {
      problems.push(`${who}: no authentication method (give passwordHash or authorizedKeys)`);
    }
    if (hasPassword) {
      try {
        parsePasswordHash(u.passwordHash as string);
      } catch (e) {
        problems.push(`${who}: ${(e as Error).message}`);
      }
    }
    const keys: ParsedKey[] = [];
    if (Array.isArray(keyLines)) {
      keyLines.forEach((line, k) => {
        try {
          keys.push(parseAuthorizedKey(line));
        } catch (e) {
          problems.push(`${who}: authorizedKeys[${k}]: ${(e as Error).message}`);
        }
      });
    }
    if (name && !table.has(name)) table.set(name, { user: u, keys });
  });
  if (problems.length) throw new Error(`invalid NETCONF users:\n  ${problems.join('\n  ')}`);
  return table;
}
