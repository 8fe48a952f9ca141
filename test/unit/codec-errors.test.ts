// Error handling of the codec, table-driven: RFC 4271 section 6 (the NOTIFICATION each error
// must produce, data included) and RFC 7606 (which errors an UPDATE survives as
// treat-as-withdraw or attribute discard). Then: the encoder refuses invalid values with
// RangeError and produces nothing, never emits more than 4096 bytes, and MessageFramer
// re-assembles messages from any chunking and rejects a bad header at once.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  BgpMessage,
  DecodeOptions,
  EvpnRoute,
  MessageFramer,
  NotificationError,
  PathAttributes,
  UpdateMessage,
  Writer,
  decodeMessage,
  encodeAttributes,
  encodeCapability,
  encodeEvpnRoute,
  encodeExtCommunity,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdate,
  evpnRouteSize,
} from '../../src/bgp/packet';
import * as A from './codec-arbitraries';
import { attr, bgpMessage, updateMessage } from './codec-arbitraries';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x5eed;

// ------------------------------------------------------------------ building blocks

const MARKER = Buffer.alloc(16, 0xff);

/** A header with any length field and type, followed by `body` (lengths may disagree). */
function rawMessage(lengthField: number, type: number, body: number[] | Buffer = []): Buffer {
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(lengthField, 16);
  h[18] = type;
  return Buffer.concat([h, Buffer.from(body)]);
}

function openBody(o: { version?: number; as?: number; hold?: number; id?: number[]; opt?: number[] } = {}): number[] {
  const as = o.as ?? 65000;
  const hold = o.hold ?? 90;
  const opt = o.opt ?? [];
  return [o.version ?? 4, as >> 8, as & 0xff, hold >> 8, hold & 0xff, ...(o.id ?? [10, 0, 0, 1]), opt.length, ...opt];
}

const ORIGIN_IGP = attr(0x40, 1, [0]);
const AS_PATH = attr(0x40, 2, [2, 1, 0, 0, 0xfd, 0xe8]); // SEQUENCE [65000], 4-octet
const NEXT_HOP = attr(0x40, 3, [10, 0, 0, 1]);
const TYPE3 = [3, 17, 0, 0, 0xfd, 0xe8, 0, 0, 0, 100, 0, 0, 0, 0, 32, 192, 0, 2, 1]; // 65000:100, 192.0.2.1
const TYPE3_VALUE: EvpnRoute = { type: 3, rd: '65000:100', ethernetTag: 0, originatorIp: '192.0.2.1' };
const mpReachEvpn = (nlri: number[], flags = 0x80) => attr(flags, 14, [0, 25, 70, 4, 192, 0, 2, 1, 0, ...nlri]);
const mpUnreachEvpn = (nlri: number[]) => attr(0x80, 15, [0, 25, 70, ...nlri]);
const cat = (...b: Buffer[]) => Buffer.concat(b);
/** A valid EVPN announcement with one extra (possibly bad) attribute after the mandatory ones. */
const evpnWith = (...extra: Buffer[]) => updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, AS_PATH, ...extra));

// ------------------------------------------------------------------ session-reset table

interface ResetCase {
  name: string;
  bytes: Buffer;
  code: number;
  subcode: number;
  /** The NOTIFICATION Data field, hex ('' = empty). */
  data: string;
  opts?: DecodeOptions;
}

const resetCases: ResetCase[] = [
  // RFC 4271 section 6.1: message header errors
  { name: 'marker not all ones -> 1/1 Connection Not Synchronized', bytes: (() => { const b = Buffer.from(rawMessage(19, 4)); b[7] = 0xfe; return b; })(), code: 1, subcode: 1, data: '' },
  { name: 'marker all zeros -> 1/1', bytes: Buffer.concat([Buffer.alloc(16), Buffer.from([0, 19, 4])]), code: 1, subcode: 1, data: '' },
  { name: 'length 18 (< 19) -> 1/2, data = the length', bytes: rawMessage(18, 4), code: 1, subcode: 2, data: '0012' },
  { name: 'length 0 -> 1/2', bytes: rawMessage(0, 4), code: 1, subcode: 2, data: '0000' },
  { name: 'length 4097 (> 4096) -> 1/2', bytes: rawMessage(4097, 2, Buffer.alloc(4078)), code: 1, subcode: 2, data: '1001' },
  { name: 'length 65535 -> 1/2 without waiting for the bytes', bytes: rawMessage(0xffff, 2), code: 1, subcode: 2, data: 'ffff' },
  { name: 'type 6 (unknown) -> 1/3, data = the type', bytes: rawMessage(19, 6), code: 1, subcode: 3, data: '06' },
  { name: 'type 0 -> 1/3', bytes: rawMessage(19, 0), code: 1, subcode: 3, data: '00' },
  { name: 'type 255 -> 1/3', bytes: rawMessage(23, 255, [0, 0, 0, 0]), code: 1, subcode: 3, data: 'ff' },
  { name: 'KEEPALIVE of length 20 -> 1/2', bytes: rawMessage(20, 4, [0]), code: 1, subcode: 2, data: '0014' },
  { name: 'KEEPALIVE of length 23 -> 1/2', bytes: rawMessage(23, 4, [0, 0, 0, 0]), code: 1, subcode: 2, data: '0017' },
  { name: 'OPEN of length 28 (< 29) -> 1/2', bytes: rawMessage(28, 1, openBody().slice(0, 9)), code: 1, subcode: 2, data: '001c' },
  { name: 'UPDATE of length 22 (< 23) -> 1/2', bytes: rawMessage(22, 2, [0, 0, 0]), code: 1, subcode: 2, data: '0016' },
  { name: 'NOTIFICATION of length 20 (< 21) -> 1/2', bytes: rawMessage(20, 3, [6]), code: 1, subcode: 2, data: '0014' },
  { name: 'ROUTE-REFRESH of length 22, subtype 0 -> 1/2 (RFC 2918)', bytes: rawMessage(22, 5, [0, 25, 0]), code: 1, subcode: 2, data: '0016' },
  {
    name: 'ROUTE-REFRESH BoRR of length 24 -> 7/1, data = the whole message (RFC 7313 section 5)',
    bytes: rawMessage(24, 5, [0, 25, 1, 70, 0]),
    code: 7,
    subcode: 1,
    data: `${MARKER.toString('hex')}00180500190146` + '00',
  },
  { name: 'fewer than 19 bytes given -> 1/2', bytes: Buffer.alloc(10, 0xff), code: 1, subcode: 2, data: '000a' },
  { name: 'length field 23 but 25 bytes given -> 1/2', bytes: rawMessage(23, 5, [0, 25, 0, 70, 0, 0]), code: 1, subcode: 2, data: '0017' },

  // RFC 4271 section 6.2: OPEN message errors
  { name: 'OPEN version 3 -> 2/1, data = largest supported version (0x0004)', bytes: bgpMessage(1, openBody({ version: 3 })), code: 2, subcode: 1, data: '0004' },
  { name: 'OPEN version 5 -> 2/1', bytes: bgpMessage(1, openBody({ version: 5 })), code: 2, subcode: 1, data: '0004' },
  { name: 'OPEN hold time 1 -> 2/6', bytes: bgpMessage(1, openBody({ hold: 1 })), code: 2, subcode: 6, data: '' },
  { name: 'OPEN hold time 2 -> 2/6', bytes: bgpMessage(1, openBody({ hold: 2 })), code: 2, subcode: 6, data: '' },
  { name: 'OPEN BGP identifier 0.0.0.0 -> 2/3 (RFC 6286 section 2.1)', bytes: bgpMessage(1, openBody({ id: [0, 0, 0, 0] })), code: 2, subcode: 3, data: '' },
  { name: 'OPEN optional parameter type 1 (Authentication) -> 2/4', bytes: bgpMessage(1, openBody({ opt: [1, 2, 0, 0] })), code: 2, subcode: 4, data: '' },
  {
    name: 'OPEN optional parameters length 10 but 4 bytes follow -> 2/0',
    bytes: bgpMessage(1, [...openBody({ opt: [] }).slice(0, 9), 10, 2, 2, 2, 0]),
    code: 2,
    subcode: 0,
    data: '',
  },
  { name: 'OPEN parameter length overruns the optional parameters -> 2/0 (truncated)', bytes: bgpMessage(1, openBody({ opt: [2, 5, 1, 4] })), code: 2, subcode: 0, data: '' },
  { name: 'OPEN capability length overruns its parameter -> 2/0 (truncated)', bytes: bgpMessage(1, openBody({ opt: [2, 4, 1, 6, 0, 1] })), code: 2, subcode: 0, data: '' },
  {
    name: 'OPEN multiprotocol capability of length 3 -> 2/0, data = the capability (RFC 5492 section 3)',
    bytes: bgpMessage(1, openBody({ opt: [2, 5, 1, 3, 0, 1, 0] })),
    code: 2,
    subcode: 0,
    data: '0103000100',
  },
  { name: 'OPEN 4-octet AS capability of length 2 -> 2/0, data = the capability', bytes: bgpMessage(1, openBody({ opt: [2, 4, 65, 2, 0, 1] })), code: 2, subcode: 0, data: '41020001' },
  { name: 'OPEN graceful restart capability of length 3 -> 2/0', bytes: bgpMessage(1, openBody({ opt: [2, 5, 64, 3, 0, 120, 0] })), code: 2, subcode: 0, data: '4003007800' },

  // RFC 4271 section 6.3 / RFC 7606: UPDATE errors that end the session
  { name: 'UPDATE withdrawn routes length overruns the message -> 3/1', bytes: bgpMessage(2, [0, 10, 24, 10, 0, 0, 0, 0]), code: 3, subcode: 1, data: '' },
  { name: 'UPDATE total path attribute length overruns the message -> 3/1', bytes: bgpMessage(2, [0, 0, 0, 32, 0x40, 1, 1, 0]), code: 3, subcode: 1, data: '' },
  {
    name: 'MP_REACH_NLRI length overruns the attributes -> 3/5, data = the attribute (RFC 7606 section 4 exception)',
    bytes: updateMessage([], [0x80, 14, 0x30, 0, 25, 70]),
    code: 3,
    subcode: 5,
    data: '800e30001946',
  },
  {
    name: 'MP_UNREACH_NLRI (extended length) overruns the attributes -> 3/5',
    bytes: updateMessage([], [0x90, 15, 0x01, 0x00, 0, 25, 70]),
    code: 3,
    subcode: 5,
    data: '900f0100001946',
  },
  {
    name: 'MP_REACH_NLRI twice -> 3/1 Malformed Attribute List (RFC 7606 section 3(g))',
    bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, AS_PATH, mpReachEvpn([]))),
    code: 3,
    subcode: 1,
    data: '',
  },
  { name: 'MP_UNREACH_NLRI twice -> 3/1', bytes: updateMessage([], cat(mpUnreachEvpn([]), mpUnreachEvpn(TYPE3))), code: 3, subcode: 1, data: '' },
  {
    name: 'unrecognized well-known attribute -> 3/2, data = the attribute (RFC 4271 section 6.3)',
    bytes: updateMessage([], cat(ORIGIN_IGP, attr(0x40, 99, [1, 2]))),
    code: 3,
    subcode: 2,
    data: '4063020102',
  },
  (() => {
    // RFC 7432 section 7.2 allows 33, 36, 37, 40, 49, 52: length 45 fits no IP length.
    const route = [2, 45, ...Array<number>(22).fill(0), 48, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 32, 10, 0, 0, 10, ...Array<number>(11).fill(0)];
    const mp = mpReachEvpn(route);
    return {
      name: 'malformed EVPN Type-2 (NLRI length 45, the case FRR resets on) -> 3/9, data = MP_REACH_NLRI',
      bytes: updateMessage([], cat(mp, ORIGIN_IGP, AS_PATH)),
      code: 3,
      subcode: 9,
      data: mp.toString('hex'),
    };
  })(),
  (() => {
    const mp = mpReachEvpn([3, 30, ...TYPE3.slice(2)]);
    return { name: 'EVPN route length overruns the NLRI -> 3/9', bytes: updateMessage([], cat(mp, ORIGIN_IGP, AS_PATH)), code: 3, subcode: 9, data: mp.toString('hex') };
  })(),
  (() => {
    const mp = mpUnreachEvpn([5, 33, ...Array<number>(33).fill(0)]);
    return { name: 'MP_UNREACH_NLRI with a Type-5 of length 33 -> 3/9', bytes: updateMessage([], mp), code: 3, subcode: 9, data: mp.toString('hex') };
  })(),
  (() => {
    const mp = attr(0x80, 14, [0, 25, 70, 5, 192, 0, 2, 1, 9, 0, ...TYPE3]);
    return { name: 'EVPN next hop length 5 -> 3/9', bytes: updateMessage([], cat(mp, ORIGIN_IGP, AS_PATH)), code: 3, subcode: 9, data: mp.toString('hex') };
  })(),
  (() => {
    const mp = mpReachEvpn(TYPE3, 0xc0);
    return { name: 'MP_REACH_NLRI with the Transitive bit -> 3/9', bytes: updateMessage([], cat(mp, ORIGIN_IGP, AS_PATH)), code: 3, subcode: 9, data: mp.toString('hex') };
  })(),
  (() => {
    const mp = attr(0x80, 14, [0, 1, 1, 4, 10, 0, 0, 1, 0, 33, 10, 0, 0, 0, 0]);
    return { name: 'MP_REACH_NLRI IPv4 unicast prefix length 33 -> 3/9', bytes: updateMessage([], cat(mp, ORIGIN_IGP, AS_PATH)), code: 3, subcode: 9, data: mp.toString('hex') };
  })(),
  (() => {
    const mp = mpReachEvpn([2, 45, ...Array<number>(45).fill(0)]);
    return {
      name: 'a treat-as-withdraw error (bad ORIGIN) before a malformed MP_REACH_NLRI: the reset wins',
      bytes: updateMessage([], cat(attr(0x40, 1, [7]), mp)),
      code: 3,
      subcode: 9,
      data: mp.toString('hex'),
    };
  })(),
  { name: 'IPv4 NLRI prefix length 33 -> 3/10 Invalid Network Field', bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH, NEXT_HOP), [33, 10, 0, 0, 0, 0]), code: 3, subcode: 10, data: '' },
  { name: 'IPv4 withdrawn prefix length 33 -> 3/10', bytes: updateMessage([33, 10, 0, 0, 0, 0], []), code: 3, subcode: 10, data: '' },
  { name: 'IPv4 NLRI /24 with two prefix bytes -> 3/10', bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH, NEXT_HOP), [24, 10, 0]), code: 3, subcode: 10, data: '' },
];

// ------------------------------------------------------------------ RFC 7606 survivable table

interface SurviveCase {
  name: string;
  bytes: Buffer;
  opts?: DecodeOptions;
  /** Exactly these treat-as-withdraw reasons (matched in order), or none when absent. */
  withdraw?: RegExp[];
  /** Exactly these attribute-discard reasons, or none when absent. */
  discarded?: RegExp[];
  check?: (u: UpdateMessage) => void;
}

const NLRI_10 = [8, 10]; // 10.0.0.0/8

const surviveCases: SurviveCase[] = [
  {
    name: 'attribute length overruns the attributes (not MP_*) -> treat-as-withdraw; NLRI still found by Total Path Attribute Length (RFC 7606 section 4)',
    bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH, NEXT_HOP, Buffer.from([0x40, 5, 10, 0, 0])), NLRI_10),
    withdraw: [/LOCAL_PREF length 10 overruns/],
    check: (u) => assert.deepStrictEqual(u.nlri, ['10.0.0.0/8']),
  },
  {
    name: 'two trailing bytes, too few for an attribute header -> treat-as-withdraw',
    bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH, NEXT_HOP, Buffer.from([0x40, 5])), NLRI_10),
    withdraw: [/2 trailing byte/],
    check: (u) => assert.deepStrictEqual(u.nlri, ['10.0.0.0/8']),
  },
  {
    name: 'Extended Length flag with one length byte left -> treat-as-withdraw',
    bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH, NEXT_HOP, Buffer.from([0x50, 5, 0])), NLRI_10),
    withdraw: [/truncated extended-length/],
  },
  {
    name: 'ORIGIN twice -> the second is discarded, the first kept (RFC 7606 section 3(g))',
    bytes: evpnWith(attr(0x40, 1, [2])),
    discarded: [/repeated ORIGIN/],
    check: (u) => assert.equal(u.attributes.origin, 0),
  },
  { name: 'ORIGIN value 3 -> treat-as-withdraw (RFC 7606 section 7.1)', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), attr(0x40, 1, [3]), AS_PATH)), withdraw: [/ORIGIN value 3/] },
  { name: 'ORIGIN length 2 -> treat-as-withdraw', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), attr(0x40, 1, [0, 0]), AS_PATH)), withdraw: [/ORIGIN length 2/] },
  {
    name: 'ORIGIN with the Optional bit (flags 0xc0) -> treat-as-withdraw (RFC 7606 section 3(c))',
    bytes: updateMessage([], cat(mpReachEvpn(TYPE3), attr(0xc0, 1, [0]), AS_PATH)),
    withdraw: [/ORIGIN: flags 0xc0/],
    check: (u) => assert.equal(u.attributes.origin, undefined),
  },
  {
    name: 'ATOMIC_AGGREGATE of length 1 -> attribute discard (RFC 7606 section 7.6)',
    bytes: evpnWith(attr(0x40, 6, [0])),
    discarded: [/ATOMIC_AGGREGATE length 1/],
    check: (u) => assert.equal(u.attributes.atomicAggregate, undefined),
  },
  {
    name: 'AGGREGATOR of length 6 on a 4-octet session -> attribute discard (RFC 7606 section 7.7)',
    bytes: evpnWith(attr(0xc0, 7, [0xfd, 0xe8, 10, 0, 0, 1])),
    discarded: [/AGGREGATOR length 6 \(must be 8\)/],
    check: (u) => assert.equal(u.attributes.aggregator, undefined),
  },
  {
    name: 'AGGREGATOR of length 8 on a 2-octet session -> attribute discard',
    bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 1, 0xfd, 0xe8]), attr(0xc0, 7, [0, 0, 0xfd, 0xe8, 10, 0, 0, 1]))),
    opts: { as4: false },
    discarded: [/AGGREGATOR length 8 \(must be 6\)/],
  },
  { name: 'COMMUNITIES of length 3 -> treat-as-withdraw (RFC 7606 section 7.8)', bytes: evpnWith(attr(0xc0, 8, [0, 0, 1])), withdraw: [/COMMUNITIES length 3/] },
  { name: 'COMMUNITIES of length 0 -> treat-as-withdraw', bytes: evpnWith(attr(0xc0, 8, [])), withdraw: [/COMMUNITIES length 0/] },
  { name: 'EXTENDED_COMMUNITIES of length 7 -> treat-as-withdraw (RFC 7606 section 7.14)', bytes: evpnWith(attr(0xc0, 16, [0, 2, 0, 1, 0, 0, 0])), withdraw: [/EXTENDED_COMMUNITIES length 7/] },
  { name: 'LARGE_COMMUNITY of length 11 -> treat-as-withdraw (RFC 8092 section 6)', bytes: evpnWith(attr(0xc0, 32, Array<number>(11).fill(1))), withdraw: [/LARGE_COMMUNITY length 11/] },
  { name: 'MULTI_EXIT_DISC of length 3 -> treat-as-withdraw (RFC 7606 section 7.4)', bytes: evpnWith(attr(0x80, 4, [0, 0, 1])), withdraw: [/MULTI_EXIT_DISC length 3/] },
  { name: 'LOCAL_PREF of length 3 -> treat-as-withdraw (RFC 7606 section 7.5)', bytes: evpnWith(attr(0x40, 5, [0, 0, 1])), withdraw: [/LOCAL_PREF length 3/] },
  {
    name: 'LOCAL_PREF from an external peer -> attribute discard (RFC 7606 section 7.5)',
    bytes: evpnWith(attr(0x40, 5, [0, 0, 0, 100])),
    opts: { as4: true, ibgp: false },
    discarded: [/LOCAL_PREF from an external peer/],
    check: (u) => assert.equal(u.attributes.localPref, undefined),
  },
  { name: 'NEXT_HOP of length 5 -> treat-as-withdraw (RFC 7606 section 7.3)', bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH, attr(0x40, 3, [10, 0, 0, 1, 0])), NLRI_10), withdraw: [/NEXT_HOP length 5/] },
  { name: 'ORIGINATOR_ID of length 5 -> treat-as-withdraw (RFC 7606 section 7.9)', bytes: evpnWith(attr(0x80, 9, [1, 2, 3, 4, 5])), withdraw: [/ORIGINATOR_ID length 5/] },
  { name: 'CLUSTER_LIST of length 6 -> treat-as-withdraw (RFC 7606 section 7.10)', bytes: evpnWith(attr(0x80, 10, [1, 2, 3, 4, 5, 6])), withdraw: [/CLUSTER_LIST length 6/] },
  { name: 'PMSI_TUNNEL of length 4 -> treat-as-withdraw', bytes: evpnWith(attr(0xc0, 22, [0, 6, 0, 0])), withdraw: [/PMSI_TUNNEL: length 4/] },
  { name: 'AS_PATH segment of length 0 -> treat-as-withdraw (RFC 7606 section 7.2)', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 0]))), withdraw: [/zero-length segment/] },
  { name: 'AS_PATH segment type 5 -> treat-as-withdraw', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [5, 1, 0, 0, 0, 1]))), withdraw: [/segment type 5/] },
  { name: 'AS_PATH segment overruns the attribute -> treat-as-withdraw', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 2, 0, 0, 0, 1]))), withdraw: [/overruns/] },
  { name: 'AS_PATH with a single trailing byte -> treat-as-withdraw', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 1, 0, 0, 0, 1, 2]))), withdraw: [/truncated segment header/] },
  { name: 'missing ORIGIN with EVPN NLRI -> treat-as-withdraw (RFC 7606 section 3(d))', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), AS_PATH)), withdraw: [/^missing ORIGIN$/] },
  { name: 'missing AS_PATH with EVPN NLRI -> treat-as-withdraw', bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP)), withdraw: [/^missing AS_PATH$/] },
  { name: 'missing ORIGIN and AS_PATH -> both reported', bytes: updateMessage([], mpReachEvpn(TYPE3)), withdraw: [/^missing ORIGIN$/, /^missing AS_PATH$/] },
  { name: 'missing NEXT_HOP with IPv4 NLRI -> treat-as-withdraw', bytes: updateMessage([], cat(ORIGIN_IGP, AS_PATH), NLRI_10), withdraw: [/^missing NEXT_HOP$/] },
  {
    name: 'EVPN NLRI only: NEXT_HOP is not needed (RFC 4760 section 3)',
    bytes: evpnWith(),
    check: (u) => assert.deepStrictEqual(u.mpReach?.routes, [TYPE3_VALUE]),
  },
  {
    name: 'MP_UNREACH_NLRI only, no other attribute -> valid (nothing to withdraw-treat)',
    bytes: updateMessage([], mpUnreachEvpn(TYPE3)),
    check: (u) => assert.deepStrictEqual(u, { type: 'update', withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: 25, safi: 70, routes: [TYPE3_VALUE] } }),
  },
  {
    name: 'unknown optional non-transitive attribute -> dropped silently (RFC 4271 section 9)',
    bytes: evpnWith(attr(0x80, 99, [1, 2, 3])),
    check: (u) => assert.equal(u.attributes.unknown, undefined),
  },
  {
    name: 'unknown optional transitive attribute -> kept, re-encoded with the Partial bit (RFC 4271 section 5)',
    bytes: evpnWith(attr(0xc0, 99, [1, 2, 3])),
    check: (u) => {
      assert.deepStrictEqual(u.attributes.unknown, [{ flags: 0xc0, type: 99, value: Buffer.from([1, 2, 3]) }]);
      const again = encodeUpdate(u);
      assert.ok(again.includes(Buffer.from([0xe0, 99, 3, 1, 2, 3])), again.toString('hex'));
      assert.ok(!again.includes(Buffer.from([0xc0, 99, 3, 1, 2, 3])));
    },
  },
  {
    name: 'unknown EVPN route type inside MP_REACH_NLRI -> skipped by its length, the next route still decoded',
    bytes: updateMessage([], cat(mpReachEvpn([9, 4, 1, 2, 3, 4, ...TYPE3, 200, 0]), ORIGIN_IGP, AS_PATH)),
    check: (u) => {
      assert.deepStrictEqual(u.mpReach?.routes, [TYPE3_VALUE]);
      assert.deepStrictEqual(u.mpReach?.skippedTypes, [9, 200]);
    },
  },
  {
    name: 'AS4_PATH on a 4-octet session -> attribute discard (RFC 6793 section 4.1)',
    bytes: evpnWith(attr(0xc0, 17, [2, 1, 0, 1, 0x11, 0x70])),
    discarded: [/AS4_PATH on a 4-octet AS session/],
    check: (u) => assert.deepStrictEqual(u.attributes.asPath, [{ type: 2, asns: [65000] }]),
  },
  {
    name: 'malformed AS4_PATH on a 2-octet session -> attribute discard, AS_PATH used (RFC 6793 section 6)',
    bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 17, [2, 0]))),
    opts: { as4: false },
    discarded: [/zero-length segment/],
    check: (u) => assert.deepStrictEqual(u.attributes.asPath, [{ type: 2, asns: [23456] }]),
  },
  {
    name: 'AS4_PATH with a confederation segment on a 2-octet session -> that segment discarded (RFC 6793 section 6)',
    bytes: updateMessage(
      [],
      cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [3, 1, 0, 5, 2, 2, 0x5b, 0xa0, 0, 7]), attr(0xc0, 17, [3, 1, 0, 1, 0x11, 0x71, 2, 2, 0, 1, 0x11, 0x70, 0, 0, 0, 7])),
    ),
    opts: { as4: false },
    discarded: [/AS_CONFED segments in AS4_PATH/],
    check: (u) => assert.deepStrictEqual(u.attributes.asPath, [{ type: 3, asns: [5] }, { type: 2, asns: [70000, 7] }]),
  },
  {
    name: 'RFC 6793 section 4.2.3: AS_PATH longer than AS4_PATH -> the leading ASes of AS_PATH, then AS4_PATH',
    bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 4, 0, 100, 0, 200, 0x5b, 0xa0, 1, 0x2c]), attr(0xc0, 17, [2, 2, 0, 1, 0x11, 0x70, 0, 0, 1, 0x2c]))),
    opts: { as4: false },
    check: (u) => assert.deepStrictEqual(u.attributes.asPath, [{ type: 2, asns: [100, 200] }, { type: 2, asns: [70000, 300] }]),
  },
  {
    name: 'RFC 6793 section 4.2.3: AS4_PATH longer than AS_PATH -> AS4_PATH ignored',
    bytes: updateMessage([], cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 17, [2, 2, 0, 1, 0x11, 0x70, 0, 0, 1, 0x2c]))),
    opts: { as4: false },
    check: (u) => assert.deepStrictEqual(u.attributes.asPath, [{ type: 2, asns: [23456] }]),
  },
  {
    name: 'RFC 6793 section 4.2.3: AGGREGATOR = AS_TRANS with AS4_AGGREGATOR -> both AS4_AGGREGATOR and AS4_PATH used',
    bytes: updateMessage(
      [],
      cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 7, [0x5b, 0xa0, 10, 0, 0, 1]), attr(0xc0, 17, [2, 1, 0, 1, 0x11, 0x70]), attr(0xc0, 18, [0, 1, 0x38, 0x80, 10, 0, 0, 1])),
    ),
    opts: { as4: false },
    check: (u) => {
      assert.deepStrictEqual(u.attributes.aggregator, { asn: 80000, address: '10.0.0.1' });
      assert.deepStrictEqual(u.attributes.asPath, [{ type: 2, asns: [70000] }]);
    },
  },
  {
    name: 'RFC 6793 section 4.2.3: AGGREGATOR with a real AS beside AS4_AGGREGATOR -> AS4_AGGREGATOR and AS4_PATH ignored',
    bytes: updateMessage(
      [],
      cat(mpReachEvpn(TYPE3), ORIGIN_IGP, attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 7, [0, 100, 10, 0, 0, 1]), attr(0xc0, 17, [2, 1, 0, 1, 0x11, 0x70]), attr(0xc0, 18, [0, 1, 0x38, 0x80, 10, 0, 0, 1])),
    ),
    opts: { as4: false },
    check: (u) => {
      assert.deepStrictEqual(u.attributes.aggregator, { asn: 100, address: '10.0.0.1' });
      assert.deepStrictEqual(u.attributes.asPath, [{ type: 2, asns: [23456] }]);
    },
  },
];

function expectNotification(fn: () => unknown, code: number, subcode: number, data: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NotificationError, `expected NotificationError, got ${String(e)}`);
    assert.equal(`${e.code}/${e.subcode}`, `${code}/${subcode}`, e.message);
    assert.equal(e.data.toString('hex'), data, 'NOTIFICATION data');
    return true;
  });
}

describe('codec errors', function () {
  describe('session reset: NotificationError with the RFC 4271 section 6 code, subcode and data', function () {
    for (const c of resetCases) it(c.name, () => expectNotification(() => decodeMessage(c.bytes, c.opts), c.code, c.subcode, c.data));

    it('boundaries that are valid: hold time 0 and 3, length exactly 4096, RFC 9072 extended optional parameters', () => {
      assert.equal((decodeMessage(bgpMessage(1, openBody({ hold: 0 }))) as { holdTime: number }).holdTime, 0);
      assert.equal((decodeMessage(bgpMessage(1, openBody({ hold: 3 }))) as { holdTime: number }).holdTime, 3);
      const big = bgpMessage(3, [6, 0, ...Array<number>(4096 - 21).fill(0x61)]);
      assert.equal(big.length, 4096);
      assert.equal((decodeMessage(big) as { data: Buffer }).data.length, 4075);
      // RFC 9072: Non-Ext OP Len 255, Non-Ext OP Type 255, then a 2-byte length, params with 2-byte lengths.
      const ext = bgpMessage(1, [4, 0xfd, 0xe8, 0, 90, 10, 0, 0, 1, 255, 255, 0, 9, 2, 0, 6, 1, 4, 0, 25, 0, 70]);
      assert.deepStrictEqual((decodeMessage(ext) as { capabilities: unknown }).capabilities, [{ kind: 'multiprotocol', afi: 25, safi: 70 }]);
    });
  });

  describe('RFC 7606: UPDATEs that keep the session', function () {
    for (const c of surviveCases) {
      it(c.name, () => {
        const m = decodeMessage(c.bytes, c.opts) as BgpMessage;
        assert.equal(m.type, 'update');
        const u = m as UpdateMessage;
        const match = (got: string[] | undefined, want: RegExp[] | undefined, what: string) => {
          if (!want) return assert.equal(got, undefined, `${what}: ${JSON.stringify(got)}`);
          assert.ok(got, `${what} expected`);
          assert.equal(got.length, want.length, `${what}: ${JSON.stringify(got)}`);
          want.forEach((re, i) => assert.match(got[i]!, re));
        };
        match(u.treatAsWithdraw, c.withdraw, 'treatAsWithdraw');
        match(u.discarded, c.discarded, 'discarded');
        c.check?.(u);
      });
    }
  });

  describe('encoder refuses invalid values with RangeError and produces nothing', function () {
    const rt3: EvpnRoute = { type: 3, rd: '1:1', ethernetTag: 0, originatorIp: '192.0.2.1' };
    const rt2: EvpnRoute = { type: 2, rd: '1:1', esi: A.ESI_ZERO_TEXT, ethernetTag: 0, mac: '00:11:22:33:44:55', label1: 1 };
    const rt5: EvpnRoute = { type: 5, rd: '1:1', esi: A.ESI_ZERO_TEXT, ethernetTag: 0, prefix: '10.0.0.0/24', gatewayIp: '0.0.0.0', label: 1 };
    const evpnCases: [string, EvpnRoute][] = [
      ['bad MAC', { ...rt2, mac: 'zz:00:00:00:00:01' } as EvpnRoute],
      ['MAC with 5 bytes', { ...rt2, mac: '00:11:22:33:44' } as EvpnRoute],
      ['label1 = 2^24', { ...rt2, label1: 1 << 24 } as EvpnRoute],
      ['label1 = -1', { ...rt2, label1: -1 } as EvpnRoute],
      ['label1 = 1.5', { ...rt2, label1: 1.5 } as EvpnRoute],
      ['label2 = 2^24', { ...rt2, label2: 1 << 24 } as EvpnRoute],
      ['Ethernet Tag 2^32', { ...rt3, ethernetTag: 2 ** 32 } as EvpnRoute],
      ['RD text garbage', { ...rt3, rd: 'not-an-rd' }],
      ['RD type 0 number 2^32', { ...rt3, rd: '1:4294967296' }],
      ['RD type 1 number 65536', { ...rt3, rd: '10.0.0.1:65536' }],
      ['RD type 1 bad address', { ...rt3, rd: '10.0.0.256:1' }],
      ['RD AS 2^32', { ...rt3, rd: '4294967296:1' }],
      ['RD 4-byte AS with number 65536', { ...rt3, rd: '70000:65536' }],
      ['RD raw with 7 bytes', { ...rt3, rd: 'rd-raw:00030102030405' }],
      ['ESI with 9 bytes', { ...rt2, esi: '00:00:00:00:00:00:00:00:01' } as EvpnRoute],
      ['IP address garbage', { ...rt2, ip: '10.0.0' } as EvpnRoute],
      ['IPv6 with a zone index', { ...rt2, ip: 'fe80::1%eth0' } as EvpnRoute],
      ['originator IP garbage', { ...rt3, originatorIp: 'x' }],
      ['Type-5 prefix length 33', { ...rt5, prefix: '10.0.0.0/33' } as EvpnRoute],
      ['Type-5 prefix without length', { ...rt5, prefix: '10.0.0.0' } as EvpnRoute],
      ['Type-5 IPv6 prefix with an IPv4 gateway', { ...rt5, prefix: '2001:db8::/32' } as EvpnRoute],
      ['unknown route type 6', { ...rt3, type: 6 } as unknown as EvpnRoute],
    ];
    for (const [name, route] of evpnCases) {
      it(`EVPN route: ${name}`, () => {
        const w = new Writer();
        w.u8(0xab);
        assert.throws(() => encodeEvpnRoute(w, route), RangeError);
        assert.equal(w.pos, 1, 'encodeEvpnRoute wrote bytes before throwing');
        assert.throws(() => encodeUpdate({ mpReach: { afi: 25, safi: 70, nextHops: ['192.0.2.1'], routes: [rt3, route] } }), RangeError);
        assert.throws(() => encodeUpdate({ mpUnreach: { afi: 25, safi: 70, routes: [route] } }), RangeError);
      });
    }

    const ecCases: [string, unknown][] = [
      ['RT as2 with AS 65536', { kind: 'route-target', format: 'as2', asn: 65536, local: 1 }],
      ['RT as2 with local 2^32', { kind: 'route-target', format: 'as2', asn: 1, local: 2 ** 32 }],
      ['RT ipv4 with local 65536', { kind: 'route-target', format: 'ipv4', ip: '10.0.0.1', local: 65536 }],
      ['RT ipv4 with a bad address', { kind: 'route-target', format: 'ipv4', ip: '10.0.0.300', local: 1 }],
      ['RT as4 with AS 2^32', { kind: 'route-target', format: 'as4', asn: 2 ** 32, local: 1 }],
      ['RT as4 with local 65536', { kind: 'route-target', format: 'as4', asn: 70000, local: 65536 }],
      ['MAC mobility sequence -1', { kind: 'mac-mobility', sequence: -1, sticky: false }],
      ['MAC mobility sequence 2^32', { kind: 'mac-mobility', sequence: 2 ** 32, sticky: true }],
      ['encapsulation 65536', { kind: 'encapsulation', tunnelType: 65536 }],
      ['router MAC garbage', { kind: 'router-mac', mac: '52:54:00:aa:bb' }],
      ['opaque type 256', { kind: 'opaque', type: 256, subtype: 0, value: '000000000000' }],
      ['opaque value not hex', { kind: 'opaque', type: 3, subtype: 0, value: 'xyz' }],
      ['opaque value 5 bytes', { kind: 'opaque', type: 3, subtype: 0, value: '0000000000' }],
    ];
    for (const [name, c] of ecCases) {
      it(`extended community: ${name}`, () => {
        assert.throws(() => encodeExtCommunity(c as never), RangeError);
        assert.throws(() => encodeUpdate({ attributes: { extCommunities: [{ kind: 'default-gateway' }, c as never] } }), RangeError);
      });
    }

    const attrCases: [string, PathAttributes, boolean?][] = [
      ['ORIGIN 3', { origin: 3 as never }],
      ['AS number 2^32', { asPath: [{ type: 2, asns: [2 ** 32] }] }],
      ['AS number -1 on a 2-octet session', { asPath: [{ type: 2, asns: [-1] }] }, false],
      ['AS_PATH segment type 5', { asPath: [{ type: 5 as never, asns: [1] }] }],
      ['empty AS_PATH segment', { asPath: [{ type: 2, asns: [] }] }],
      ['NEXT_HOP IPv6', { nextHop: '2001:db8::1' }],
      ['MED 2^32', { med: 2 ** 32 }],
      ['LOCAL_PREF 1.5', { localPref: 1.5 }],
      ['AGGREGATOR AS 2^32', { aggregator: { asn: 2 ** 32, address: '10.0.0.1' } }],
      ['AGGREGATOR address garbage', { aggregator: { asn: 1, address: '10.0.0' } }],
      ['empty COMMUNITIES', { communities: [] }],
      ['community 2^32', { communities: [2 ** 32] }],
      ['ORIGINATOR_ID garbage', { originatorId: 'x' }],
      ['empty CLUSTER_LIST', { clusterList: [] }],
      ['empty EXTENDED_COMMUNITIES', { extCommunities: [] }],
      ['empty LARGE_COMMUNITY', { largeCommunities: [] }],
      ['large community part 2^32', { largeCommunities: [[1, 2, 2 ** 32]] }],
      ['PMSI label 2^24', { pmsiTunnel: { flags: 0, tunnelType: 6, label: 1 << 24, tunnelIdentifier: '10.0.0.1' } }],
      ['PMSI flags 256', { pmsiTunnel: { flags: 256, tunnelType: 6, label: 1, tunnelIdentifier: '10.0.0.1' } }],
      ['PMSI identifier garbage', { pmsiTunnel: { flags: 0, tunnelType: 6, label: 1, tunnelIdentifier: '0xabc' } }],
      ['unknown attribute with a known type code', { unknown: [{ flags: 0xc0, type: 1, value: Buffer.alloc(1) }] }],
      ['unknown well-known attribute', { unknown: [{ flags: 0x40, type: 99, value: Buffer.alloc(1) }] }],
      ['unknown attribute type 300', { unknown: [{ flags: 0xc0, type: 300, value: Buffer.alloc(1) }] }],
      ['unknown attribute flags 0x1c0', { unknown: [{ flags: 0x1c0, type: 99, value: Buffer.alloc(1) }] }],
      ['unknown attribute value of 65536 bytes', { unknown: [{ flags: 0xc0, type: 99, value: Buffer.alloc(65536) }] }],
    ];
    for (const [name, attributes, as4] of attrCases) {
      it(`path attributes: ${name}`, () => {
        const w = new Writer();
        w.u8(0xab);
        // A valid MP_REACH is written first: a late failure must not leave it in the writer.
        const mpReach = { afi: 25, safi: 70, nextHops: ['192.0.2.1'], routes: [rt3] };
        assert.throws(() => encodeAttributes(w, { attributes: { origin: 0, ...attributes }, mpReach }, as4 ?? true), RangeError);
        assert.equal(w.pos, 1, 'encodeAttributes wrote bytes before throwing');
        assert.throws(() => encodeUpdate({ attributes, mpReach }, { as4: as4 ?? true }), RangeError);
      });
    }

    const updateCases: [string, Parameters<typeof encodeUpdate>[0]][] = [
      ['IPv4 NLRI prefix length 33', { attributes: { origin: 0, asPath: [], nextHop: '10.0.0.1' }, nlri: ['10.0.0.0/33'] }],
      ['IPv4 withdrawn prefix garbage', { withdrawn: ['10.0.0/8'] }],
      ['IPv4 withdrawn prefix octet 256', { withdrawn: ['256.0.0.0/8'] }],
      ['EVPN next hop garbage', { mpReach: { afi: 25, safi: 70, nextHops: ['x'], routes: [] } }],
      ['EVPN without a next hop', { mpReach: { afi: 25, safi: 70, nextHops: [], routes: [] } }],
      ['EVPN with three next hops', { mpReach: { afi: 25, safi: 70, nextHops: ['2001:db8::1', 'fe80::1', 'fe80::2'], routes: [] } }],
      ['EVPN with an IPv4 and an IPv6 next hop', { mpReach: { afi: 25, safi: 70, nextHops: ['10.0.0.1', 'fe80::1'], routes: [] } }],
      ['IPv4 unicast MP_REACH with an IPv6 next hop', { mpReach: { afi: 1, safi: 1, nextHops: ['2001:db8::1'], routes: ['10.0.0.0/8'] } }],
      ['an IPv4 prefix in an EVPN MP_REACH', { mpReach: { afi: 25, safi: 70, nextHops: ['10.0.0.1'], routes: ['10.0.0.0/8'] } }],
      ['an EVPN route in an IPv4 unicast MP_UNREACH', { mpUnreach: { afi: 1, safi: 1, routes: [{ type: 3, rd: '1:1', ethernetTag: 0, originatorIp: '10.0.0.1' }] } }],
      ['routes of a family the codec cannot encode', { mpUnreach: { afi: 2, safi: 1, routes: ['10.0.0.0/8'] } }],
      ['MP_REACH with undecoded NLRI', { mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], routes: [], rawNlri: Buffer.from([0x40, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]) } }],
      ['MP_UNREACH with undecoded NLRI (used to be dropped silently)', { mpUnreach: { afi: 2, safi: 1, routes: [], rawNlri: Buffer.from([0x40, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]) } }],
    ];
    for (const [name, u] of updateCases) it(`UPDATE: ${name}`, () => assert.throws(() => encodeUpdate(u), RangeError));

    const open = { myAs: 65000, holdTime: 90, bgpId: '10.0.0.1', capabilities: [] };
    const otherCases: [string, () => unknown][] = [
      ['OPEN hold time 1', () => encodeOpen({ ...open, holdTime: 1 })],
      ['OPEN hold time 2', () => encodeOpen({ ...open, holdTime: 2 })],
      ['OPEN hold time 65536', () => encodeOpen({ ...open, holdTime: 65536 })],
      ['OPEN hold time -1', () => encodeOpen({ ...open, holdTime: -1 })],
      ['OPEN BGP identifier 0.0.0.0', () => encodeOpen({ ...open, bgpId: '0.0.0.0' })],
      ['OPEN BGP identifier garbage', () => encodeOpen({ ...open, bgpId: '10.0.0' })],
      ['OPEN My AS 65536 (used to go out as 0)', () => encodeOpen({ ...open, myAs: 65536 })],
      ['OPEN version 256', () => encodeOpen({ ...open, version: 256 })],
      ['OPEN 4-octet AS capability with AS 2^32', () => encodeOpen({ ...open, capabilities: [{ kind: 'four-octet-as', asn: 2 ** 32 }] })],
      ['OPEN multiprotocol AFI 65536', () => encodeOpen({ ...open, capabilities: [{ kind: 'multiprotocol', afi: 65536, safi: 1 }] })],
      ['OPEN graceful restart time 4096', () => encodeOpen({ ...open, capabilities: [{ kind: 'graceful-restart', restartState: false, notification: false, restartTime: 4096, families: [] }] })],
      ['OPEN unknown capability with non-hex value', () => encodeOpen({ ...open, capabilities: [{ kind: 'unknown', code: 200, value: '0g' }] })],
      ['OPEN unknown capability code 256', () => encodeOpen({ ...open, capabilities: [{ kind: 'unknown', code: 256, value: '' }] })],
      ['OPEN capability over 255 bytes', () => encodeOpen({ ...open, capabilities: [{ kind: 'unknown', code: 200, value: '00'.repeat(256) }] })],
      [
        'OPEN capabilities of 254 bytes (Optional Parameters Length would be 256)',
        () => encodeOpen({ ...open, capabilities: [{ kind: 'unknown', code: 200, value: '00'.repeat(250) }, { kind: 'route-refresh' }] }),
      ],
      ['ROUTE-REFRESH AFI 65536', () => encodeRouteRefresh(65536, 70)],
      ['ROUTE-REFRESH SAFI 256', () => encodeRouteRefresh(25, 256)],
      ['NOTIFICATION code 256', () => encodeNotification(256, 0)],
      ['NOTIFICATION subcode -1', () => encodeNotification(6, -1)],
    ];
    for (const [name, fn] of otherCases) it(name, () => assert.throws(fn, RangeError));

    it('the largest OPEN capability set that fits (253 bytes) encodes and decodes', () => {
      const caps = [{ kind: 'unknown' as const, code: 200, value: '00'.repeat(249) }, { kind: 'route-refresh' as const }];
      const b = encodeOpen({ ...open, capabilities: caps });
      assert.equal(b[28], 255, 'Optional Parameters Length');
      assert.deepStrictEqual((decodeMessage(b) as { capabilities: unknown }).capabilities, caps);
    });

    it('encodeCapability: a 4-octet AS of -1 is a RangeError (it used to go out as 4294967295)', () => {
      const w = new Writer();
      assert.throws(() => encodeCapability(w, { kind: 'four-octet-as', asn: -1 }), RangeError);
    });

    it('encodeUpdate never emits a message over 4096 bytes: it throws exactly when the content does not fit', () =>
      fc.assert(
        fc.property(fc.array(A.evpnRoute, { minLength: 40, maxLength: 140 }), fc.boolean(), (routes, unreach) => {
          const reach = { afi: 25, safi: 70, nextHops: ['192.0.2.1'] };
          const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65000] }] };
          const base = unreach ? encodeUpdate({ mpUnreach: { afi: 25, safi: 70, routes: [] } }) : encodeUpdate({ attributes: attrs, mpReach: { ...reach, routes: [] } });
          const nlri = routes.reduce((n, r) => n + evpnRouteSize(r), 0);
          const mpValue = (unreach ? 3 : 3 + 1 + 4 + 1) + nlri;
          const expected = base.length + nlri + (mpValue > 255 ? 1 : 0); // +1: Extended Length
          let out: Buffer | undefined;
          try {
            out = unreach ? encodeUpdate({ mpUnreach: { afi: 25, safi: 70, routes } }) : encodeUpdate({ attributes: attrs, mpReach: { ...reach, routes } });
          } catch (e) {
            assert.ok(e instanceof RangeError, String(e));
          }
          if (expected > 4096) assert.equal(out, undefined, `a ${expected}-byte message was produced`);
          else assert.equal(out?.length, expected);
        }),
        { numRuns: 300, seed: SEED },
      ));

    it('encodeNotification trims data so the message is at most 4096 bytes', () => {
      const b = encodeNotification(6, 0, Buffer.alloc(5000, 1));
      assert.equal(b.length, 4096);
      assert.equal(b.readUInt16BE(16), 4096);
    });
  });

  describe('MessageFramer', function () {
    const validMessage = fc.oneof(
      A.update.map((u) => encodeUpdate(u)),
      A.open.map((o) => encodeOpen(o)),
      fc.constant(Buffer.from(encodeKeepaliveBytes())),
      fc.tuple(A.u8, A.u8, A.bytes(0, 40)).map(([c, s, d]) => encodeNotification(c, s, Buffer.from(d))),
      fc.tuple(A.u16, A.u8).map(([afi, safi]) => encodeRouteRefresh(afi, safi)),
    );

    function encodeKeepaliveBytes(): Buffer {
      return Buffer.concat([MARKER, Buffer.from([0, 19, 4])]);
    }

    /** Splits `stream` at the given cut points (sorted, deduplicated, inside the stream). */
    function chunk(stream: Buffer, cuts: number[]): Buffer[] {
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const out: Buffer[] = [];
      let at = 0;
      for (const p of [...points, stream.length]) {
        out.push(stream.subarray(at, p)); // empty chunks included on purpose
        at = p;
      }
      return out;
    }

    it('messages split across arbitrary chunk boundaries come out identical and in order', () =>
      fc.assert(
        fc.property(fc.array(validMessage, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
          const stream = Buffer.concat(msgs);
          const framer = new MessageFramer();
          const got: Buffer[] = [];
          for (const c of chunk(stream, cuts)) got.push(...framer.push(c).map((m) => Buffer.from(m)));
          assert.equal(framer.buffered, 0);
          assert.deepStrictEqual(got, msgs);
          got.forEach((m, i) => assert.deepStrictEqual(decodeMessage(m), decodeMessage(msgs[i]!)));
        }),
        { numRuns: 300, seed: SEED },
      ));

    it('one byte at a time', () => {
      const msgs = [encodeKeepaliveBytes(), encodeRouteRefresh(25, 70), encodeOpen({ myAs: 1, holdTime: 90, bgpId: '1.1.1.1', capabilities: [{ kind: 'route-refresh' }] })];
      const stream = Buffer.concat(msgs);
      const framer = new MessageFramer();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i++) {
        const out = framer.push(stream.subarray(i, i + 1));
        got.push(...out.map((m) => Buffer.from(m)));
        assert.equal(framer.buffered + got.reduce((n, m) => n + m.length, 0), i + 1);
      }
      assert.deepStrictEqual(got, msgs);
    });

    const badHeaders: [string, Buffer, number, number][] = [
      ['bad marker', (() => { const b = Buffer.from(encodeKeepaliveBytes()); b[3] = 0; return b; })(), 1, 1],
      ['length 4097', rawMessage(4097, 2), 1, 2],
      ['length 18', rawMessage(18, 4), 1, 2],
      ['unknown type', rawMessage(19, 9), 1, 3],
      ['KEEPALIVE of length 4000', rawMessage(4000, 4), 1, 2],
    ];
    for (const [name, header, code, subcode] of badHeaders) {
      it(`a bad header (${name}) is detected as soon as its 19 bytes arrive, not before, without waiting for the body`, () =>
        fc.assert(
          fc.property(fc.array(validMessage, { maxLength: 3 }), fc.array(fc.nat(), { maxLength: 20 }), (before, cuts) => {
            const prefix = Buffer.concat(before);
            const stream = Buffer.concat([prefix, header.subarray(0, 19)]);
            const framer = new MessageFramer();
            let seen = 0;
            let got = 0;
            for (const c of chunk(stream, cuts)) {
              seen += c.length;
              if (seen >= stream.length && c.length > 0) {
                // Whole messages in the same chunk come out first; the error is then either
                // thrown (none came out) or kept in framer.error for the caller.
                let thrown: unknown;
                try {
                  got += framer.push(c).length;
                } catch (e) {
                  thrown = e;
                }
                const err = thrown ?? framer.error;
                assert.ok(err instanceof NotificationError && err.code === code && err.subcode === subcode, `error: ${String(err)}`);
                assert.equal(got, before.length, 'every message before the bad header is delivered');
                assert.throws(() => framer.push(Buffer.alloc(1)), NotificationError);
                return;
              }
              got += framer.push(c).length; // must not throw before the 19th byte
            }
            assert.ok(got <= before.length);
            assert.fail('the bad header was never reported');
          }),
          { numRuns: 100, seed: SEED },
        ));
    }
  });
});

describe('MessageFramer: messages before a bad header', () => {
  it('returns the whole messages that precede a bad header and keeps the error for after them', () => {
    const bad = Buffer.from(encodeKeepalive());
    bad[0] = 0; // marker broken
    const framer = new MessageFramer();
    const out = framer.push(Buffer.concat([encodeKeepalive(), encodeKeepalive(), bad]));
    assert.equal(out.length, 2);
    assert.ok(framer.error instanceof NotificationError);
    assert.deepEqual([framer.error.code, framer.error.subcode], [1, 1]);
    assert.throws(() => framer.push(encodeKeepalive()), NotificationError);
  });
});
