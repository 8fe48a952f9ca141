// Route Distinguisher (RFC 4364 section 4.2) and Ethernet Segment Identifier
// (RFC 7432 section 5) in text forms that round-trip byte-exactly.
//
// RD text:  type 0 "ASN2:NN"   (2-byte AS, 4-byte number)
//           type 1 "A.B.C.D:NN" (IPv4, 2-byte number)
//           type 2 "ASN4:NN"   (4-byte AS, 2-byte number); an AS <= 65535 is written
//                  "ASNL:NN" (Junos's 'L' suffix) so it does not read back as type 0
//           other  "rd-raw:<16 hex digits>"
import { ipv4ToBytes, ipv4ToString, hex } from './addr';
import { Reader, Writer } from './buffer';

export type RouteDistinguisher = string;

function rdText(b: Buffer, at: number): RouteDistinguisher {
  switch (b.readUInt16BE(at)) {
    case 0:
      return `${b.readUInt16BE(at + 2)}:${b.readUInt32BE(at + 4)}`;
    case 1:
      return `${ipv4ToString(b, at + 2)}:${b.readUInt16BE(at + 6)}`;
    case 2: {
      const asn = b.readUInt32BE(at + 2);
      return `${asn}${asn <= 0xffff ? 'L' : ''}:${b.readUInt16BE(at + 6)}`;
    }
    default:
      return `rd-raw:${hex(b, at, at + 8)}`;
  }
}

// RDs repeat (one per VTEP and VNI) across a million routes: intern their text so routes
// share one string per RD. Bounded: cleared when it grows past RD_CACHE_MAX.
const RD_CACHE_MAX = 1 << 16;
let rdCache = new Map<number, Map<number, RouteDistinguisher>>();
let rdCacheSize = 0;

export function readRd(r: Reader): RouteDistinguisher {
  const at = r.take(8);
  const b = r.buf;
  const hi = b.readUInt32BE(at);
  const lo = b.readUInt32BE(at + 4);
  let inner = rdCache.get(hi);
  const hit = inner?.get(lo);
  if (hit !== undefined) return hit;
  const text = rdText(b, at);
  if (rdCacheSize >= RD_CACHE_MAX) {
    rdCache = new Map();
    rdCacheSize = 0;
    inner = undefined;
  }
  if (!inner) rdCache.set(hi, (inner = new Map()));
  inner.set(lo, text);
  rdCacheSize++;
  return text;
}

const RD_AS = /^(\d+)(L?):(\d+)$/;
const RD_IP = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/;
const RD_RAW = /^rd-raw:([0-9a-f]{16})$/i;

/** Encodes an RD; throws RangeError on text that is not a valid RD. */
export function rdToBytes(rd: RouteDistinguisher): Buffer {
  const out = Buffer.alloc(8);
  let m = RD_IP.exec(rd);
  if (m) {
    const n = Number(m[2]);
    if (n > 0xffff) throw new RangeError(`RD '${rd}': assigned number above 65535`);
    out.writeUInt16BE(1, 0);
    ipv4ToBytes(m[1]!).copy(out, 2);
    out.writeUInt16BE(n, 6);
    return out;
  }
  m = RD_AS.exec(rd);
  if (m) {
    const asn = Number(m[1]);
    const n = Number(m[3]);
    const as4 = m[2] === 'L' || asn > 0xffff;
    if (asn > 0xffffffff) throw new RangeError(`RD '${rd}': AS number above 4294967295`);
    if (as4) {
      if (n > 0xffff) throw new RangeError(`RD '${rd}': assigned number above 65535 with a 4-byte AS`);
      out.writeUInt16BE(2, 0);
      out.writeUInt32BE(asn, 2);
      out.writeUInt16BE(n, 6);
    } else {
      if (n > 0xffffffff) throw new RangeError(`RD '${rd}': assigned number above 4294967295`);
      out.writeUInt16BE(0, 0);
      out.writeUInt16BE(asn, 2);
      out.writeUInt32BE(n, 4);
    }
    return out;
  }
  m = RD_RAW.exec(rd);
  if (m) return Buffer.from(m[1]!, 'hex');
  throw new RangeError(`invalid route distinguisher '${rd}'`);
}

export function writeRd(w: Writer, rd: RouteDistinguisher): void {
  w.bytes(rdToBytes(rd));
}

/** Canonical RD text (e.g. '1.2.3.4:05' -> '1.2.3.4:5'). */
export function canonicalRd(rd: RouteDistinguisher): RouteDistinguisher {
  return readRd(new Reader(rdToBytes(rd)));
}

/** ESI: ten bytes as colon-separated hex pairs, the form FRR prints. */
export type Esi = string;
export const ESI_ZERO: Esi = '00:00:00:00:00:00:00:00:00:00';

export function readEsi(r: Reader): Esi {
  const at = r.take(10);
  const b = r.buf;
  let zero = true;
  for (let i = at; i < at + 10; i++) if (b[i] !== 0) zero = false;
  if (zero) return ESI_ZERO;
  const parts: string[] = [];
  for (let i = at; i < at + 10; i++) parts.push(hex(b, i, i + 1));
  return parts.join(':');
}

const ESI_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){9}$/i;

export function esiToBytes(esi: Esi): Buffer {
  if (!ESI_RE.test(esi)) throw new RangeError(`invalid ESI '${esi}' (ten hex bytes separated by ':')`);
  return Buffer.from(esi.replace(/:/g, ''), 'hex');
}

export function writeEsi(w: Writer, esi: Esi): void {
  if (esi === ESI_ZERO) {
    w.reserve(10);
    return;
  }
  w.bytes(esiToBytes(esi));
}
