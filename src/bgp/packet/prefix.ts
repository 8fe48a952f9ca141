// IPv4 unicast NLRI: (length in bits, the prefix in as few octets as it needs),
// RFC 4271 section 4.3. Text form 'a.b.c.d/len' with host bits as received.
import { Reader, Writer } from './buffer';

export type Ipv4Prefix = string;

export class PrefixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrefixError';
  }
}

export function decodeIpv4Prefixes(r: Reader): Ipv4Prefix[] {
  const out: Ipv4Prefix[] = [];
  while (r.remaining > 0) {
    const len = r.u8();
    if (len > 32) throw new PrefixError(`IPv4 prefix length ${len} (at most 32)`);
    const n = (len + 7) >> 3;
    if (n > r.remaining) throw new PrefixError(`IPv4 prefix /${len} needs ${n} byte(s), ${r.remaining} left`);
    const a = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) a[i] = r.u8();
    out.push(`${a[0]}.${a[1]}.${a[2]}.${a[3]}/${len}`);
  }
  return out;
}

const PREFIX_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function parseIpv4Prefix(p: Ipv4Prefix): { bytes: number[]; len: number } {
  const m = PREFIX_RE.exec(p);
  if (!m) throw new RangeError(`invalid IPv4 prefix '${p}'`);
  const bytes = [m[1], m[2], m[3], m[4]].map(Number);
  const len = Number(m[5]);
  if (len > 32 || bytes.some((b) => b > 255)) throw new RangeError(`invalid IPv4 prefix '${p}'`);
  return { bytes, len };
}

export function encodeIpv4Prefix(w: Writer, p: Ipv4Prefix): void {
  const { bytes, len } = parseIpv4Prefix(p);
  w.u8(len);
  for (let i = 0; i < (len + 7) >> 3; i++) w.u8(bytes[i]!);
}

export function ipv4PrefixSize(p: Ipv4Prefix): number {
  return 1 + ((parseIpv4Prefix(p).len + 7) >> 3);
}
