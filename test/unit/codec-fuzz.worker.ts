// The fuzz loop of codec-fuzz.test.ts, run in a worker thread so that the test can stop it
// (and name the input) if the decoder ever hangs: synchronous code cannot be interrupted by
// a mocha timeout. Before each decode the input is copied into a SharedArrayBuffer that the
// parent reads on timeout.
import { isDeepStrictEqual } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import {
  BgpMessage,
  MessageFramer,
  NotificationError,
  UpdateMessage,
  decodeMessage,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeShutdownNotification,
  encodeUpdate,
} from '../../src/bgp/packet';
import * as A from './codec-arbitraries';

export interface FuzzConfig {
  seed: number;
  random: number;
  mutations: number;
  framerStreams: number;
  /** Int32 [0] = length of the current input, bytes from offset 4. */
  current: SharedArrayBuffer;
}

export interface FuzzFailure {
  phase: string;
  input: string;
  error: string;
}

export interface FuzzReport {
  inputs: number;
  counts: Record<string, number>;
  failures: FuzzFailure[];
  failureCount: number;
  ms: number;
}

// ------------------------------------------------------------------ deterministic PRNG

/** xorshift128+ reduced to 32-bit outputs; deterministic from the seed. */
class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    // splitmix32 to spread the seed.
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }
  /** xoshiro128** */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ------------------------------------------------------------------ corpus of valid messages

function corpus(seed: number): Buffer[] {
  const out: Buffer[] = [];
  const sample = <T>(arb: fc.Arbitrary<T>, n: number) => fc.sample(arb, { numRuns: n, seed });
  for (const u of sample(A.update, 400)) out.push(encodeUpdate(u));
  // UPDATEs heavy on EVPN: many attributes, MP_REACH and MP_UNREACH with many routes.
  const heavy = A.rec({
    attributes: A.pathAttributes,
    reach: fc.array(A.evpnRoute, { minLength: 5, maxLength: 25 }),
    unreach: fc.array(A.evpnRoute, { maxLength: 15 }),
    nh: A.evpnNextHops,
    mandatory: A.rec({ origin: fc.constantFrom(0, 1, 2), asPath: fc.array(A.asPathSegment(A.u32Edge), { minLength: 1, maxLength: 3 }) }),
  });
  for (const h of sample(heavy, 300)) {
    try {
      out.push(
        encodeUpdate({
          attributes: { ...h.attributes, origin: h.mandatory.origin, asPath: h.attributes.asPath ?? h.mandatory.asPath },
          mpReach: { afi: 25, safi: 70, nextHops: h.nh, routes: h.reach },
          mpUnreach: { afi: 25, safi: 70, routes: h.unreach },
        }),
      );
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // over 4096 bytes: skip
    }
  }
  // 2-octet AS encodings (AS_TRANS + AS4_PATH / AS4_AGGREGATOR).
  for (const u of sample(A.update, 100)) out.push(encodeUpdate(u, { as4: false }));
  for (const o of sample(A.open, 100)) out.push(encodeOpen(o));
  for (const [c, s, d] of sample(fc.tuple(A.u8, A.u8, A.bytes(0, 40)), 40)) out.push(encodeNotification(c, s, Buffer.from(d)));
  for (const t of sample(fc.string({ unit: 'binary', maxLength: 40 }), 20)) out.push(encodeShutdownNotification(2, t));
  for (const [afi, safi, st] of sample(fc.tuple(A.u16, A.u8, fc.constantFrom(0, 1, 2)), 20)) out.push(encodeRouteRefresh(afi, safi, st));
  out.push(encodeKeepalive());
  return out;
}

// ------------------------------------------------------------------ mutations

/** Offsets of the length fields in a message (header, UPDATE/OPEN inner lengths). */
function lengthFields(m: Buffer): { at: number; size: 1 | 2 }[] {
  const f: { at: number; size: 1 | 2 }[] = [{ at: 16, size: 2 }];
  try {
    if (m[18] === 2 && m.length >= 23) {
      const wl = m.readUInt16BE(19);
      f.push({ at: 19, size: 2 }, { at: 21 + wl, size: 2 });
      let p = 23 + wl;
      const end = Math.min(m.length, p + m.readUInt16BE(21 + wl));
      while (p + 3 <= end) {
        const flags = m[p]!;
        const type = m[p + 1]!;
        const ext = (flags & 0x10) !== 0;
        f.push({ at: p + 2, size: ext ? 2 : 1 });
        const len = ext ? m.readUInt16BE(p + 2) : m[p + 2]!;
        const v = p + (ext ? 4 : 3);
        if (type === 14 && v + 4 <= end) {
          f.push({ at: v + 3, size: 1 }); // next hop length
          let q = v + 4 + m[v + 3]! + 1;
          while (q + 2 <= v + len) {
            f.push({ at: q + 1, size: 1 }); // EVPN route length
            q += 2 + m[q + 1]!;
          }
        } else if (type === 15) {
          let q = v + 3;
          while (q + 2 <= v + len) {
            f.push({ at: q + 1, size: 1 });
            q += 2 + m[q + 1]!;
          }
        } else if (type === 2 || type === 17) {
          let q = v;
          while (q + 2 <= v + len) {
            f.push({ at: q + 1, size: 1 }); // segment length
            q += 2 + m[q + 1]! * 4;
          }
        }
        p = v + len;
      }
    } else if (m[18] === 1 && m.length >= 29) {
      f.push({ at: 28, size: 1 });
      let p = 29;
      while (p + 2 <= m.length) {
        f.push({ at: p + 1, size: 1 });
        const plen = m[p + 1]!;
        let q = p + 2;
        while (q + 2 <= Math.min(m.length, p + 2 + plen)) {
          f.push({ at: q + 1, size: 1 });
          q += 2 + m[q + 1]!;
        }
        p += 2 + plen;
      }
    }
  } catch {
    // a mutated message may end anywhere: keep what was found
  }
  return f.filter((x) => x.at + x.size <= m.length);
}

const INTERESTING = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xfe, 0xff, 16, 19, 32, 33, 48, 128, 255];

function mutate(rng: Rng, src: Buffer): Buffer {
  let m = Buffer.from(src);
  let touchedHeaderLength = false;
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    if (m.length === 0) break;
    switch (rng.int(8)) {
      case 0: {
        // bit flip (past the marker most of the time)
        const at = rng.chance(0.9) && m.length > 19 ? 19 + rng.int(m.length - 19) : rng.int(m.length);
        m[at]! ^= 1 << rng.int(8);
        break;
      }
      case 1: {
        const at = m.length > 19 ? 19 + rng.int(m.length - 19) : rng.int(m.length);
        m[at] = rng.chance(0.5) ? rng.pick(INTERESTING) : rng.int(256);
        break;
      }
      case 2: // truncate
        m = m.subarray(0, 19 + rng.int(Math.max(1, m.length - 19)));
        break;
      case 3: {
        // insert random bytes
        const at = 19 + rng.int(Math.max(1, m.length - 18));
        m = Buffer.concat([m.subarray(0, at), rng.bytes(1 + rng.int(8)), m.subarray(at)]);
        break;
      }
      case 4: {
        // delete a range
        if (m.length <= 20) break;
        const at = 19 + rng.int(m.length - 19);
        const len = 1 + rng.int(Math.min(16, m.length - at));
        m = Buffer.concat([m.subarray(0, at), m.subarray(at + len)]);
        break;
      }
      case 5:
      case 6: {
        // length-field tweak
        const fields = lengthFields(m);
        const f = rng.pick(fields);
        if (!f) break;
        if (f.at === 16) touchedHeaderLength = true;
        const old = f.size === 1 ? m[f.at]! : m.readUInt16BE(f.at);
        const max = f.size === 1 ? 0xff : 0xffff;
        const choices = [old + 1, old - 1, old + 2, old - 3, 0, max, rng.int(max + 1), old + 8, old - 8];
        const v = Math.min(max, Math.max(0, rng.pick(choices)));
        if (f.size === 1) m[f.at] = v;
        else m.writeUInt16BE(v, f.at);
        break;
      }
      case 7: {
        // duplicate a slice (repeats attributes, routes)
        if (m.length <= 23) break;
        const at = 19 + rng.int(m.length - 19);
        const len = 1 + rng.int(Math.min(40, m.length - at));
        m = Buffer.concat([m.subarray(0, at + len), m.subarray(at, at + len), m.subarray(at + len)]);
        break;
      }
    }
  }
  // Keep the header length consistent most of the time, so the body decoders are reached.
  if (!touchedHeaderLength && m.length >= 19 && rng.chance(0.85)) m.writeUInt16BE(Math.min(m.length, 0xffff), 16);
  return m;
}

/** Random bytes behind a valid header (type mostly 1..5, header length = real length). */
function randomWithHeader(rng: Rng): Buffer {
  const type = rng.chance(0.95) ? 1 + rng.int(5) : rng.int(256);
  const bodyLen = rng.chance(0.9) ? rng.int(120) : rng.int(4096 - 19 + 1);
  let body = rng.bytes(bodyLen);
  if (type === 2 && bodyLen >= 4 && rng.chance(0.6)) {
    // Plausible UPDATE skeleton: small withdrawn field, attributes fill the rest but a few
    // bytes, whose attribute headers use known type codes and plausible flags.
    const wl = rng.chance(0.7) ? 0 : rng.int(Math.min(12, bodyLen - 4));
    body.writeUInt16BE(wl, 0);
    const al = bodyLen - 4 - wl - (rng.chance(0.5) ? 0 : rng.int(Math.min(8, bodyLen - 4 - wl) + 1));
    body.writeUInt16BE(al, 2 + wl);
    let p = 4 + wl;
    const end = p + al;
    while (p + 3 <= end) {
      const type = rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 22, 32, 99]);
      const flags = rng.pick([0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90, 0xd0, rng.int(256)]);
      const len = rng.int(Math.min(60, end - p - 3) + 1);
      body[p] = flags & ~0x10;
      body[p + 1] = type;
      body[p + 2] = len;
      if (type === 14 && len >= 5) {
        body.writeUInt16BE(25, p + 3);
        body[p + 5] = 70;
        body[p + 6] = rng.pick([4, 16, 32]);
      } else if (type === 15 && len >= 3) {
        body.writeUInt16BE(25, p + 3);
        body[p + 5] = 70;
      }
      p += 3 + len;
    }
    body = Buffer.from(body);
  }
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(19 + bodyLen, 16);
  h[18] = type;
  return Buffer.concat([h, body]);
}

// ------------------------------------------------------------------ the checks

const KINDS = new Set(['open', 'update', 'notification', 'keepalive', 'route-refresh']);

/** The codec's canonical forms (see codec-roundtrip.test.ts): what one more pass may change. */
function canonical(u: UpdateMessage): unknown {
  const strip = <T extends { skippedTypes?: number[] }>(x: T | undefined) => {
    if (!x) return undefined;
    const { skippedTypes: _skipped, ...rest } = x;
    return rest;
  };
  return {
    withdrawn: u.withdrawn,
    nlri: u.nlri,
    attributes: {
      ...u.attributes,
      unknown: u.attributes.unknown?.map((a) => ({ ...a, flags: (a.flags & ~0x10) | 0x20 | (a.value.length > 255 ? 0x10 : 0) })),
    },
    mpReach: strip(u.mpReach),
    mpUnreach: strip(u.mpUnreach),
  };
}

function run(cfg: FuzzConfig): FuzzReport {
  const t0 = Date.now();
  const rng = new Rng(cfg.seed);
  const counts: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let failureCount = 0;
  let inputs = 0;
  const cur = new Int32Array(cfg.current, 0, 1);
  const curBytes = new Uint8Array(cfg.current, 4);
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const fail = (phase: string, input: Buffer, err: unknown) => {
    failureCount++;
    if (failures.length < 20) failures.push({ phase, input: input.toString('hex'), error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) });
  };
  const publish = (b: Buffer) => {
    const n = Math.min(b.length, curBytes.length);
    curBytes.set(b.subarray(0, n));
    Atomics.store(cur, 0, n);
  };

  /** One decode: returns the message, or undefined after a NotificationError; records the rest. */
  const check = (input: Buffer, phase: string): BgpMessage | undefined => {
    inputs++;
    publish(input);
    const as4 = rng.chance(0.85);
    let m: BgpMessage;
    try {
      m = decodeMessage(input, { as4 });
    } catch (e) {
      if (e instanceof NotificationError && Number.isInteger(e.code) && e.code >= 1 && e.code <= 7 && Number.isInteger(e.subcode) && Buffer.isBuffer(e.data)) {
        bump(`notification ${e.code}/${e.subcode}`);
      } else fail(phase, input, e);
      return undefined;
    }
    if (!m || !KINDS.has(m.type)) {
      fail(phase, input, new Error(`decodeMessage returned ${JSON.stringify(m)}`));
      return undefined;
    }
    bump(`ok ${m.type}`);
    if (m.type !== 'update') return m;
    if (m.treatAsWithdraw) bump('update treat-as-withdraw');
    if (m.discarded) bump('update attribute-discard');
    if (m.treatAsWithdraw || m.mpReach?.rawNlri || m.mpUnreach?.rawNlri) return m;
    // Re-encode: only RangeError may stop it; if it works, one more decode gives the same value.
    // (Encoded for a 4-octet session: a decoded path is a 4-octet path, whatever the session.)
    let again: Buffer;
    try {
      again = encodeUpdate(m, { as4: true });
    } catch (e) {
      if (e instanceof RangeError) bump('re-encode RangeError');
      else fail(`${phase}/re-encode`, input, e);
      return m;
    }
    try {
      const d = decodeMessage(again, { as4: true });
      if (d.type !== 'update' || d.treatAsWithdraw) throw new Error(`re-encoded UPDATE decodes as ${JSON.stringify(d)}`);
      if (!isDeepStrictEqual(canonical(d), canonical(m)))
        throw new Error(`re-decoded value differs:\n  first  ${JSON.stringify(canonical(m), bufJson)}\n  second ${JSON.stringify(canonical(d), bufJson)}`);
      bump('re-encode same value');
    } catch (e) {
      fail(`${phase}/re-decode`, input, e);
    }
    return m;
  };

  const valid = corpus(cfg.seed);
  bump(`corpus messages ${valid.length}`);

  // (a) random bytes behind a valid header
  for (let i = 0; i < cfg.random; i++) check(randomWithHeader(rng), 'random');
  // (b) mutations of valid messages
  for (let i = 0; i < cfg.mutations; i++) check(mutate(rng, rng.pick(valid)), 'mutation');
  // (c) streams through MessageFramer: valid, mutated and garbage messages in random chunks
  for (let s = 0; s < cfg.framerStreams; s++) {
    const parts: Buffer[] = [];
    const count = 1 + rng.int(5);
    for (let k = 0; k < count; k++) {
      const r = rng.int(10);
      parts.push(r < 5 ? rng.pick(valid) : r < 8 ? mutate(rng, rng.pick(valid)) : rng.bytes(1 + rng.int(64)));
    }
    const stream = Buffer.concat(parts);
    const framer = new MessageFramer();
    let at = 0;
    let framed = 0;
    try {
      while (at < stream.length) {
        const n = rng.chance(0.2) ? 1 + rng.int(3) : 1 + rng.int(600);
        const piece = stream.subarray(at, at + n);
        at += n;
        publish(piece);
        for (const msg of framer.push(piece)) {
          framed += msg.length;
          if (msg.length < 19 || msg.readUInt16BE(16) !== msg.length) fail('framer', stream, new Error(`framed ${msg.length} bytes, header says ${msg.readUInt16BE(16)}`));
          check(Buffer.from(msg), 'framer');
        }
      }
      if (framer.error) {
        // A bad header behind whole messages of the same chunk: they came out, the error waits.
        inputs++;
        if (framer.error.code === 1) bump(`framer header error 1/${framer.error.subcode}`);
        else fail('framer', stream, framer.error);
      } else {
        bump(framer.buffered > 0 ? 'framer stream ended mid-message' : 'framer stream consumed');
        if (framed + framer.buffered !== stream.length) fail('framer', stream, new Error('bytes lost'));
      }
    } catch (e) {
      inputs++;
      if (e instanceof NotificationError && e.code === 1) bump(`framer header error 1/${e.subcode}`);
      else fail('framer', stream, e);
    }
  }
  return { inputs, counts, failures, failureCount, ms: Date.now() - t0 };
}

function bufJson(_k: string, v: unknown): unknown {
  return v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)
    ? `buf:${Buffer.from((v as { data: number[] }).data).toString('hex')}`
    : v;
}

if (parentPort && workerData) parentPort.postMessage(run(workerData as FuzzConfig));
