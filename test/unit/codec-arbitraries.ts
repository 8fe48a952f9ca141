// fast-check arbitraries for the BGP codec tests (round trip and fuzz), plus small
// independent helpers. Every arbitrary produces values already in the codec's canonical
// text form (lower-case MAC/ESI/hex, RFC 5952 IPv6, canonical RD), so that
// decode(encode(x)) must deep-equal x without any normalisation; the few places where the
// codec defines a canonical form different from the input are named in the tests.
import fc from 'fast-check';
import {
  Capability,
  ExtCommunity,
  EvpnRoute,
  Ipv4Prefix,
  LargeCommunity,
  MpReach,
  MpUnreach,
  PathAttributes,
  PmsiTunnel,
  RawAttribute,
  AsPathSegment,
} from '../../src/bgp/packet';

// ------------------------------------------------------------------ independent helpers

/** RFC 5952 text of any IPv6 text, computed by the WHATWG URL parser (not by the codec).
 * WHATWG serialisation = RFC 5952 without the dotted IPv4 tail, which the codec does not
 * use either. */
export function canonicalIpv6(s: string): string {
  return new URL(`http://[${s}]/`).hostname.slice(1, -1);
}

export function hexOf(bytes: Uint8Array | number[]): string {
  return Buffer.from(bytes).toString('hex');
}

/** Whole BGP message from a type and a body (marker, length, type). */
export function bgpMessage(type: number, body: Buffer | number[] = []): Buffer {
  const b = Buffer.from(body);
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(19 + b.length, 16);
  h[18] = type;
  return Buffer.concat([h, b]);
}

/** A path attribute: flags, type, 1- or 2-byte length (from the Extended Length flag). */
export function attr(flags: number, type: number, value: Buffer | number[]): Buffer {
  const v = Buffer.from(value);
  const ext = (flags & 0x10) !== 0;
  const head = ext ? Buffer.from([flags, type, v.length >> 8, v.length & 0xff]) : Buffer.from([flags, type, v.length]);
  return Buffer.concat([head, v]);
}

/** An UPDATE message from raw withdrawn, attribute and NLRI fields. */
export function updateMessage(withdrawn: Buffer | number[], attrs: Buffer | number[], nlri: Buffer | number[] = []): Buffer {
  const w = Buffer.from(withdrawn);
  const a = Buffer.from(attrs);
  const l = Buffer.alloc(2);
  const m = Buffer.alloc(2);
  l.writeUInt16BE(w.length);
  m.writeUInt16BE(a.length);
  return bgpMessage(2, Buffer.concat([l, w, m, a, Buffer.from(nlri)]));
}

// ------------------------------------------------------------------ primitives

/** fc.record without null-prototype objects (deepStrictEqual compares prototypes). */
export function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u24 = fc.integer({ min: 0, max: 0xffffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Biased to the edges, where codecs break. */
export const u32Edge = fc.oneof(u32, fc.constantFrom(0, 1, 0xffff, 0x10000, 23456, 0x7fffffff, 0x80000000, 0xffffffff));

export const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

export const ipv4 = fc.ipV4();
/** Canonical IPv6 text; fc.ipV6() gives many non-canonical spellings ('::c:1:...'). */
export const ipv6 = fc.oneof(
  fc.ipV6().map(canonicalIpv6),
  bytes(16, 16).map((b) => canonicalIpv6(Buffer.from(b).toString('hex').replace(/(.{4})(?!$)/g, '$1:'))),
  fc.constantFrom('::', '::1', 'fe80::1', '2001:db8::', '1::', '::ffff:102:304'),
);
export const ip = fc.oneof(ipv4, ipv6);
export const mac = bytes(6, 6).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));

/** ESI: zero, or ten bytes (lower-case hex pairs joined by ':'). */
export const ESI_ZERO_TEXT = '00:00:00:00:00:00:00:00:00:00';
export const esi = fc.oneof(
  fc.constant(ESI_ZERO_TEXT),
  bytes(10, 10).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')),
);

/** Every RD format, in canonical text. */
export const rd = fc.oneof(
  fc.tuple(u16, u32).map(([a, n]) => `${a}:${n}`), // type 0
  fc.tuple(ipv4, u16).map(([a, n]) => `${a}:${n}`), // type 1
  fc.tuple(u16, u16).map(([a, n]) => `${a}L:${n}`), // type 2, small AS ('65000L:5')
  fc.tuple(fc.integer({ min: 0x10000, max: 0xffffffff }), u16).map(([a, n]) => `${a}:${n}`), // type 2
  fc.tuple(fc.integer({ min: 3, max: 0xffff }), bytes(6, 6)).map(([t, b]) => `rd-raw:${t.toString(16).padStart(4, '0')}${hexOf(b)}`),
);

/** IPv4 prefix text as the decoder prints it: bytes past the prefix octets are zero. */
export const ipv4Prefix: fc.Arbitrary<Ipv4Prefix> = fc.tuple(fc.integer({ min: 0, max: 32 }), bytes(4, 4)).map(([len, b]) => {
  const n = (len + 7) >> 3;
  const a = [...b].map((x, i) => (i < n ? x : 0));
  return `${a.join('.')}/${len}`;
});

// ------------------------------------------------------------------ EVPN routes

export const evpnType1 = rec({ type: fc.constant(1 as const), rd, esi, ethernetTag: u32, label: u24 });

export const evpnType2 = fc
  .record({
    rd,
    esi,
    ethernetTag: u32,
    mac,
    ip: fc.option(ip, { nil: undefined }),
    label1: u24,
    label2: fc.option(u24, { nil: undefined }),
  })
  .map((r) => {
    const out: EvpnRoute = { type: 2, rd: r.rd, esi: r.esi, ethernetTag: r.ethernetTag, mac: r.mac, label1: r.label1 };
    if (r.ip !== undefined) out.ip = r.ip;
    if (r.label2 !== undefined) out.label2 = r.label2;
    return out;
  });

export const evpnType3 = rec({ type: fc.constant(3 as const), rd, ethernetTag: u32, originatorIp: ip });
export const evpnType4 = rec({ type: fc.constant(4 as const), rd, esi, originatorIp: ip });

export const evpnType5 = fc.oneof(
  rec({
    type: fc.constant(5 as const),
    rd,
    esi,
    ethernetTag: u32,
    prefix: fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`),
    gatewayIp: ipv4,
    label: u24,
  }),
  rec({
    type: fc.constant(5 as const),
    rd,
    esi,
    ethernetTag: u32,
    prefix: fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, l]) => `${a}/${l}`),
    gatewayIp: ipv6,
    label: u24,
  }),
);

export const evpnRoute: fc.Arbitrary<EvpnRoute> = fc.oneof(evpnType1, evpnType2, evpnType3, evpnType4, evpnType5);

// ------------------------------------------------------------------ communities

export const routeTarget: fc.Arbitrary<ExtCommunity> = fc.oneof(
  rec({ kind: fc.constant('route-target' as const), format: fc.constant('as2' as const), asn: u16, local: u32 }),
  rec({ kind: fc.constant('route-target' as const), format: fc.constant('ipv4' as const), ip: ipv4, local: u16 }),
  rec({ kind: fc.constant('route-target' as const), format: fc.constant('as4' as const), asn: u32, local: u16 }),
);

/** True when 8 bytes are one of the typed communities (RFC 4360 / 7432 / 9012 / 9135 layouts,
 * written out here independently of the codec). */
export function isTypedExtCommunity(b: Uint8Array): boolean {
  const [t, s] = [b[0]!, b[1]!];
  if (s === 0x02 && (t === 0x00 || t === 0x01 || t === 0x02)) return true; // route target
  if (t === 0x03 && s === 0x0c) return b[2] === 0 && b[3] === 0 && b[4] === 0 && b[5] === 0; // encapsulation
  if (t === 0x03 && s === 0x0d) return b.subarray(2).every((x) => x === 0); // default gateway
  if (t === 0x06 && s === 0x00) return (b[2]! & 0xfe) === 0 && b[3] === 0; // MAC mobility
  if (t === 0x06 && s === 0x03) return true; // router's MAC
  return false;
}

/** Opaque communities that do not collide with a typed layout, with non-transitive types
 * (0x40 bit) well represented. */
export const opaqueExtCommunity: fc.Arbitrary<ExtCommunity> = fc
  .tuple(fc.oneof(u8, fc.constantFrom(0x40, 0x41, 0x42, 0x43, 0x44, 0x46, 0x47, 0x80, 0xc0)), u8, bytes(6, 6))
  .filter(([t, s, v]) => !isTypedExtCommunity(Uint8Array.from([t, s, ...v])))
  .map(([type, subtype, v]) => ({ kind: 'opaque' as const, type, subtype, value: hexOf(v) }));

export const extCommunity: fc.Arbitrary<ExtCommunity> = fc.oneof(
  routeTarget,
  rec({ kind: fc.constant('encapsulation' as const), tunnelType: fc.oneof(fc.constantFrom(8, 9, 10, 11, 12), u16) }),
  rec({ kind: fc.constant('mac-mobility' as const), sequence: u32, sticky: fc.boolean() }),
  fc.constant({ kind: 'default-gateway' as const }),
  rec({ kind: fc.constant('router-mac' as const), mac }),
  opaqueExtCommunity,
);

export const largeCommunity: fc.Arbitrary<LargeCommunity> = fc.tuple(u32, u32, u32);

// ------------------------------------------------------------------ path attributes

export const asPathSegment = (asn: fc.Arbitrary<number>): fc.Arbitrary<AsPathSegment> =>
  rec({ type: fc.constantFrom(1, 2, 3, 4), asns: fc.array(asn, { minLength: 1, maxLength: 12 }) });

export const pmsiTunnel: fc.Arbitrary<PmsiTunnel> = rec({
  flags: u8,
  tunnelType: fc.oneof(fc.constant(6), u8),
  label: u24,
  tunnelIdentifier: fc.oneof(
    ipv4,
    ipv6,
    bytes(0, 20)
      .filter((b) => b.length !== 4 && b.length !== 16)
      .map((b) => `0x${hexOf(b)}`),
  ),
});

/** Type codes the codec does not model. */
export const KNOWN_ATTR_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 22, 32]);
export const unknownAttrType = u8.filter((t) => !KNOWN_ATTR_TYPES.has(t));

/** Unknown optional transitive attributes as decoded, i.e. after one pass through the codec:
 * Partial set (RFC 4271 section 5), Extended Length set exactly when the value needs it. */
export const unknownTransitive: fc.Arbitrary<RawAttribute[]> = fc
  .uniqueArray(rec({ type: unknownAttrType, value: bytes(0, 300) }), { selector: (u) => u.type, minLength: 1, maxLength: 3 })
  .map((list) => list.map((u) => ({ flags: 0xe0 | (u.value.length > 255 ? 0x10 : 0), type: u.type, value: Buffer.from(u.value) })));

export const pathAttributes: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2),
    asPath: fc.array(asPathSegment(u32Edge), { maxLength: 4 }),
    nextHop: ipv4,
    med: u32Edge,
    localPref: u32Edge,
    atomicAggregate: fc.constant(true),
    aggregator: rec({ asn: u32Edge, address: ipv4 }),
    communities: fc.array(u32, { minLength: 1, maxLength: 8 }),
    originatorId: ipv4,
    clusterList: fc.array(ipv4, { minLength: 1, maxLength: 4 }),
    extCommunities: fc.array(extCommunity, { minLength: 1, maxLength: 8 }),
    largeCommunities: fc.array(largeCommunity, { minLength: 1, maxLength: 4 }),
    pmsiTunnel,
    unknown: unknownTransitive,
  },
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<PathAttributes>;

// ------------------------------------------------------------------ MP_REACH / MP_UNREACH

export const evpnNextHops = fc.oneof(
  ipv4.map((a) => [a]),
  ipv6.map((a) => [a]),
  fc.tuple(ipv6, ipv6).map(([g, l]) => [g, l]),
);

export const mpReachEvpn: fc.Arbitrary<MpReach> = rec({
  afi: fc.constant(25),
  safi: fc.constant(70),
  nextHops: evpnNextHops,
  routes: fc.array(evpnRoute, { maxLength: 8 }),
});

export const mpReachIpv4: fc.Arbitrary<MpReach> = rec({
  afi: fc.constant(1),
  safi: fc.constant(1),
  nextHops: ipv4.map((a) => [a]),
  routes: fc.array(ipv4Prefix, { maxLength: 20 }),
});

export const mpUnreachEvpn: fc.Arbitrary<MpUnreach> = rec({
  afi: fc.constant(25),
  safi: fc.constant(70),
  routes: fc.array(evpnRoute, { maxLength: 8 }),
});

export const mpUnreachIpv4: fc.Arbitrary<MpUnreach> = rec({
  afi: fc.constant(1),
  safi: fc.constant(1),
  routes: fc.array(ipv4Prefix, { maxLength: 20 }),
});

export interface UpdateValue {
  withdrawn: Ipv4Prefix[];
  attributes: PathAttributes;
  nlri: Ipv4Prefix[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
}

/** A valid UPDATE (no RFC 7606 complaint expected): mandatory attributes are present when
 * routes are announced, NEXT_HOP when the NLRI field is used. Fits 4096 bytes by construction
 * (worst case well under 3000 bytes). */
export const update: fc.Arbitrary<UpdateValue> = fc
  .record({
    withdrawn: fc.array(ipv4Prefix, { maxLength: 10 }),
    attributes: pathAttributes,
    nlri: fc.array(ipv4Prefix, { maxLength: 10 }),
    mpReach: fc.option(fc.oneof(mpReachEvpn, mpReachIpv4), { nil: undefined }),
    mpUnreach: fc.option(fc.oneof(mpUnreachEvpn, mpUnreachIpv4), { nil: undefined }),
    mandatory: rec({ origin: fc.constantFrom(0, 1, 2), asPath: fc.array(asPathSegment(u32Edge), { maxLength: 2 }), nextHop: ipv4 }),
  })
  .map((r) => {
    const attributes = { ...r.attributes };
    const announces = r.nlri.length > 0 || (r.mpReach !== undefined && r.mpReach.routes.length > 0);
    if (announces) {
      attributes.origin ??= r.mandatory.origin;
      attributes.asPath ??= r.mandatory.asPath;
    }
    if (r.nlri.length > 0) attributes.nextHop ??= r.mandatory.nextHop;
    const u: UpdateValue = { withdrawn: r.withdrawn, attributes, nlri: r.nlri };
    if (r.mpReach) u.mpReach = r.mpReach;
    if (r.mpUnreach) u.mpUnreach = r.mpUnreach;
    return u;
  });

// ------------------------------------------------------------------ OPEN

export const KNOWN_CAPABILITY_CODES = new Set([1, 2, 64, 65, 70, 128]);

export const capability: fc.Arbitrary<Capability> = fc.oneof(
  rec({ kind: fc.constant('multiprotocol' as const), afi: u16, safi: u8 }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'route-refresh-cisco' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  rec({ kind: fc.constant('four-octet-as' as const), asn: u32Edge }),
  rec({
    kind: fc.constant('graceful-restart' as const),
    restartState: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(rec({ afi: u16, safi: u8, forwardingState: fc.boolean() }), { maxLength: 4 }),
  }),
  rec({
    kind: fc.constant('unknown' as const),
    code: u8.filter((c) => !KNOWN_CAPABILITY_CODES.has(c)),
    value: bytes(0, 16).map(hexOf),
  }),
);

export interface OpenValue {
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
}

/** At most 8 capabilities of at most 20 bytes each: always inside the 253-byte limit. */
export const open: fc.Arbitrary<OpenValue> = rec({
  myAs: fc.oneof(u16, fc.constant(23456)),
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpId: ipv4.filter((a) => a !== '0.0.0.0'),
  capabilities: fc.array(capability, { maxLength: 8 }),
});
