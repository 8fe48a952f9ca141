// Property-based round trips of the BGP codec (GoBGP's table-driven + fuzz standard):
//   decode(encode(x)) deep-equals x for every message, attribute, community and EVPN route
//   kind, and encode(decode(bytes)) === bytes for any well-formed EVPN NLRI and any 8-byte
//   extended community.
// Arbitraries produce canonical values (see codec-arbitraries.ts); where the codec defines a
// canonical form that differs from the input (IPv6 text, MAC case, AS_PATH segments longer
// than 255, the Partial bit on passed-on attributes), a test says so explicitly.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  AsPathSegment,
  EvpnRoute,
  PathAttributes,
  Reader,
  UpdateMessage,
  Writer,
  decodeEvpnNlri,
  decodeExtCommunity,
  decodeMessage,
  encodeEvpnRoute,
  encodeExtCommunity,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeShutdownNotification,
  encodeUpdate,
  evpnRouteSize,
  isTransitive,
} from '../../src/bgp/packet';
import * as A from './codec-arbitraries';

// Fixed seed (reproducible; override with FC_SEED=<n> to explore), printed at the start.
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x5eed;
const runs = (numRuns: number) => ({ numRuns, seed: SEED });
const RUNS = runs(300);

function encodeRoute(r: EvpnRoute): Buffer {
  const w = new Writer(8);
  encodeEvpnRoute(w, r);
  return w.toBuffer();
}

/** Independent split of an UPDATE's path attributes: type -> {flags, value}. */
function splitAttributes(msg: Buffer): Map<number, { flags: number; value: Buffer }> {
  const wl = msg.readUInt16BE(19);
  const al = msg.readUInt16BE(21 + wl);
  let p = 23 + wl;
  const end = p + al;
  const out = new Map<number, { flags: number; value: Buffer }>();
  while (p < end) {
    const flags = msg[p]!;
    const type = msg[p + 1]!;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? msg.readUInt16BE(p + 2) : msg[p + 2]!;
    const at = p + (ext ? 4 : 3);
    out.set(type, { flags, value: msg.subarray(at, at + len) });
    p = at + len;
  }
  assert.equal(p, end, 'attributes must fill Total Path Attribute Length exactly');
  return out;
}

/** AS_PATH value -> segments, with 2- or 4-byte AS numbers (independent of the codec). */
function parseAsPath(v: Buffer, asnBytes: 2 | 4): AsPathSegment[] {
  const out: AsPathSegment[] = [];
  let p = 0;
  while (p < v.length) {
    const type = v[p]!;
    const n = v[p + 1]!;
    p += 2;
    const asns: number[] = [];
    for (let i = 0; i < n; i++, p += asnBytes) asns.push(asnBytes === 2 ? v.readUInt16BE(p) : v.readUInt32BE(p));
    out.push({ type, asns });
  }
  return out;
}

describe('codec round trip (property-based)', function () {
  this.timeout(30_000);
  before(() => console.log(`      fast-check seed ${SEED}`));

  describe('EVPN NLRI: decode(encode(route)) deep-equals route, length as RFC 7432/9136 define', function () {
    const ipBytes = (ip: string | undefined) => (ip === undefined ? 0 : ip.includes(':') ? 16 : 4);
    const cases: [string, fc.Arbitrary<EvpnRoute>, (r: EvpnRoute) => number][] = [
      ['type 1 Ethernet A-D (25)', A.evpnType1, () => 25],
      // RFC 7432 section 7.2: 8 RD + 10 ESI + 4 tag + 1 + 6 MAC + 1 + IP + 3 or 6 label bytes.
      ['type 2 MAC/IP (33/36/37/40/49/52)', A.evpnType2, (r) => 30 + ipBytes((r as { ip?: string }).ip) + ((r as { label2?: number }).label2 === undefined ? 3 : 6)],
      ['type 3 Inclusive Multicast (17/29)', A.evpnType3, (r) => 13 + ipBytes((r as { originatorIp: string }).originatorIp)],
      ['type 4 Ethernet Segment (23/35)', A.evpnType4, (r) => 19 + ipBytes((r as { originatorIp: string }).originatorIp)],
      ['type 5 IP Prefix (34/58)', A.evpnType5, (r) => 22 + 1 + 2 * ipBytes((r as { gatewayIp: string }).gatewayIp) + 3],
    ];
    for (const [name, arb, bodyLen] of cases) {
      it(name, () =>
        fc.assert(
          fc.property(arb, (r) => {
            const b = encodeRoute(r);
            assert.equal(b[0], r.type);
            assert.equal(b[1], bodyLen(r), 'length octet');
            assert.equal(b.length, 2 + bodyLen(r));
            assert.equal(evpnRouteSize(r), b.length);
            assert.deepStrictEqual(decodeEvpnNlri(new Reader(b)), { routes: [r], skippedTypes: [] });
          }),
          RUNS,
        ),
      );
    }

    it('every Type-2 shape appears: with/without IP (v4, v6), one or two labels', () => {
      const seen = new Set<number>();
      fc.assert(
        fc.property(A.evpnType2, (r) => {
          seen.add(encodeRoute(r)[1]!);
        }),
        runs(500),
      );
      assert.deepStrictEqual([...seen].sort((a, b) => a - b), [33, 36, 37, 40, 49, 52]);
    });

    it('RD formats: type 0, 1, 2 (incl. small AS "65000L:5"), unknown type as rd-raw', () => {
      const examples: [string, string][] = [
        ['65000:100', '0000fde800000064'],
        ['4294967295:65535', '0002ffffffffffff'], // > 65535: type 2 without the L
        ['10.0.0.1:2', '00010a0000010002'],
        ['65000L:5', '00020000fde80005'], // type 2 with a small AS
        ['0L:0', '0002000000000000'],
        ['rd-raw:0003010203040506', '0003010203040506'],
        ['rd-raw:ffffffffffffffff', 'ffffffffffffffff'],
      ];
      for (const [text, hex] of examples) {
        const r: EvpnRoute = { type: 3, rd: text, ethernetTag: 0, originatorIp: '192.0.2.1' };
        const b = encodeRoute(r);
        assert.equal(b.subarray(2, 10).toString('hex'), hex, text);
        assert.deepStrictEqual(decodeEvpnNlri(new Reader(b)).routes, [r], text);
      }
    });

    it('a whole NLRI field of several routes of every type', () =>
      fc.assert(
        fc.property(fc.array(A.evpnRoute, { maxLength: 12 }), (routes) => {
          const w = new Writer();
          for (const r of routes) encodeEvpnRoute(w, r);
          assert.deepStrictEqual(decodeEvpnNlri(new Reader(w.toBuffer())), { routes, skippedTypes: [] });
        }),
        runs(200),
      ));

    it('canonical forms: IPv6 per RFC 5952, MAC lower case with ":"', () =>
      fc.assert(
        fc.property(fc.ipV6(), A.mac, fc.boolean(), (v6, m, dash) => {
          const spelled = dash ? m.toUpperCase().replace(/:/g, '-') : m.toUpperCase();
          const r: EvpnRoute = { type: 2, rd: '1:1', esi: A.ESI_ZERO_TEXT, ethernetTag: 0, mac: spelled, ip: v6, label1: 1 };
          const [d] = decodeEvpnNlri(new Reader(encodeRoute(r))).routes;
          assert.deepStrictEqual(d, { ...r, mac: m, ip: A.canonicalIpv6(v6) });
        }),
        RUNS,
      ));
  });

  describe('EVPN NLRI: encode(decode(bytes)) === bytes for any well-formed NLRI', function () {
    // NLRI bytes built field by field from RFC 7432 section 7 / RFC 9136 section 3.1, with
    // arbitrary RD and ESI bytes (any RD type is legal on the wire).
    const rdB = A.bytes(8, 8);
    const esiB = A.bytes(10, 10);
    const ipField = fc.oneof(A.bytes(4, 4), A.bytes(16, 16)).map((b) => [b.length * 8, ...b]);
    const nlri = (type: number, body: number[]) => [type, body.length, ...body];
    const rawRoute = fc.oneof(
      fc.tuple(rdB, esiB, A.bytes(4, 4), A.bytes(3, 3)).map(([r, e, t, l]) => nlri(1, [...r, ...e, ...t, ...l])),
      fc
        .tuple(rdB, esiB, A.bytes(4, 4), A.bytes(6, 6), fc.oneof(fc.constant([0]), ipField), fc.oneof(A.bytes(3, 3), A.bytes(6, 6)))
        .map(([r, e, t, m, ipf, l]) => nlri(2, [...r, ...e, ...t, 48, ...m, ...ipf, ...l])),
      fc.tuple(rdB, A.bytes(4, 4), ipField).map(([r, t, ipf]) => nlri(3, [...r, ...t, ...ipf])),
      fc.tuple(rdB, esiB, ipField).map(([r, e, ipf]) => nlri(4, [...r, ...e, ...ipf])),
      fc
        .tuple(rdB, esiB, A.bytes(4, 4), fc.boolean(), fc.nat(), A.bytes(16, 16), A.bytes(16, 16), A.bytes(3, 3))
        .map(([r, e, t, v6, plen, p, g, l]) => {
          const n = v6 ? 16 : 4;
          return nlri(5, [...r, ...e, ...t, plen % (n * 8 + 1), ...p.subarray(0, n), ...g.subarray(0, n), ...l]);
        }),
    );

    it('single routes and sequences of routes', () =>
      fc.assert(
        fc.property(fc.array(rawRoute, { minLength: 1, maxLength: 6 }), (routes) => {
          const bytes = Buffer.from(routes.flat());
          const { routes: decoded, skippedTypes } = decodeEvpnNlri(new Reader(bytes));
          assert.equal(decoded.length, routes.length);
          assert.deepStrictEqual(skippedTypes, []);
          const w = new Writer();
          for (const r of decoded) encodeEvpnRoute(w, r);
          assert.equal(w.toBuffer().toString('hex'), bytes.toString('hex'));
        }),
        runs(1000),
      ));
  });

  describe('extended communities', function () {
    it('decode(encode(c)) deep-equals c for every kind (RT as2/ipv4/as4, encapsulation, MAC mobility, default gateway, router MAC, opaque)', () =>
      fc.assert(
        fc.property(A.extCommunity, (c) => {
          const b = encodeExtCommunity(c);
          assert.equal(b.length, 8);
          assert.deepStrictEqual(decodeExtCommunity(b), c);
        }),
        runs(1000),
      ));

    it('every kind is generated (the property above is not vacuous)', () => {
      const kinds = new Set<string>();
      for (const c of fc.sample(A.extCommunity, { numRuns: 500, seed: SEED })) kinds.add(c.kind === 'route-target' ? `rt-${c.format}` : c.kind);
      assert.deepStrictEqual([...kinds].sort(), ['default-gateway', 'encapsulation', 'mac-mobility', 'opaque', 'router-mac', 'rt-as2', 'rt-as4', 'rt-ipv4']);
    });

    it('encode(decode(b)) === b for any 8 bytes; typed exactly when the layout is (reserved bits zero)', () =>
      fc.assert(
        fc.property(
          fc.oneof(
            A.bytes(8, 8),
            // Bias towards the typed type/sub-type pairs with random value bytes.
            fc.tuple(fc.constantFrom([0, 2], [1, 2], [2, 2], [3, 12], [3, 13], [6, 0], [6, 3]), A.bytes(6, 6), fc.boolean()).map(([ts, v, zero]) => {
              const b = Uint8Array.from([...ts, ...v]);
              if (zero) b.fill(0, 2, 6); // reserved bytes of encapsulation/MAC mobility
              if (zero && ts[1] === 0) b[2] = v[0]! & 1;
              return b;
            }),
          ),
          (raw) => {
            const b = Buffer.from(raw);
            const c = decodeExtCommunity(b);
            assert.equal(encodeExtCommunity(c).toString('hex'), b.toString('hex'));
            assert.equal(c.kind !== 'opaque', A.isTypedExtCommunity(raw), JSON.stringify(c));
            // RFC 4360 section 2: the 0x40 bit of the type octet means non-transitive.
            assert.equal(isTransitive(c), (b[0]! & 0x40) === 0);
          },
        ),
        runs(2000),
      ));
  });

  describe('UPDATE', function () {
    it('every path attribute: decode(encode(attributes)) deep-equals attributes', () =>
      fc.assert(
        fc.property(A.pathAttributes, (attributes) => {
          const d = decodeMessage(encodeUpdate({ attributes }));
          assert.deepStrictEqual(d, { type: 'update', withdrawn: [], attributes, nlri: [] });
        }),
        runs(500),
      ));

    it('every path attribute is generated (the property above is not vacuous)', () => {
      const keys = new Set<string>();
      for (const a of fc.sample(A.pathAttributes, { numRuns: 200, seed: SEED })) Object.keys(a).forEach((k) => keys.add(k));
      assert.deepStrictEqual(
        [...keys].sort(),
        ['aggregator', 'asPath', 'atomicAggregate', 'clusterList', 'communities', 'extCommunities', 'largeCommunities', 'localPref', 'med', 'nextHop', 'origin', 'originatorId', 'pmsiTunnel', 'unknown'],
      );
    });

    it('whole UPDATEs (IPv4 NLRI/withdrawn, MP_REACH/MP_UNREACH for EVPN and IPv4 unicast): decode(encode(u)) deep-equals u, encode(decode(b)) === b', () =>
      fc.assert(
        fc.property(A.update, (u) => {
          const b = encodeUpdate(u);
          assert.ok(b.length <= 4096);
          const d = decodeMessage(b);
          assert.deepStrictEqual(d, { type: 'update', ...u });
          assert.equal(encodeUpdate(d as typeof u).toString('hex'), b.toString('hex'));
        }),
        runs(500),
      ));

    it('the UPDATE generator covers every part (the property above is not vacuous)', () => {
      const seen = new Set<string>();
      for (const u of fc.sample(A.update, { numRuns: 300, seed: SEED })) {
        if (u.withdrawn.length) seen.add('withdrawn');
        if (u.nlri.length) seen.add('nlri');
        if (u.mpReach) seen.add(`reach ${u.mpReach.afi}/${u.mpReach.safi}`);
        if (u.mpUnreach) seen.add(`unreach ${u.mpUnreach.afi}/${u.mpUnreach.safi}`);
        if (u.mpReach?.nextHops.length === 2) seen.add('two next hops');
        for (const r of [...(u.mpReach?.routes ?? []), ...(u.mpUnreach?.routes ?? [])]) {
          if (typeof r === 'string') continue;
          seen.add(`type ${r.type}`);
          if (r.rd.includes('L:')) seen.add('rd type 2 small AS');
          if (r.rd.startsWith('rd-raw:')) seen.add('rd raw');
          if (r.rd.includes('.')) seen.add('rd type 1');
          if ('esi' in r && r.esi !== A.ESI_ZERO_TEXT) seen.add('non-zero ESI');
          if ('esi' in r && r.esi === A.ESI_ZERO_TEXT) seen.add('zero ESI');
        }
      }
      assert.deepStrictEqual(
        [...seen].sort(),
        ['nlri', 'non-zero ESI', 'rd raw', 'rd type 1', 'rd type 2 small AS', 'reach 1/1', 'reach 25/70', 'two next hops', 'type 1', 'type 2', 'type 3', 'type 4', 'type 5', 'unreach 1/1', 'unreach 25/70', 'withdrawn', 'zero ESI'],
      );
    });

    it('large communities: RFC 8092 12-byte triples in order', () =>
      fc.assert(
        fc.property(fc.array(A.largeCommunity, { minLength: 1, maxLength: 10 }), (largeCommunities) => {
          const b = encodeUpdate({ attributes: { largeCommunities } });
          const v = splitAttributes(b).get(32)!;
          assert.equal(v.flags & 0xc0, 0xc0, 'optional transitive');
          assert.equal(v.value.length, 12 * largeCommunities.length);
          largeCommunities.forEach((l, i) => assert.deepStrictEqual([v.value.readUInt32BE(i * 12), v.value.readUInt32BE(i * 12 + 4), v.value.readUInt32BE(i * 12 + 8)], [...l]));
          assert.deepStrictEqual((decodeMessage(b) as { attributes: PathAttributes }).attributes.largeCommunities, largeCommunities);
        }),
        RUNS,
      ));

    it('canonical form: an AS_PATH segment longer than 255 ASes is split (RFC 4271 section 4.3)', () => {
      const asns = Array.from({ length: 300 }, (_, i) => 64512 + i);
      const d = decodeMessage(encodeUpdate({ attributes: { asPath: [{ type: 2, asns }] } })) as { attributes: PathAttributes };
      assert.deepStrictEqual(d.attributes.asPath, [
        { type: 2, asns: asns.slice(0, 255) },
        { type: 2, asns: asns.slice(255) },
      ]);
    });

    it('canonical form: unknown optional transitive attributes get the Partial bit (RFC 4271 section 5), Extended Length only when needed', () =>
      fc.assert(
        fc.property(A.unknownAttrType, fc.constantFrom(0xc0, 0xd0, 0xe0, 0xf0), A.bytes(0, 300), (type, flags, value) => {
          const d = decodeMessage(encodeUpdate({ attributes: { unknown: [{ flags, type, value: Buffer.from(value) }] } })) as { attributes: PathAttributes };
          assert.deepStrictEqual(d.attributes.unknown, [{ flags: 0xe0 | (value.length > 255 ? 0x10 : 0), type, value: Buffer.from(value) }]);
        }),
        RUNS,
      ));

    it('MP_UNREACH of a family the codec does not parse, empty (End-of-RIB), re-encodes', () => {
      const b = encodeUpdate({ mpUnreach: { afi: 2, safi: 1, routes: [] } });
      const d = decodeMessage(b);
      assert.deepStrictEqual(d, { type: 'update', withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: 2, safi: 1, routes: [], rawNlri: Buffer.alloc(0) } });
      assert.deepStrictEqual(encodeUpdate(d as UpdateMessage), b);
    });
  });

  describe('2-octet AS session (as4: false), RFC 6793', function () {
    const bigAsn = fc.integer({ min: 0x10000, max: 0xffffffff });
    const anyAsn = fc.oneof(A.u16, bigAsn, fc.constant(23456));
    // Sequences and sets; confederation segments only leading and with 2-octet members
    // (where RFC 5065 puts them; a 4-octet confed member cannot cross a 2-octet session).
    const path = fc
      .tuple(
        fc.array(A.rec({ type: fc.constantFrom(3, 4), asns: fc.array(A.u16, { minLength: 1, maxLength: 4 }) }), { maxLength: 2 }),
        fc.array(A.rec({ type: fc.constantFrom(1, 2), asns: fc.array(anyAsn, { minLength: 1, maxLength: 8 }) }), { minLength: 1, maxLength: 4 }),
      )
      .map(([confed, rest]) => [...confed, ...rest] as AsPathSegment[]);

    it('ASNs > 65535 go out as AS_TRANS plus AS4_PATH (and AS4_AGGREGATOR) and decode back to the 4-octet values (section 4.2.3)', () =>
      fc.assert(
        fc.property(path, fc.option(A.rec({ asn: anyAsn, address: A.ipv4 }), { nil: undefined }), (asPath, aggregator) => {
          const attributes: PathAttributes = { origin: 0, asPath };
          if (aggregator) attributes.aggregator = aggregator;
          const b = encodeUpdate(
            { attributes, mpReach: { afi: 25, safi: 70, nextHops: ['192.0.2.1'], routes: [{ type: 3, rd: '1:1', ethernetTag: 0, originatorIp: '192.0.2.1' }] } },
            { as4: false },
          );
          const attrs = splitAttributes(b);
          // AS_PATH in 2-octet form: every AS > 65535 replaced by AS_TRANS.
          const trans = (x: number) => (x > 0xffff ? 23456 : x);
          assert.deepStrictEqual(parseAsPath(attrs.get(2)!.value, 2), asPath.map((s) => ({ type: s.type, asns: s.asns.map(trans) })));
          // AS4_PATH: present exactly when needed, never with confederation segments (section 3).
          const nonConfed = asPath.filter((s) => s.type === 1 || s.type === 2);
          const needed = nonConfed.some((s) => s.asns.some((x) => x > 0xffff));
          assert.equal(attrs.has(17), needed, 'AS4_PATH presence');
          if (needed) assert.deepStrictEqual(parseAsPath(attrs.get(17)!.value, 4), nonConfed);
          if (aggregator) {
            const agg = attrs.get(7)!.value;
            assert.equal(agg.length, 6);
            assert.equal(agg.readUInt16BE(0), trans(aggregator.asn));
            assert.equal(attrs.has(18), aggregator.asn > 0xffff, 'AS4_AGGREGATOR presence');
          } else assert.equal(attrs.has(18), false);

          const d = decodeMessage(b, { as4: false }) as { attributes: PathAttributes; treatAsWithdraw?: string[] };
          assert.equal(d.treatAsWithdraw, undefined);
          assert.deepStrictEqual(d.attributes, attributes);
        }),
        runs(500),
      ));

    it('the property above reaches the interesting cases', () => {
      let withAs4Path = 0;
      let withBoth = 0;
      for (const p of fc.sample(path, { numRuns: 300, seed: SEED })) if (p.some((s) => s.asns.some((x) => x > 0xffff))) withAs4Path++;
      for (const [p, agg] of fc.sample(fc.tuple(path, bigAsn), { numRuns: 100, seed: SEED })) if (p.some((s) => s.asns.some((x) => x > 0xffff)) && agg > 0xffff) withBoth++;
      assert.ok(withAs4Path > 100, `${withAs4Path}`);
      assert.ok(withBoth > 30, `${withBoth}`);
    });
  });

  describe('OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH', function () {
    it('OPEN with every capability kind: decode(encode(o)) deep-equals o', () =>
      fc.assert(
        fc.property(A.open, (o) => {
          const b = encodeOpen(o);
          assert.deepStrictEqual(decodeMessage(b), { type: 'open', version: 4, ...o });
          // encode(decode(b)) === b
          assert.deepStrictEqual(encodeOpen(decodeMessage(b) as typeof o), b);
        }),
        runs(500),
      ));

    it('every capability kind is generated (the property above is not vacuous)', () => {
      const kinds = new Set<string>();
      for (const o of fc.sample(A.open, { numRuns: 200, seed: SEED })) o.capabilities.forEach((c) => kinds.add(c.kind));
      assert.deepStrictEqual([...kinds].sort(), ['enhanced-route-refresh', 'four-octet-as', 'graceful-restart', 'multiprotocol', 'route-refresh', 'route-refresh-cisco', 'unknown']);
    });

    it('NOTIFICATION: code, subcode and data survive', () =>
      fc.assert(
        fc.property(A.u8, A.u8, A.bytes(0, 200), (code, subcode, data) => {
          fc.pre(!(code === 6 && (subcode === 2 || subcode === 4)));
          assert.deepStrictEqual(decodeMessage(encodeNotification(code, subcode, Buffer.from(data))), {
            type: 'notification',
            code,
            subcode,
            data: Buffer.from(data),
          });
        }),
        RUNS,
      ));

    it('NOTIFICATION Cease/Administrative Shutdown or Reset with an RFC 9003 Shutdown Communication', () =>
      fc.assert(
        fc.property(fc.constantFrom(2, 4), fc.string({ unit: 'binary', maxLength: 80 }), (subcode, text) => {
          fc.pre(Buffer.byteLength(text) <= 255);
          const d = decodeMessage(encodeShutdownNotification(subcode, text));
          const utf8 = Buffer.from(text);
          assert.deepStrictEqual(d, {
            type: 'notification',
            code: 6,
            subcode,
            data: Buffer.concat([Buffer.from([utf8.length]), utf8]),
            communication: text,
          });
        }),
        RUNS,
      ));

    it('RFC 9003: a communication over 255 bytes is cut to valid UTF-8 at a character boundary', () =>
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 70, maxLength: 200 }), (text) => {
          fc.pre(Buffer.byteLength(text) > 255);
          const d = decodeMessage(encodeShutdownNotification(2, text)) as { data: Buffer; communication?: string };
          const c = d.communication!;
          const cps = [...text];
          const kept = [...c];
          assert.equal(c, cps.slice(0, kept.length).join(''), 'a prefix of whole characters');
          assert.ok(d.data[0]! <= 255 && d.data[0] === Buffer.byteLength(c));
          assert.ok(Buffer.byteLength(c) + Buffer.byteLength(cps[kept.length]!) > 255, 'as long as possible');
        }),
        RUNS,
      ));

    it('KEEPALIVE is exactly the 19-byte header', () => {
      assert.equal(encodeKeepalive().toString('hex'), 'ff'.repeat(16) + '0013' + '04');
      assert.deepStrictEqual(decodeMessage(encodeKeepalive()), { type: 'keepalive' });
    });

    it('ROUTE-REFRESH (RFC 2918, subtypes of RFC 7313)', () =>
      fc.assert(
        fc.property(A.u16, A.u8, A.u8, (afi, safi, subtype) => {
          const b = encodeRouteRefresh(afi, safi, subtype);
          assert.equal(b.length, 23);
          assert.deepStrictEqual(decodeMessage(b), { type: 'route-refresh', afi, safi, subtype });
        }),
        RUNS,
      ));
  });
});
