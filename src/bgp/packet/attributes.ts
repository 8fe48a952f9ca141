// Path attributes: decode with RFC 7606 revised error handling, encode in type-code order.
//
// RFC 7606 section 2 gives three answers to a malformed attribute, from mildest:
//   attribute discard  - drop the attribute, keep the route (ATOMIC_AGGREGATE, AGGREGATOR,
//                        AS4_PATH, AS4_AGGREGATOR);
//   treat-as-withdraw  - keep the session, treat every route of the UPDATE as withdrawn
//                        (most attributes);
//   session reset      - NOTIFICATION, only where the NLRI can no longer be located
//                        (MP_REACH_NLRI / MP_UNREACH_NLRI, duplicated MP attributes,
//                        unparseable NLRI, an unrecognised well-known attribute).
// The decoder never throws for the first two: it reports them, and the receiver logs them
// and acts. Session resets throw NotificationError carrying the RFC 4271 section 6.3 data.
import { ipToBytes, ipToString, ipv4ToBytes, ipv4ToString, hex } from './addr';
import { Reader, ShortBufferError, Writer } from './buffer';
import { AS_TRANS, AttrFlag, AttrType, Afi, ErrorCode, Safi, UpdateSubcode } from './constants';
import { NotificationError } from './errors';
import { ExtCommunity, decodeExtCommunity, encodeExtCommunityInto } from './extcommunity';
import { EvpnNlriError, EvpnRoute, decodeEvpnNlri, encodeEvpnRoute } from './evpn';
import { Ipv4Prefix, PrefixError, decodeIpv4Prefixes, encodeIpv4Prefix } from './prefix';
import { isIPv4, isIPv6 } from 'node:net';

export const enum Origin {
  Igp = 0,
  Egp = 1,
  Incomplete = 2,
}

export const enum AsPathSegmentType {
  Set = 1,
  Sequence = 2,
  ConfedSequence = 3, // RFC 5065
  ConfedSet = 4,
}

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export type LargeCommunity = readonly [globalAdmin: number, local1: number, local2: number];

/** RFC 6514 section 5 (RFC 7432 section 11.2 uses it on Type-3 routes). */
export interface PmsiTunnel {
  flags: number;
  /** 6 = ingress replication, the value VXLAN EVPN uses. */
  tunnelType: number;
  /** Raw 24-bit label field: the VNI for VXLAN. */
  label: number;
  /** IP text when the identifier is 4 or 16 bytes, else '0x' + hex. */
  tunnelIdentifier: string;
}

/** An attribute this speaker does not model, kept with its original flags. */
export interface RawAttribute {
  flags: number;
  type: number;
  value: Buffer;
}

export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  extCommunities?: ExtCommunity[];
  largeCommunities?: LargeCommunity[];
  pmsiTunnel?: PmsiTunnel;
  /** Unknown optional transitive attributes: passed on with the Partial bit set (RFC 4271
   * section 5). Unknown optional non-transitive ones are dropped at decode. */
  unknown?: RawAttribute[];
}

export type Nlri = EvpnRoute | Ipv4Prefix;

export interface MpReach {
  afi: number;
  safi: number;
  /** One address, or global + link-local for a 32-byte IPv6 next hop. */
  nextHops: string[];
  routes: Nlri[];
  /** EVPN route types skipped because unknown (RFC 7432: skip by length). */
  skippedTypes?: number[];
  /** Families this codec does not parse: the undecoded NLRI bytes. */
  rawNlri?: Buffer;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  routes: Nlri[];
  skippedTypes?: number[];
  rawNlri?: Buffer;
}

export interface DecodeOptions {
  /** RFC 6793: both sides sent the 4-octet AS capability. */
  as4: boolean;
  /** The peer is internal (same AS): LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are valid. */
  ibgp?: boolean;
}

export interface AttributesResult {
  attributes: PathAttributes;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** RFC 7606 treat-as-withdraw reasons (empty when none). */
  withdrawReasons: string[];
  /** RFC 7606 attribute-discard reasons (empty when none). */
  discarded: string[];
}

export const FAMILY_EVPN = { afi: Afi.L2vpn, safi: Safi.Evpn } as const;
export const FAMILY_IPV4_UNICAST = { afi: Afi.Ipv4, safi: Safi.Unicast } as const;

// Expected Optional/Transitive bits of the attributes we know (RFC 4271 section 5 and the
// RFCs defining each attribute). RFC 7606 section 3(c): a conflict makes the attribute
// malformed.
const OT = AttrFlag.Optional | AttrFlag.Transitive;
const EXPECTED_FLAGS: Record<number, number> = {
  [AttrType.Origin]: AttrFlag.Transitive,
  [AttrType.AsPath]: AttrFlag.Transitive,
  [AttrType.NextHop]: AttrFlag.Transitive,
  [AttrType.MultiExitDisc]: AttrFlag.Optional,
  [AttrType.LocalPref]: AttrFlag.Transitive,
  [AttrType.AtomicAggregate]: AttrFlag.Transitive,
  [AttrType.Aggregator]: OT,
  [AttrType.Communities]: OT,
  [AttrType.OriginatorId]: AttrFlag.Optional,
  [AttrType.ClusterList]: AttrFlag.Optional,
  [AttrType.MpReachNlri]: AttrFlag.Optional,
  [AttrType.MpUnreachNlri]: AttrFlag.Optional,
  [AttrType.ExtendedCommunities]: OT,
  [AttrType.As4Path]: OT,
  [AttrType.As4Aggregator]: OT,
  [AttrType.PmsiTunnel]: OT,
  [AttrType.LargeCommunity]: OT,
};

const ATTR_NAMES: Record<number, string> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MULTI_EXIT_DISC',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  9: 'ORIGINATOR_ID',
  10: 'CLUSTER_LIST',
  14: 'MP_REACH_NLRI',
  15: 'MP_UNREACH_NLRI',
  16: 'EXTENDED_COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  22: 'PMSI_TUNNEL',
  32: 'LARGE_COMMUNITY',
};

export function attributeName(type: number): string {
  return ATTR_NAMES[type] ?? `attribute ${type}`;
}

/** The whole attribute (flags, type, length, value) for a NOTIFICATION's Data field. */
function attrBytes(r: Reader, start: number, end: number): Buffer {
  return Buffer.from(r.buf.subarray(start, end));
}

class Malformed extends Error {}

/** Per-attribute consequence of a malformed value (RFC 7606 section 7). */
const enum Action {
  Withdraw,
  Discard,
  Reset,
}

function malformedAction(type: number): Action {
  switch (type) {
    case AttrType.AtomicAggregate:
    case AttrType.Aggregator:
    case AttrType.As4Path:
    case AttrType.As4Aggregator:
      return Action.Discard; // RFC 7606 sections 7.6, 7.7; RFC 6793 section 6
    case AttrType.MpReachNlri:
    case AttrType.MpUnreachNlri:
      return Action.Reset; // RFC 7606 section 7.11 (and RFC 4760 section 7)
    default:
      return Action.Withdraw;
  }
}

function decodeAsPath(r: Reader, asnBytes: 2 | 4): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 2) throw new Malformed('AS_PATH: truncated segment header');
    const type = r.u8();
    const count = r.u8();
    if (type < 1 || type > 4) throw new Malformed(`AS_PATH: segment type ${type}`);
    if (count === 0) throw new Malformed('AS_PATH: zero-length segment'); // RFC 7606 section 7.2
    if (count * asnBytes > r.remaining) throw new Malformed('AS_PATH: segment overruns the attribute');
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) asns[i] = asnBytes === 4 ? r.u32() : r.u16();
    segments.push({ type, asns });
  }
  return segments;
}

/** AS path length for the decision process and RFC 6793 merging (RFC 4271 section
 * 9.1.2.2(a)): a SET counts as 1; confederation segments count 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.Sequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.Set) n += 1;
  }
  return n;
}

/** RFC 6793 section 4.2.3: rebuild the 4-octet path from AS_PATH and AS4_PATH. */
function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  const len2 = asPathLength(asPath);
  const len4 = asPathLength(as4Path);
  if (len2 < len4) return asPath; // AS4_PATH is ignored
  // Keep the leading (len2 - len4) ASes of AS_PATH, then append AS4_PATH.
  let keep = len2 - len4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    // RFC 6793 section 4.2.3: a confederation segment is prepended when it leads the path or
    // is adjacent to a prepended segment (it used to be dropped when keep was already 0).
    if (s.type === AsPathSegmentType.ConfedSequence || s.type === AsPathSegmentType.ConfedSet) {
      out.push({ type: s.type, asns: [...s.asns] });
      continue;
    }
    if (keep <= 0) break;
    if (s.type === AsPathSegmentType.Sequence) {
      const take = s.asns.slice(0, keep);
      out.push({ type: s.type, asns: take });
      keep -= take.length;
    } else {
      out.push({ type: s.type, asns: [...s.asns] });
      keep -= 1;
    }
  }
  return [...out, ...as4Path];
}

function decodePmsi(v: Reader, len: number): PmsiTunnel {
  if (len < 5) throw new Malformed(`PMSI_TUNNEL: length ${len} (at least 5)`);
  const flags = v.u8();
  const tunnelType = v.u8();
  const label = v.u24();
  const id = v.bytes(len - 5);
  const tunnelIdentifier = id.length === 4 || id.length === 16 ? ipToString(id) : `0x${hex(id)}`;
  return { flags, tunnelType, label, tunnelIdentifier };
}

function decodeNextHops(b: Buffer, afi: number, safi: number): string[] {
  // RFC 4760 section 3; RFC 7432 section 7 (EVPN: the VTEP/PE address, IPv4 or IPv6).
  const len = b.length;
  if (afi === Afi.L2vpn && safi === Safi.Evpn) {
    if (len === 4 || len === 16) return [ipToString(b)];
    if (len === 32) return [ipToString(b.subarray(0, 16)), ipToString(b.subarray(16))];
    throw new Malformed(`MP_REACH_NLRI: EVPN next hop length ${len} (4, 16 or 32)`);
  }
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) {
    if (len === 4) return [ipToString(b)];
    throw new Malformed(`MP_REACH_NLRI: IPv4 unicast next hop length ${len} (must be 4)`);
  }
  return [`0x${hex(b)}`];
}

function decodeNlriField(afi: number, safi: number, r: Reader): { routes: Nlri[]; skippedTypes?: number[]; rawNlri?: Buffer } {
  if (afi === Afi.L2vpn && safi === Safi.Evpn) {
    const { routes, skippedTypes } = decodeEvpnNlri(r);
    return skippedTypes.length ? { routes, skippedTypes } : { routes };
  }
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) return { routes: decodeIpv4Prefixes(r) };
  return { routes: [], rawNlri: Buffer.from(r.bytes(r.remaining)) };
}

/**
 * Decodes the Path Attributes field (`r` spans exactly Total Path Attribute Length bytes).
 * `hasIpv4Nlri`: the UPDATE's NLRI field is not empty (NEXT_HOP becomes mandatory).
 */
export function decodeAttributes(r: Reader, opts: DecodeOptions, hasIpv4Nlri: boolean): AttributesResult {
  const attributes: PathAttributes = {};
  const withdrawReasons: string[] = [];
  const discarded: string[] = [];
  const seen = new Set<number>();
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  let as4Path: AsPathSegment[] | undefined;
  let as4Aggregator: { asn: number; address: string } | undefined;

  while (r.remaining > 0) {
    const start = r.pos;
    // RFC 7606 section 4: too few octets left for an attribute header, or an attribute that
    // overruns the attribute field: treat-as-withdraw, and rely on Total Path Attribute
    // Length to find the NLRI.
    if (r.remaining < 3) {
      withdrawReasons.push(`${r.remaining} trailing byte(s) in the path attributes`);
      break;
    }
    const flags = r.u8();
    const type = r.u8();
    const extended = (flags & AttrFlag.ExtendedLength) !== 0;
    if (extended && r.remaining < 2) {
      withdrawReasons.push('truncated extended-length attribute header');
      break;
    }
    const len = extended ? r.u16() : r.u8();
    if (len > r.remaining) {
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri)
        throw new NotificationError(
          ErrorCode.UpdateMessage,
          UpdateSubcode.AttributeLengthError,
          `${attributeName(type)} length ${len} overruns the path attributes`,
          attrBytes(r, start, r.end),
        );
      withdrawReasons.push(`${attributeName(type)} length ${len} overruns the path attributes (${r.remaining} left)`);
      break;
    }
    const v = r.sub(len);
    const whole = () => attrBytes(r, start, v.end);

    // RFC 7606 section 3(g): MP_REACH/MP_UNREACH more than once: session reset; any other
    // attribute more than once: keep the first, discard the rest.
    if (seen.has(type)) {
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri)
        throw new NotificationError(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, `${attributeName(type)} appears more than once`);
      discarded.push(`repeated ${attributeName(type)}`);
      continue;
    }
    seen.add(type);

    const expected = EXPECTED_FLAGS[type];
    if (expected === undefined) {
      // Unknown attribute (RFC 4271 section 5 and 9).
      if ((flags & AttrFlag.Optional) === 0)
        throw new NotificationError(
          ErrorCode.UpdateMessage,
          UpdateSubcode.UnrecognizedWellKnownAttribute,
          `unrecognized well-known attribute ${type}`,
          whole(),
        );
      if (flags & AttrFlag.Transitive) (attributes.unknown ??= []).push({ flags, type, value: Buffer.from(v.bytes(len)) });
      continue;
    }

    try {
      if ((flags & OT) !== expected)
        throw new Malformed(`${attributeName(type)}: flags 0x${flags.toString(16)} (Optional/Transitive must be 0x${expected.toString(16)})`);
      switch (type) {
        case AttrType.Origin: {
          if (len !== 1) throw new Malformed(`ORIGIN length ${len}`);
          const o = v.u8();
          if (o > 2) throw new Malformed(`ORIGIN value ${o}`);
          attributes.origin = o;
          break;
        }
        case AttrType.AsPath:
          attributes.asPath = decodeAsPath(v, opts.as4 ? 4 : 2);
          break;
        case AttrType.NextHop:
          if (len !== 4) throw new Malformed(`NEXT_HOP length ${len}`);
          attributes.nextHop = ipv4ToString(v.bytes(4));
          break;
        case AttrType.MultiExitDisc:
          if (len !== 4) throw new Malformed(`MULTI_EXIT_DISC length ${len}`);
          attributes.med = v.u32();
          break;
        case AttrType.LocalPref:
          if (len !== 4) throw new Malformed(`LOCAL_PREF length ${len}`);
          if (opts.ibgp === false) {
            discarded.push('LOCAL_PREF from an external peer'); // RFC 7606 section 7.5
            break;
          }
          attributes.localPref = v.u32();
          break;
        case AttrType.AtomicAggregate:
          if (len !== 0) throw new Malformed(`ATOMIC_AGGREGATE length ${len}`);
          attributes.atomicAggregate = true;
          break;
        case AttrType.Aggregator: {
          const want = opts.as4 ? 8 : 6;
          if (len !== want) throw new Malformed(`AGGREGATOR length ${len} (must be ${want})`);
          const asn = opts.as4 ? v.u32() : v.u16();
          attributes.aggregator = { asn, address: ipv4ToString(v.bytes(4)) };
          break;
        }
        case AttrType.Communities: {
          if (len === 0 || len % 4 !== 0) throw new Malformed(`COMMUNITIES length ${len}`);
          const list: number[] = [];
          while (v.remaining) list.push(v.u32());
          attributes.communities = list;
          break;
        }
        case AttrType.OriginatorId:
          if (len !== 4) throw new Malformed(`ORIGINATOR_ID length ${len}`);
          attributes.originatorId = ipv4ToString(v.bytes(4));
          break;
        case AttrType.ClusterList: {
          if (len === 0 || len % 4 !== 0) throw new Malformed(`CLUSTER_LIST length ${len}`);
          const list: string[] = [];
          while (v.remaining) list.push(ipv4ToString(v.bytes(4)));
          attributes.clusterList = list;
          break;
        }
        case AttrType.MpReachNlri: {
          if (len < 5) throw new Malformed(`MP_REACH_NLRI length ${len}`);
          const afi = v.u16();
          const safi = v.u8();
          const nhLen = v.u8();
          if (nhLen + 1 > v.remaining) throw new Malformed(`MP_REACH_NLRI next hop length ${nhLen} overruns the attribute`);
          const nextHops = decodeNextHops(v.bytes(nhLen), afi, safi);
          v.u8(); // Reserved (RFC 4760 section 3): ignored on receipt
          mpReach = { afi, safi, nextHops, ...decodeNlriField(afi, safi, v) };
          break;
        }
        case AttrType.MpUnreachNlri: {
          if (len < 3) throw new Malformed(`MP_UNREACH_NLRI length ${len}`);
          const afi = v.u16();
          const safi = v.u8();
          mpUnreach = { afi, safi, ...decodeNlriField(afi, safi, v) };
          break;
        }
        case AttrType.ExtendedCommunities: {
          if (len === 0 || len % 8 !== 0) throw new Malformed(`EXTENDED_COMMUNITIES length ${len}`);
          const list: ExtCommunity[] = [];
          const b = v.bytes(len);
          for (let i = 0; i < len; i += 8) list.push(decodeExtCommunity(b, i));
          attributes.extCommunities = list;
          break;
        }
        case AttrType.As4Path:
          as4Path = decodeAsPath(v, 4);
          // RFC 6793 section 6: confederation segments must not be in AS4_PATH; a receiver
          // discards those segments and goes on.
          if (!opts.as4 && as4Path.some(isConfed)) {
            as4Path = as4Path.filter((seg) => !isConfed(seg));
            discarded.push('AS_CONFED segments in AS4_PATH');
          }
          break;
        case AttrType.As4Aggregator:
          if (len !== 8) throw new Malformed(`AS4_AGGREGATOR length ${len}`);
          as4Aggregator = { asn: v.u32(), address: ipv4ToString(v.bytes(4)) };
          break;
        case AttrType.PmsiTunnel:
          attributes.pmsiTunnel = decodePmsi(v, len);
          break;
        case AttrType.LargeCommunity: {
          if (len === 0 || len % 12 !== 0) throw new Malformed(`LARGE_COMMUNITY length ${len}`); // RFC 8092 section 6
          const list: LargeCommunity[] = [];
          while (v.remaining) list.push([v.u32(), v.u32(), v.u32()]);
          attributes.largeCommunities = list;
          break;
        }
      }
    } catch (err) {
      const reason =
        err instanceof Malformed
          ? err.message
          : err instanceof ShortBufferError
            ? `${attributeName(type)}: truncated value`
            : err instanceof EvpnNlriError || err instanceof PrefixError
              ? `${attributeName(type)}: ${err.message}`
              : undefined;
      if (reason === undefined) throw err;
      switch (malformedAction(type)) {
        case Action.Discard:
          discarded.push(reason);
          break;
        case Action.Withdraw:
          withdrawReasons.push(reason);
          break;
        case Action.Reset:
          // RFC 4760 section 7 / RFC 7606 section 7.11: the NLRI cannot be trusted.
          // Optional Attribute Error, data = the erroneous attribute (RFC 4271 section 6.3).
          throw new NotificationError(ErrorCode.UpdateMessage, UpdateSubcode.OptionalAttributeError, reason, whole());
      }
    }
  }

  // RFC 6793 section 4.1 / 4.2.3: AS4_PATH and AS4_AGGREGATOR only matter on 2-octet sessions.
  if (opts.as4) {
    if (as4Path) discarded.push('AS4_PATH on a 4-octet AS session');
    if (as4Aggregator) discarded.push('AS4_AGGREGATOR on a 4-octet AS session');
  } else {
    // RFC 6793 section 4.2.3: an AGGREGATOR with a real AS (not AS_TRANS) beside an
    // AS4_AGGREGATOR makes both AS4_* attributes ignored. Decided on the received AGGREGATOR,
    // before it is replaced (the replaced one made AS4_PATH ignored whenever AS4_AGGREGATOR
    // was used).
    const ignoreAs4 = as4Aggregator !== undefined && attributes.aggregator !== undefined && attributes.aggregator.asn !== AS_TRANS;
    if (!ignoreAs4) {
      if (as4Aggregator && attributes.aggregator) attributes.aggregator = as4Aggregator;
      if (as4Path && attributes.asPath) attributes.asPath = mergeAs4Path(attributes.asPath, as4Path);
    }
  }

  // RFC 7606 section 3(d): a missing well-known mandatory attribute -> treat-as-withdraw,
  // checked only when there is something to announce. RFC 4760 makes NEXT_HOP needed only
  // for routes in the NLRI field.
  const announces = hasIpv4Nlri || (mpReach !== undefined && (mpReach.routes.length > 0 || mpReach.rawNlri !== undefined));
  if (announces) {
    if (attributes.origin === undefined && !seen.has(AttrType.Origin)) withdrawReasons.push('missing ORIGIN');
    if (attributes.asPath === undefined && !seen.has(AttrType.AsPath)) withdrawReasons.push('missing AS_PATH');
    if (hasIpv4Nlri && attributes.nextHop === undefined && !seen.has(AttrType.NextHop)) withdrawReasons.push('missing NEXT_HOP');
  }

  const out: AttributesResult = { attributes, withdrawReasons, discarded };
  if (mpReach) out.mpReach = mpReach;
  if (mpUnreach) out.mpUnreach = mpUnreach;
  return out;
}

// ---------------------------------------------------------------------------------------
// Encoding

function writeAttr(w: Writer, flags: number, type: number, body: (w: Writer) => void): void {
  // Write with a 2-byte length, then shrink to 1 byte if it fits (RFC 4271 section 4.3:
  // the Extended Length bit is for values over 255 octets).
  const start = w.pos;
  w.u8(flags | AttrFlag.ExtendedLength).u8(type);
  const lenAt = w.reserve(2);
  const valueStart = w.pos;
  body(w);
  const len = w.pos - valueStart;
  if (len > 0xffff) throw new RangeError(`${attributeName(type)} value of ${len} bytes is too long`);
  w.patchU16(lenAt, len);
  if (len <= 255) {
    const buf = w.view();
    buf.copyWithin(lenAt + 1, valueStart, w.pos);
    buf[start] = flags & ~AttrFlag.ExtendedLength;
    buf[lenAt] = len;
    w.pos -= 1;
  }
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be an integer 0..4294967295, got ${v}`);
}

function isConfed(s: AsPathSegment): boolean {
  return s.type === AsPathSegmentType.ConfedSequence || s.type === AsPathSegmentType.ConfedSet;
}

function encodeAsPath(w: Writer, segments: AsPathSegment[], as4: boolean): void {
  for (const s of segments) {
    if (s.type < 1 || s.type > 4) throw new RangeError(`AS_PATH segment type ${s.type}`);
    // RFC 4271 section 4.3: a segment holds 1..255 ASes; longer runs are split.
    for (let i = 0; i < s.asns.length || i === 0; i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      if (chunk.length === 0) throw new RangeError('AS_PATH segment without AS numbers');
      w.u8(s.type).u8(chunk.length);
      for (const asn of chunk) {
        checkU32(asn, 'AS number');
        if (as4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

function writeNextHops(w: Writer, nextHops: string[]): void {
  const bufs = nextHops.map(ipToBytes);
  const len = bufs.reduce((n, b) => n + b.length, 0);
  w.u8(len);
  for (const b of bufs) w.bytes(b);
}

function isEvpn(afi: number, safi: number): boolean {
  return afi === Afi.L2vpn && safi === Safi.Evpn;
}

function writeNlri(w: Writer, afi: number, safi: number, routes: Nlri[]): void {
  if (isEvpn(afi, safi)) for (const r of routes) encodeEvpnRoute(w, r as EvpnRoute);
  else if (afi === Afi.Ipv4 && safi === Safi.Unicast) for (const r of routes) encodeIpv4Prefix(w, r as Ipv4Prefix);
  else if (routes.length) throw new RangeError(`cannot encode NLRI of AFI ${afi} SAFI ${safi}`);
}

export interface EncodeAttributesInput {
  attributes: PathAttributes;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
}

function validateAttributes(a: PathAttributes): void {
  if (a.origin !== undefined && (a.origin < 0 || a.origin > 2 || !Number.isInteger(a.origin))) throw new RangeError(`ORIGIN ${a.origin}`);
  if (a.nextHop !== undefined && !isIPv4(a.nextHop)) throw new RangeError(`NEXT_HOP '${a.nextHop}' is not an IPv4 address`);
  if (a.med !== undefined) checkU32(a.med, 'MED');
  if (a.localPref !== undefined) checkU32(a.localPref, 'LOCAL_PREF');
  if (a.communities?.length === 0) throw new RangeError('COMMUNITIES must not be empty');
  for (const c of a.communities ?? []) checkU32(c, 'community');
  if (a.originatorId !== undefined && !isIPv4(a.originatorId)) throw new RangeError(`ORIGINATOR_ID '${a.originatorId}'`);
  if (a.clusterList?.length === 0) throw new RangeError('CLUSTER_LIST must not be empty');
  for (const c of a.clusterList ?? []) if (!isIPv4(c)) throw new RangeError(`CLUSTER_LIST entry '${c}'`);
  if (a.extCommunities?.length === 0) throw new RangeError('EXTENDED_COMMUNITIES must not be empty');
  if (a.largeCommunities?.length === 0) throw new RangeError('LARGE_COMMUNITY must not be empty');
  for (const l of a.largeCommunities ?? []) {
    if (l.length !== 3) throw new RangeError('a large community has three parts');
    l.forEach((x) => checkU32(x, 'large community part'));
  }
  if (a.pmsiTunnel) {
    const p = a.pmsiTunnel;
    if (p.label < 0 || p.label > 0xffffff) throw new RangeError(`PMSI label ${p.label}`);
    if (!isIPv4(p.tunnelIdentifier) && !isIPv6(p.tunnelIdentifier) && !/^0x([0-9a-f]{2})*$/i.test(p.tunnelIdentifier))
      throw new RangeError(`PMSI tunnel identifier '${p.tunnelIdentifier}'`);
  }
  for (const u of a.unknown ?? []) {
    if (EXPECTED_FLAGS[u.type] !== undefined) throw new RangeError(`attribute ${u.type} is a known attribute and cannot be passed as unknown`);
    if (!(u.flags & AttrFlag.Optional)) throw new RangeError(`unknown attribute ${u.type} must be optional`);
  }
}

/**
 * Encodes a Path Attributes field. Validation happens before anything is written, so an
 * invalid value throws RangeError and never produces a malformed message.
 */
export function encodeAttributes(out: Writer, input: EncodeAttributesInput, as4: boolean): void {
  // Some checks can only run while writing (addresses, AS numbers): write into a scratch
  // writer and copy on success, so a RangeError leaves `out` untouched.
  const w = new Writer(512);
  encodeAttributesInto(w, input, as4);
  out.bytes(w.view());
}

function encodeAttributesInto(w: Writer, input: EncodeAttributesInput, as4: boolean): void {
  const a = input.attributes;
  validateAttributes(a);
  // Encode the MP NLRI into a scratch writer first: that validates every route.
  const reach = input.mpReach;
  const unreach = input.mpUnreach;
  if (reach) {
    if (reach.rawNlri) throw new RangeError('cannot re-encode an undecoded NLRI');
    // The next hops must be what a receiver accepts (RFC 4760 section 3; RFC 7432 section 7):
    // any other count or family mix used to go out and cost a session reset.
    const nh = Buffer.concat(reach.nextHops.map((h) => ipToBytes(h)));
    if (nh.length > 255) throw new RangeError(`MP_REACH_NLRI: ${reach.nextHops.length} next hops`);
    try {
      decodeNextHops(nh, reach.afi, reach.safi);
    } catch (err) {
      if (err instanceof Malformed) throw new RangeError(err.message);
      throw err;
    }
  }
  // Like MP_REACH above: undecoded withdrawn routes cannot be re-encoded (they used to be
  // dropped silently). An empty one (End-of-RIB of another family) is fine.
  if (unreach?.rawNlri && unreach.rawNlri.length > 0) throw new RangeError('cannot re-encode an undecoded NLRI');

  // RFC 6793 sections 3 and 4.2.2: AS4_PATH never carries confederation segments.
  const as4PathSegments = (a.asPath ?? []).filter((s) => !isConfed(s));
  const needsAs4Path = !as4 && as4PathSegments.some((s) => s.asns.some((x) => x > 0xffff));
  const aggregatorAs4 = !as4 && a.aggregator !== undefined && a.aggregator.asn > 0xffff;

  if (reach) {
    writeAttr(w, AttrFlag.Optional, AttrType.MpReachNlri, (w) => {
      w.u16(reach.afi).u8(reach.safi);
      writeNextHops(w, reach.nextHops);
      w.u8(0);
      writeNlri(w, reach.afi, reach.safi, reach.routes);
    });
  }
  if (unreach) {
    writeAttr(w, AttrFlag.Optional, AttrType.MpUnreachNlri, (w) => {
      w.u16(unreach.afi).u8(unreach.safi);
      writeNlri(w, unreach.afi, unreach.safi, unreach.routes);
    });
  }
  if (a.origin !== undefined) writeAttr(w, AttrFlag.Transitive, AttrType.Origin, (w) => w.u8(a.origin!));
  if (a.asPath !== undefined) writeAttr(w, AttrFlag.Transitive, AttrType.AsPath, (w) => encodeAsPath(w, a.asPath!, as4));
  if (a.nextHop !== undefined) writeAttr(w, AttrFlag.Transitive, AttrType.NextHop, (w) => w.bytes(ipv4ToBytes(a.nextHop!)));
  if (a.med !== undefined) writeAttr(w, AttrFlag.Optional, AttrType.MultiExitDisc, (w) => w.u32(a.med!));
  if (a.localPref !== undefined) writeAttr(w, AttrFlag.Transitive, AttrType.LocalPref, (w) => w.u32(a.localPref!));
  if (a.atomicAggregate) writeAttr(w, AttrFlag.Transitive, AttrType.AtomicAggregate, () => undefined);
  if (a.aggregator !== undefined) {
    const agg = a.aggregator;
    checkU32(agg.asn, 'AGGREGATOR AS');
    writeAttr(w, OT, AttrType.Aggregator, (w) => {
      if (as4) w.u32(agg.asn);
      else w.u16(agg.asn > 0xffff ? AS_TRANS : agg.asn);
      w.bytes(ipv4ToBytes(agg.address));
    });
  }
  if (a.communities !== undefined) writeAttr(w, OT, AttrType.Communities, (w) => a.communities!.forEach((c) => w.u32(c)));
  if (a.originatorId !== undefined) writeAttr(w, AttrFlag.Optional, AttrType.OriginatorId, (w) => w.bytes(ipv4ToBytes(a.originatorId!)));
  if (a.clusterList !== undefined)
    writeAttr(w, AttrFlag.Optional, AttrType.ClusterList, (w) => a.clusterList!.forEach((c) => w.bytes(ipv4ToBytes(c))));
  if (a.extCommunities !== undefined) {
    const list = a.extCommunities;
    const buf = Buffer.allocUnsafe(list.length * 8);
    list.forEach((c, i) => encodeExtCommunityInto(c, buf, i * 8));
    writeAttr(w, OT, AttrType.ExtendedCommunities, (w) => w.bytes(buf));
  }
  if (needsAs4Path) writeAttr(w, OT, AttrType.As4Path, (w) => encodeAsPath(w, as4PathSegments, true));
  if (aggregatorAs4)
    writeAttr(w, OT, AttrType.As4Aggregator, (w) => w.u32(a.aggregator!.asn).bytes(ipv4ToBytes(a.aggregator!.address)));
  if (a.pmsiTunnel !== undefined) {
    const p = a.pmsiTunnel;
    const id = p.tunnelIdentifier.startsWith('0x') ? Buffer.from(p.tunnelIdentifier.slice(2), 'hex') : ipToBytes(p.tunnelIdentifier);
    writeAttr(w, OT, AttrType.PmsiTunnel, (w) => w.u8(p.flags).u8(p.tunnelType).u24(p.label).bytes(id));
  }
  if (a.largeCommunities !== undefined)
    writeAttr(w, OT, AttrType.LargeCommunity, (w) => a.largeCommunities!.forEach((l) => w.u32(l[0]).u32(l[1]).u32(l[2])));
  for (const u of a.unknown ?? []) {
    // RFC 4271 section 5: an unrecognized optional transitive attribute is passed on with
    // the Partial bit set.
    const flags = (u.flags & ~AttrFlag.ExtendedLength) | (u.flags & AttrFlag.Transitive ? AttrFlag.Partial : 0);
    writeAttr(w, flags, u.type, (w) => w.bytes(u.value));
  }
}
