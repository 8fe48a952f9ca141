// BGP Extended Communities (RFC 4360), with the EVPN ones this project reads:
// route target (RFC 4360 section 4, RFC 5668), encapsulation (RFC 9012 section 4.1),
// MAC Mobility (RFC 7432 section 7.7), default gateway (RFC 7432 section 7.8),
// router's MAC (RFC 9135 section 8.1). Everything else is kept as an opaque 8-byte value.
//
// A value decodes to a typed form only if encoding that form gives back the same 8 bytes
// (e.g. a MAC Mobility community with reserved bits set stays opaque), so decode/encode is
// byte-exact for every input.
import { hex, ipv4ToBytes, ipv4ToString, macToBytes, macToString } from './addr';

export type RouteTarget =
  | { kind: 'route-target'; format: 'as2'; asn: number; local: number }
  | { kind: 'route-target'; format: 'ipv4'; ip: string; local: number }
  | { kind: 'route-target'; format: 'as4'; asn: number; local: number };

export type ExtCommunity =
  | RouteTarget
  /** RFC 9012 tunnel type: 8 = VXLAN, 9 = NVGRE, 10 = MPLS, 11 = MPLS in GRE, 12 = VXLAN-GPE. */
  | { kind: 'encapsulation'; tunnelType: number }
  | { kind: 'mac-mobility'; sequence: number; sticky: boolean }
  | { kind: 'default-gateway' }
  | { kind: 'router-mac'; mac: string }
  /** Any other community: type and sub-type octets plus the six value octets in hex. */
  | { kind: 'opaque'; type: number; subtype: number; value: string };

export const TUNNEL_TYPE_VXLAN = 8;

/** High-order type octets (RFC 4360 section 3, RFC 7153). */
export const EC_TYPE_AS2 = 0x00;
export const EC_TYPE_IPV4 = 0x01;
export const EC_TYPE_AS4 = 0x02;
export const EC_TYPE_OPAQUE = 0x03;
export const EC_TYPE_EVPN = 0x06;
export const EC_SUBTYPE_ROUTE_TARGET = 0x02;
export const EC_SUBTYPE_ENCAPSULATION = 0x0c;
export const EC_SUBTYPE_DEFAULT_GATEWAY = 0x0d;
export const EC_SUBTYPE_MAC_MOBILITY = 0x00;
export const EC_SUBTYPE_ROUTER_MAC = 0x03;

/** RFC 4360 section 2: bit 0x40 of the type octet set means non-transitive. */
export function isTransitive(c: ExtCommunity): boolean {
  return c.kind !== 'opaque' || (c.type & 0x40) === 0;
}

function decodeTyped(b: Buffer, at: number): ExtCommunity {
  const type = b[at]!;
  const sub = b[at + 1]!;
  if (sub === EC_SUBTYPE_ROUTE_TARGET) {
    if (type === EC_TYPE_AS2)
      return { kind: 'route-target', format: 'as2', asn: b.readUInt16BE(at + 2), local: b.readUInt32BE(at + 4) };
    if (type === EC_TYPE_IPV4)
      return { kind: 'route-target', format: 'ipv4', ip: ipv4ToString(b, at + 2), local: b.readUInt16BE(at + 6) };
    if (type === EC_TYPE_AS4)
      return { kind: 'route-target', format: 'as4', asn: b.readUInt32BE(at + 2), local: b.readUInt16BE(at + 6) };
  }
  if (type === EC_TYPE_OPAQUE && sub === EC_SUBTYPE_ENCAPSULATION)
    return { kind: 'encapsulation', tunnelType: b.readUInt16BE(at + 6) };
  if (type === EC_TYPE_OPAQUE && sub === EC_SUBTYPE_DEFAULT_GATEWAY) return { kind: 'default-gateway' };
  if (type === EC_TYPE_EVPN && sub === EC_SUBTYPE_MAC_MOBILITY)
    return { kind: 'mac-mobility', sticky: (b[at + 2]! & 0x01) !== 0, sequence: b.readUInt32BE(at + 4) };
  if (type === EC_TYPE_EVPN && sub === EC_SUBTYPE_ROUTER_MAC) return { kind: 'router-mac', mac: macToString(b, at + 2) };
  return opaque(b, at);
}

function opaque(b: Buffer, at: number): ExtCommunity {
  return { kind: 'opaque', type: b[at]!, subtype: b[at + 1]!, value: hex(b, at + 2, at + 8) };
}

/** Decodes the 8 bytes at `at`. Never throws (every 8-byte value is some community). */
export function decodeExtCommunity(b: Buffer, at = 0): ExtCommunity {
  const typed = decodeTyped(b, at);
  if (typed.kind === 'opaque') return typed;
  // Keep decode/encode byte-exact: reserved bits we do not model make the value opaque.
  const back = Buffer.allocUnsafe(8);
  encodeExtCommunityInto(typed, back, 0);
  return back.equals(b.subarray(at, at + 8)) ? typed : opaque(b, at);
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} must be an integer 0..${max}, got ${v}`);
}

/** Writes the 8-byte encoding; throws RangeError for out-of-range fields. */
export function encodeExtCommunityInto(c: ExtCommunity, out: Buffer, at: number): void {
  out.fill(0, at, at + 8);
  switch (c.kind) {
    case 'route-target':
      out[at + 1] = EC_SUBTYPE_ROUTE_TARGET;
      if (c.format === 'as2') {
        checkUint(c.asn, 0xffff, 'route target AS (2-octet format)');
        checkUint(c.local, 0xffffffff, 'route target local value');
        out[at] = EC_TYPE_AS2;
        out.writeUInt16BE(c.asn, at + 2);
        out.writeUInt32BE(c.local, at + 4);
      } else if (c.format === 'ipv4') {
        checkUint(c.local, 0xffff, 'route target local value (IPv4 format)');
        out[at] = EC_TYPE_IPV4;
        ipv4ToBytes(c.ip).copy(out, at + 2);
        out.writeUInt16BE(c.local, at + 6);
      } else {
        checkUint(c.asn, 0xffffffff, 'route target AS');
        checkUint(c.local, 0xffff, 'route target local value (4-octet AS format)');
        out[at] = EC_TYPE_AS4;
        out.writeUInt32BE(c.asn, at + 2);
        out.writeUInt16BE(c.local, at + 6);
      }
      return;
    case 'encapsulation':
      checkUint(c.tunnelType, 0xffff, 'tunnel type');
      out[at] = EC_TYPE_OPAQUE;
      out[at + 1] = EC_SUBTYPE_ENCAPSULATION;
      out.writeUInt16BE(c.tunnelType, at + 6);
      return;
    case 'default-gateway':
      out[at] = EC_TYPE_OPAQUE;
      out[at + 1] = EC_SUBTYPE_DEFAULT_GATEWAY;
      return;
    case 'mac-mobility':
      checkUint(c.sequence, 0xffffffff, 'MAC Mobility sequence number');
      out[at] = EC_TYPE_EVPN;
      out[at + 1] = EC_SUBTYPE_MAC_MOBILITY;
      out[at + 2] = c.sticky ? 0x01 : 0x00;
      out.writeUInt32BE(c.sequence, at + 4);
      return;
    case 'router-mac':
      out[at] = EC_TYPE_EVPN;
      out[at + 1] = EC_SUBTYPE_ROUTER_MAC;
      macToBytes(c.mac).copy(out, at + 2);
      return;
    case 'opaque': {
      checkUint(c.type, 0xff, 'extended community type');
      checkUint(c.subtype, 0xff, 'extended community sub-type');
      if (!/^[0-9a-fA-F]{12}$/.test(c.value)) throw new RangeError(`opaque extended community value must be 12 hex digits, got '${c.value}'`);
      out[at] = c.type;
      out[at + 1] = c.subtype;
      Buffer.from(c.value, 'hex').copy(out, at + 2);
      return;
    }
  }
}

export function encodeExtCommunity(c: ExtCommunity): Buffer {
  const b = Buffer.allocUnsafe(8);
  encodeExtCommunityInto(c, b, 0);
  return b;
}

/** Text in FRR's style: 'RT:65000:100', 'ET:8', 'MM:5', 'MM:5, sticky MAC', 'Rmac:..'. */
export function extCommunityToString(c: ExtCommunity): string {
  switch (c.kind) {
    case 'route-target':
      return c.format === 'ipv4' ? `RT:${c.ip}:${c.local}` : `RT:${c.asn}:${c.local}`;
    case 'encapsulation':
      return `ET:${c.tunnelType}`;
    case 'mac-mobility':
      return c.sticky ? `MM:${c.sequence}, sticky MAC` : `MM:${c.sequence}`;
    case 'default-gateway':
      return 'Default Gateway';
    case 'router-mac':
      return `Rmac:${c.mac}`;
    case 'opaque':
      return `0x${c.type.toString(16).padStart(2, '0')}${c.subtype.toString(16).padStart(2, '0')}:${c.value}`;
  }
}

/** The MAC Mobility community of a route, if any (RFC 7432 section 15). */
export function macMobility(list: readonly ExtCommunity[] | undefined): { sequence: number; sticky: boolean } | undefined {
  if (!list) return undefined;
  for (const c of list) if (c.kind === 'mac-mobility') return c;
  return undefined;
}
