// EVPN NLRI codec: RFC 7432 section 7 (route types 1-4) and RFC 9136 section 3 (type 5).
//
//   +-----------------------------------+
//   |    Route Type (1 octet)           |
//   +-----------------------------------+
//   |     Length (1 octet)              |
//   +-----------------------------------+
//   | Route Type specific (variable)    |
//   +-----------------------------------+
//
// Every type has a fixed set of legal lengths; anything else is a malformed NLRI, which
// RFC 7606 section 5.3 and RFC 4760 section 7 answer with a session reset (FRR sends
// UPDATE Message Error / Optional Attribute Error). Unknown route types are skipped by
// their length, as FRR does. Labels are kept as the raw 24-bit field: for VXLAN
// (RFC 8365 section 5.1.3) it is the VNI; for MPLS the label is the top 20 bits.
import { ipToBytes, ipv4ToString, ipv6ToString, macToBytes, macToString } from './addr';
import { Reader, Writer } from './buffer';
import { EvpnRouteType } from './constants';
import { ESI_ZERO, Esi, RouteDistinguisher, esiToBytes, readEsi, readRd, rdToBytes, writeEsi, writeRd } from './rd';
import { isIPv4 } from 'node:net';

/** RFC 7432 section 7.1 */
export interface EvpnEthernetAd {
  type: EvpnRouteType.EthernetAutoDiscovery;
  rd: RouteDistinguisher;
  esi: Esi;
  ethernetTag: number;
  label: number;
}

/** RFC 7432 section 7.2 */
export interface EvpnMacIp {
  type: EvpnRouteType.MacIpAdvertisement;
  rd: RouteDistinguisher;
  esi: Esi;
  ethernetTag: number;
  mac: string;
  /** Absent when the IP Address Length is 0. */
  ip?: string;
  /** MPLS Label1: the L2 VNI for VXLAN. */
  label1: number;
  /** MPLS Label2 (the L3 VNI for symmetric IRB), when present. */
  label2?: number;
}

/** RFC 7432 section 7.3 */
export interface EvpnInclusiveMulticast {
  type: EvpnRouteType.InclusiveMulticast;
  rd: RouteDistinguisher;
  ethernetTag: number;
  originatorIp: string;
}

/** RFC 7432 section 7.4 */
export interface EvpnEthernetSegment {
  type: EvpnRouteType.EthernetSegment;
  rd: RouteDistinguisher;
  esi: Esi;
  originatorIp: string;
}

/** RFC 9136 section 3.1 */
export interface EvpnIpPrefix {
  type: EvpnRouteType.IpPrefix;
  rd: RouteDistinguisher;
  esi: Esi;
  ethernetTag: number;
  /** 'a.b.c.d/len' or 'x::/len'. */
  prefix: string;
  gatewayIp: string;
  label: number;
}

export type EvpnRoute = EvpnEthernetAd | EvpnMacIp | EvpnInclusiveMulticast | EvpnEthernetSegment | EvpnIpPrefix;

/** Thrown for a malformed EVPN NLRI; the caller maps it to the session-level error. */
export class EvpnNlriError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvpnNlriError';
  }
}

function readIp(r: Reader, bytes: number): string {
  return bytes === 4 ? ipv4ToString(r.buf, r.take(4)) : ipv6ToString(r.buf, r.take(16));
}

function ipBitsToBytes(bits: number, routeType: number): number {
  if (bits === 32) return 4;
  if (bits === 128) return 16;
  throw new EvpnNlriError(`route type ${routeType}: IP address length ${bits} bits (must be 32 or 128)`);
}

/** Decodes one route's body (after type and length). `r` spans exactly `len` bytes. */
function decodeBody(type: number, len: number, r: Reader): EvpnRoute {
  switch (type) {
    case EvpnRouteType.EthernetAutoDiscovery: {
      if (len !== 25) throw new EvpnNlriError(`route type 1: length ${len} (must be 25)`);
      return { type, rd: readRd(r), esi: readEsi(r), ethernetTag: r.u32(), label: r.u24() };
    }
    case EvpnRouteType.MacIpAdvertisement: {
      // 33/36 (no IP), 37/40 (IPv4), 49/52 (IPv6): one label or two.
      if (len < 33) throw new EvpnNlriError(`route type 2: length ${len} (at least 33)`);
      const rd = readRd(r);
      const esi = readEsi(r);
      const ethernetTag = r.u32();
      const macBits = r.u8();
      if (macBits !== 48) throw new EvpnNlriError(`route type 2: MAC address length ${macBits} bits (must be 48)`);
      const mac = macToString(r.buf, r.take(6));
      const ipBits = r.u8();
      const ipBytes = ipBits === 0 ? 0 : ipBitsToBytes(ipBits, 2);
      const labelBytes = len - 30 - ipBytes;
      if (labelBytes !== 3 && labelBytes !== 6)
        throw new EvpnNlriError(`route type 2: length ${len} does not fit IP length ${ipBits} bits and one or two labels`);
      const route: EvpnMacIp = { type, rd, esi, ethernetTag, mac, label1: 0 };
      if (ipBytes) route.ip = readIp(r, ipBytes);
      route.label1 = r.u24();
      if (labelBytes === 6) route.label2 = r.u24();
      return route;
    }
    case EvpnRouteType.InclusiveMulticast: {
      if (len !== 17 && len !== 29) throw new EvpnNlriError(`route type 3: length ${len} (must be 17 or 29)`);
      const rd = readRd(r);
      const ethernetTag = r.u32();
      const bits = r.u8();
      const bytes = ipBitsToBytes(bits, 3);
      if (13 + bytes !== len) throw new EvpnNlriError(`route type 3: length ${len} does not fit IP length ${bits} bits`);
      return { type, rd, ethernetTag, originatorIp: readIp(r, bytes) };
    }
    case EvpnRouteType.EthernetSegment: {
      if (len !== 23 && len !== 35) throw new EvpnNlriError(`route type 4: length ${len} (must be 23 or 35)`);
      const rd = readRd(r);
      const esi = readEsi(r);
      const bits = r.u8();
      const bytes = ipBitsToBytes(bits, 4);
      if (19 + bytes !== len) throw new EvpnNlriError(`route type 4: length ${len} does not fit IP length ${bits} bits`);
      return { type, rd, esi, originatorIp: readIp(r, bytes) };
    }
    case EvpnRouteType.IpPrefix: {
      // RFC 9136 section 3.1: 34 octets for IPv4, 58 for IPv6; the family follows the length.
      if (len !== 34 && len !== 58) throw new EvpnNlriError(`route type 5: length ${len} (must be 34 or 58)`);
      const bytes = len === 34 ? 4 : 16;
      const rd = readRd(r);
      const esi = readEsi(r);
      const ethernetTag = r.u32();
      const plen = r.u8();
      if (plen > bytes * 8) throw new EvpnNlriError(`route type 5: prefix length ${plen} for a ${bytes * 8}-bit address`);
      const addr = readIp(r, bytes);
      const gatewayIp = readIp(r, bytes);
      return { type, rd, esi, ethernetTag, prefix: `${addr}/${plen}`, gatewayIp, label: r.u24() };
    }
  }
  throw new EvpnNlriError(`route type ${type} is not decoded here`);
}

export interface EvpnDecodeResult {
  routes: EvpnRoute[];
  /** Route types we do not know, skipped by their length (RFC 7432 section 7). */
  skippedTypes: number[];
}

const KNOWN_TYPES = new Set([1, 2, 3, 4, 5]);

/** Decodes a whole EVPN NLRI field (in MP_REACH_NLRI or MP_UNREACH_NLRI). */
export function decodeEvpnNlri(r: Reader): EvpnDecodeResult {
  const routes: EvpnRoute[] = [];
  const skippedTypes: number[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 2) throw new EvpnNlriError(`truncated EVPN NLRI: ${r.remaining} byte(s) left for type and length`);
    const type = r.u8();
    const len = r.u8();
    if (len > r.remaining) throw new EvpnNlriError(`EVPN route type ${type}: length ${len} overruns the NLRI (${r.remaining} left)`);
    const body = r.sub(len);
    if (!KNOWN_TYPES.has(type)) {
      skippedTypes.push(type);
      continue;
    }
    routes.push(decodeBody(type, len, body));
  }
  return { routes, skippedTypes };
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} must be an integer 0..${max}, got ${v}`);
}

function ipBits(ip: string, what: string): number {
  // Validate with the encoder's own parser so that whatever passes here also encodes.
  try {
    return ipToBytes(ip).length * 8;
  } catch {
    throw new RangeError(`${what}: invalid IP address '${ip}'`);
  }
}

/** Checks a route can be encoded; throws RangeError naming the bad field. The encoder
 * calls it for every route, so a malformed NLRI can never reach the wire. */
export function validateEvpnRoute(route: EvpnRoute): void {
  const ET_MAX = 0xffffffff;
  const LABEL_MAX = 0xffffff;
  switch (route.type) {
    case EvpnRouteType.EthernetAutoDiscovery:
      checkUint(route.ethernetTag, ET_MAX, 'Ethernet Tag');
      checkUint(route.label, LABEL_MAX, 'label');
      break;
    case EvpnRouteType.MacIpAdvertisement:
      checkUint(route.ethernetTag, ET_MAX, 'Ethernet Tag');
      checkUint(route.label1, LABEL_MAX, 'label1');
      if (route.label2 !== undefined) checkUint(route.label2, LABEL_MAX, 'label2');
      macToBytes(route.mac);
      if (route.ip !== undefined) ipBits(route.ip, 'MAC/IP route IP');
      break;
    case EvpnRouteType.InclusiveMulticast:
      checkUint(route.ethernetTag, ET_MAX, 'Ethernet Tag');
      ipBits(route.originatorIp, 'originating router IP');
      break;
    case EvpnRouteType.EthernetSegment:
      ipBits(route.originatorIp, 'originating router IP');
      break;
    case EvpnRouteType.IpPrefix: {
      checkUint(route.ethernetTag, ET_MAX, 'Ethernet Tag');
      checkUint(route.label, LABEL_MAX, 'label');
      const [addr, len] = splitPrefix(route.prefix);
      const bits = ipBits(addr, 'IP prefix');
      if (bits !== ipBits(route.gatewayIp, 'gateway IP'))
        throw new RangeError('IP prefix and gateway IP must be of the same family (RFC 9136 section 3.1)');
      checkUint(len, bits, 'IP prefix length');
      break;
    }
    default:
      throw new RangeError(`unknown EVPN route type ${(route as { type: number }).type}`);
  }
  // RD and ESI are checked here too: encodeEvpnRoute used to write the type and length
  // octets before writeRd/writeEsi threw, breaking its "writes nothing" promise.
  rdToBytes(route.rd);
  if (route.type !== EvpnRouteType.InclusiveMulticast) esiToBytes(route.esi);
}

function splitPrefix(prefix: string): [string, number] {
  const slash = prefix.lastIndexOf('/');
  if (slash < 0) throw new RangeError(`IP prefix '${prefix}' has no '/length'`);
  const len = prefix.slice(slash + 1);
  if (!/^\d+$/.test(len)) throw new RangeError(`IP prefix '${prefix}': bad length`);
  return [prefix.slice(0, slash), Number(len)];
}

/** Appends one route (type, length, body). Validates first: throws RangeError, writes nothing. */
export function encodeEvpnRoute(w: Writer, route: EvpnRoute): void {
  validateEvpnRoute(route);
  w.u8(route.type);
  const lenAt = w.reserve(1);
  const start = w.pos;
  switch (route.type) {
    case EvpnRouteType.EthernetAutoDiscovery:
      writeRd(w, route.rd);
      writeEsi(w, route.esi);
      w.u32(route.ethernetTag).u24(route.label);
      break;
    case EvpnRouteType.MacIpAdvertisement:
      writeRd(w, route.rd);
      writeEsi(w, route.esi);
      w.u32(route.ethernetTag).u8(48).bytes(macToBytes(route.mac));
      if (route.ip === undefined) w.u8(0);
      else {
        const ip = ipToBytes(route.ip);
        w.u8(ip.length * 8).bytes(ip);
      }
      w.u24(route.label1);
      if (route.label2 !== undefined) w.u24(route.label2);
      break;
    case EvpnRouteType.InclusiveMulticast: {
      writeRd(w, route.rd);
      const ip = ipToBytes(route.originatorIp);
      w.u32(route.ethernetTag).u8(ip.length * 8).bytes(ip);
      break;
    }
    case EvpnRouteType.EthernetSegment: {
      writeRd(w, route.rd);
      writeEsi(w, route.esi);
      const ip = ipToBytes(route.originatorIp);
      w.u8(ip.length * 8).bytes(ip);
      break;
    }
    case EvpnRouteType.IpPrefix: {
      const [addr, len] = splitPrefix(route.prefix);
      writeRd(w, route.rd);
      writeEsi(w, route.esi);
      w.u32(route.ethernetTag).u8(len).bytes(ipToBytes(addr)).bytes(ipToBytes(route.gatewayIp)).u24(route.label);
      break;
    }
  }
  w.patchU8(lenAt, w.pos - start);
}

/** Encoded size in bytes (type + length + body) without encoding. */
export function evpnRouteSize(route: EvpnRoute): number {
  switch (route.type) {
    case EvpnRouteType.EthernetAutoDiscovery:
      return 2 + 25;
    case EvpnRouteType.MacIpAdvertisement:
      return 2 + 30 + (route.ip === undefined ? 0 : isIPv4(route.ip) ? 4 : 16) + (route.label2 === undefined ? 3 : 6);
    case EvpnRouteType.InclusiveMulticast:
      return 2 + (isIPv4(route.originatorIp) ? 17 : 29);
    case EvpnRouteType.EthernetSegment:
      return 2 + (isIPv4(route.originatorIp) ? 23 : 35);
    case EvpnRouteType.IpPrefix:
      return 2 + (isIPv4(route.gatewayIp) ? 34 : 58);
  }
}

/**
 * Route identity inside the RIB. RFC 7432 section 7.2: for Type-2 the ESI, labels and the
 * MAC/IP lengths are not part of the route key (and FRR's withdraws zero them), so the key is
 * RD + Ethernet Tag + MAC + IP. Types 1 and 4 keep their ESI; type 5 (RFC 9136 section 3.1)
 * is keyed by RD + Ethernet Tag + prefix.
 */
export function evpnRouteKey(route: EvpnRoute): string {
  switch (route.type) {
    case EvpnRouteType.EthernetAutoDiscovery:
      return `1|${route.rd}|${route.esi}|${route.ethernetTag}`;
    case EvpnRouteType.MacIpAdvertisement:
      return `2|${route.rd}|${route.ethernetTag}|${route.mac}|${route.ip ?? ''}`;
    case EvpnRouteType.InclusiveMulticast:
      return `3|${route.rd}|${route.ethernetTag}|${route.originatorIp}`;
    case EvpnRouteType.EthernetSegment:
      return `4|${route.rd}|${route.esi}|${route.originatorIp}`;
    case EvpnRouteType.IpPrefix:
      return `5|${route.rd}|${route.ethernetTag}|${route.prefix}`;
  }
}

/** Text in FRR's style: '[2]:[0]:[48]:[aa:bb:cc:dd:ee:ff]:[32]:[10.0.0.1]' (without the RD). */
export function evpnRouteToString(route: EvpnRoute): string {
  switch (route.type) {
    case EvpnRouteType.EthernetAutoDiscovery:
      return `[1]:[${route.esi}]:[${route.ethernetTag}]`;
    case EvpnRouteType.MacIpAdvertisement:
      return route.ip === undefined
        ? `[2]:[${route.ethernetTag}]:[48]:[${route.mac}]`
        : `[2]:[${route.ethernetTag}]:[48]:[${route.mac}]:[${route.ip.includes(':') ? 128 : 32}]:[${route.ip}]`;
    case EvpnRouteType.InclusiveMulticast:
      return `[3]:[${route.ethernetTag}]:[${route.originatorIp.includes(':') ? 128 : 32}]:[${route.originatorIp}]`;
    case EvpnRouteType.EthernetSegment:
      return `[4]:[${route.esi}]:[${route.originatorIp.includes(':') ? 128 : 32}]:[${route.originatorIp}]`;
    case EvpnRouteType.IpPrefix: {
      const [addr, len] = splitPrefix(route.prefix);
      return `[5]:[${route.ethernetTag}]:[${len}]:[${addr}]`;
    }
  }
}

export { ESI_ZERO };
