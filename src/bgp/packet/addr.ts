// Address and MAC text <-> bytes. Text forms are canonical so they can be used as keys:
// IPv4 dotted quad, IPv6 per RFC 5952 (lower case, longest zero run compressed),
// MAC as six lower-case hex pairs joined by ':'.
import { isIPv4, isIPv6 } from 'node:net';

const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, '0'));

export function ipv4ToString(b: Buffer, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export function ipv4ToNumber(s: string): number {
  const p = s.split('.');
  if (p.length !== 4 || !isIPv4(s)) throw new RangeError(`invalid IPv4 address '${s}'`);
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

export function ipv4ToBytes(s: string): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(ipv4ToNumber(s));
  return b;
}

export function ipv6ToBytes(s: string): Buffer {
  // node:net accepts a zone index ('fe80::1%eth0'): a node-local text suffix with no wire
  // form (RFC 4007 section 11). It used to be dropped silently; refuse it.
  if (!isIPv6(s) || s.includes('%')) throw new RangeError(`invalid IPv6 address '${s}'`);
  const out = Buffer.alloc(16);
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  head.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  rest.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 16 - (rest.length - i) * 2));
  return out;
}

export function ipv6ToString(b: Buffer, at = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2));
  // RFC 5952 section 4.2: compress the longest run (>= 2) of zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** IPv4 or IPv6 text from 4 or 16 bytes. */
export function ipToString(b: Buffer): string {
  if (b.length === 4) return ipv4ToString(b);
  if (b.length === 16) return ipv6ToString(b);
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${b.length}`);
}

export function ipToBytes(s: string): Buffer {
  if (isIPv4(s)) return ipv4ToBytes(s);
  if (isIPv6(s)) return ipv6ToBytes(s);
  throw new RangeError(`invalid IP address '${s}'`);
}

/** Canonical text for any accepted IP text (e.g. '::FFFF:0:1' -> '::ffff:0:1'). */
export function canonicalIp(s: string): string {
  return ipToString(ipToBytes(s));
}

// MAC text is written as ASCII into a scratch buffer and sliced out once: a flat string
// (a template literal makes a rope that V8 must flatten again when it hashes the MAC as a
// map key, a million times on a full table load).
const MAC_SCRATCH = Buffer.alloc(17, 0x3a); // ':' between the pairs
const HEX_CODES: number[] = [];
for (let i = 0; i < 256; i++) HEX_CODES.push(HEX2[i]!.charCodeAt(0), HEX2[i]!.charCodeAt(1));

export function macToString(b: Buffer, at = 0): string {
  for (let j = 0; j < 6; j++) {
    const v = b[at + j]! * 2;
    MAC_SCRATCH[j * 3] = HEX_CODES[v]!;
    MAC_SCRATCH[j * 3 + 1] = HEX_CODES[v + 1]!;
  }
  return MAC_SCRATCH.toString('latin1', 0, 17);
}

const MAC_RE = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

export function macToBytes(s: string): Buffer {
  if (!isMac(s)) throw new RangeError(`invalid MAC address '${s}'`);
  return Buffer.from(s.replace(/[:-]/g, ''), 'hex');
}

export function canonicalMac(s: string): string {
  return macToString(macToBytes(s));
}

export function hex(b: Buffer, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX2[b[i]!];
  return s;
}
