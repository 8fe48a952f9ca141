// The monitor route (src/monitoring/monitor-route.ts): a session encoded as an RFC 7432
// Type-2 route plus route target, encapsulation and 0x8e/xx extended communities, and read
// back on another VTEP. Round trips (hand-written and property-based, directly and through
// the BGP UPDATE codec), independence from community order and FRR's sort/de-duplication,
// every malformed route reported (never thrown), and the monitoring route target helpers.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { EvpnMacIp, EvpnRoute, ExtCommunity, UpdateMessage, decodeMessage, encodeExtCommunity, encodeUpdate } from '../../src/bgp/packet';
import {
  DEFAULT_MONITORING_RT_LOCAL,
  MONITOR_EC_TYPE,
  MonitorRouteDecode,
  MonitoringRouteTarget,
  decodeMonitorRoute,
  defaultMonitoringRouteTarget,
  encodeMonitorRoute,
  hasRouteTarget,
  parseMonitoringRouteTarget,
  routeTargetText,
} from '../../src/monitoring/monitor-route';
import { Direction, MonitoringSession } from '../../src/monitoring/session';
import * as A from './codec-arbitraries';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x5eed;
const runs = (numRuns: number) => ({ numRuns, seed: SEED });

const RT: MonitoringRouteTarget = { kind: 'route-target', format: 'as2', asn: 65000, local: 268_435_456 };

/** What a receiving agent must read back: the same session, remote, named by its id. */
const asRemote = (s: MonitoringSession): MonitoringSession => ({ ...s, origin: 'remote', name: s.id });

function mkSession(over: {
  id?: string;
  vni?: number;
  direction?: Direction;
  host?: MonitoringSession['host'];
  monitor?: Partial<MonitoringSession['monitor']> & { ipv4?: string; ipv6?: string };
  monitorIps?: { ipv4?: string; ipv6?: string };
}): MonitoringSession {
  const monitor: { mac: string; ipv4?: string; ipv6?: string; hostId: number; vni: number } = {
    mac: '02:00:00:00:aa:01',
    hostId: 4660,
    vni: 5000,
    ...(over.monitorIps ?? { ipv4: '198.51.100.10' }),
  };
  return {
    id: over.id ?? '192.0.2.1:7',
    name: 'web-1',
    origin: 'local',
    vni: over.vni ?? 1000,
    host: over.host ?? { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10' },
    monitor: { ...monitor, ...(over.monitor ?? {}) },
    direction: over.direction ?? 'both',
    enabled: true,
  };
}

function decodeOk(route: EvpnRoute, ext: readonly ExtCommunity[] | undefined): MonitoringSession {
  const d = decodeMonitorRoute(route, ext);
  if (!d.ok) assert.fail(`decode failed: ${d.reason}`);
  return d.session;
}

const ours = (subtype: number, value: string): ExtCommunity => ({ kind: 'opaque', type: MONITOR_EC_TYPE, subtype, value });
const isOurs = (c: ExtCommunity, subtype?: number) => c.kind === 'opaque' && c.type === MONITOR_EC_TYPE && (subtype === undefined || c.subtype === subtype);

/** FRR's treatment of a received extended community attribute: sorted by the 8 encoded
 * bytes, equal values kept once. */
function frrSortUniq(list: readonly ExtCommunity[]): ExtCommunity[] {
  const byHex = new Map<string, ExtCommunity>();
  for (const c of list) byHex.set(encodeExtCommunity(c).toString('hex'), c);
  return [...byHex.keys()].sort().map((k) => byHex.get(k)!);
}

/** Through the real codec: UPDATE with MP_REACH_NLRI (L2VPN EVPN) and the communities. */
function throughUpdate(route: EvpnMacIp, extCommunities: ExtCommunity[]): { route: EvpnRoute; ext: ExtCommunity[] } {
  const bytes = encodeUpdate({
    attributes: { origin: 0, asPath: [], localPref: 100, extCommunities },
    mpReach: { afi: 25, safi: 70, nextHops: ['192.0.2.1'], routes: [route] },
  });
  const d = decodeMessage(bytes, { as4: true, ibgp: true }) as UpdateMessage;
  assert.equal(d.type, 'update');
  assert.equal(d.treatAsWithdraw, undefined);
  assert.equal(d.mpReach?.routes.length, 1);
  return { route: d.mpReach!.routes[0] as EvpnRoute, ext: d.attributes.extCommunities! };
}

// ------------------------------------------------------------------ arbitraries

/** A host MAC: unicast (group bit clear) and not all-zero. */
const unicastMac = A.bytes(6, 6)
  .map((b) => {
    b[0] = b[0]! & 0xfe;
    return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  })
  .filter((m) => m !== '00:00:00:00:00:00');

const direction = fc.constantFrom<Direction>('both', 'from-host', 'to-host');
const vni = fc.integer({ min: 1, max: 0xffffff });

/** A valid, canonical, enabled local session (as resolveMonitoringConfig gives). */
const session: fc.Arbitrary<MonitoringSession> = fc
  .record({
    id: fc.tuple(A.ipv4, fc.integer({ min: 1, max: 0xffff })).map(([ip, n]) => `${ip}:${n}`),
    name: fc.string({ minLength: 1, maxLength: 10 }),
    vni,
    hostMac: unicastMac,
    hostV4: fc.option(A.ipv4, { nil: undefined }),
    hostV6: fc.option(A.ipv6, { nil: undefined }),
    monMac: unicastMac,
    monIps: fc.oneof(
      fc.record({ ipv4: A.ipv4 }),
      fc.record({ ipv6: A.ipv6 }),
      fc.record({ ipv4: A.ipv4, ipv6: A.ipv6 }),
    ),
    hostId: fc.integer({ min: 1, max: 0xffff }),
    monVni: vni,
    direction,
  })
  .filter((r) => r.hostMac !== r.monMac)
  .map((r) => {
    const host: { mac: string; ipv4?: string; ipv6?: string } = { mac: r.hostMac };
    if (r.hostV4 !== undefined) host.ipv4 = r.hostV4;
    if (r.hostV6 !== undefined) host.ipv6 = r.hostV6;
    return {
      id: r.id,
      name: r.name,
      origin: 'local' as const,
      vni: r.vni,
      host,
      monitor: { mac: r.monMac, ...r.monIps, hostId: r.hostId, vni: r.monVni },
      direction: r.direction,
      enabled: true,
    };
  });

/** Routes and communities that cover every failure and success path of the decoder. */
const mutatedRoute: fc.Arbitrary<{ route: EvpnRoute; ext: ExtCommunity[] | undefined }> = fc.oneof(
  // A valid encoding with random edits: drop, replace the value of, or duplicate a community.
  fc
    .tuple(
      session,
      fc.array(
        fc.tuple(fc.constantFrom('drop', 'bytes', 'dup', 'add'), fc.nat(), A.bytes(6, 6), fc.constantFrom(0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x14, 0x15, 0x16, 0x04, 0x13, 0x20, 0xff)),
        { maxLength: 3 },
      ),
      fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: A.evpnRoute, weight: 1 }),
    )
    .map(([s, edits, other]) => {
      const m = encodeMonitorRoute(s, RT);
      const ext = [...m.extCommunities];
      for (const [op, i, v, sub] of edits) {
        const at = ext.length ? i % ext.length : 0;
        if (op === 'drop') ext.splice(at, 1);
        else if (op === 'bytes' && ext[at] && isOurs(ext[at]!)) ext[at] = ours((ext[at] as { subtype: number }).subtype, A.hexOf(v));
        else if (op === 'dup' && ext[at]) ext.push(ext[at]!);
        else ext.push(ours(sub, A.hexOf(v)));
      }
      return { route: other ?? m.route, ext };
    }),
  // Anything at all.
  fc.record({
    route: A.evpnRoute,
    ext: fc.option(fc.array(fc.oneof(A.extCommunity, fc.tuple(fc.oneof(fc.integer({ min: 0, max: 0x20 }), A.u8), A.bytes(6, 6)).map(([sub, v]) => ours(sub, A.hexOf(v)))), { maxLength: 14 }), { nil: undefined }),
  }),
);

// ------------------------------------------------------------------ tests

describe('monitor route: encode / decode', function () {
  this.timeout(60_000);

  describe('encoding: the layout the header documents', function () {
    it('a session with everything: Type-2 fields and the exact community bytes', () => {
      const s = mkSession({
        id: '10.0.0.1:42',
        vni: 0x0a0b0c,
        direction: 'to-host',
        host: { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10', ipv6: '2001:db8:1:2:3:4:5:6' },
        monitor: { hostId: 0x1234, vni: 0x00abcd },
        monitorIps: { ipv4: '198.51.100.10', ipv6: '2001:db8:a:b:c:d:e:f' },
      });
      const m = encodeMonitorRoute(s, RT);
      assert.deepStrictEqual(m.route, {
        type: 2,
        rd: '10.0.0.1:42',
        esi: '00:00:00:00:00:00:00:00:00:00',
        ethernetTag: 0,
        mac: '02:00:00:00:bb:01',
        ip: '192.0.2.10', // the IPv4 when the host has both
        label1: 0x0a0b0c,
      });
      assert.deepStrictEqual(
        m.extCommunities.map((c) => encodeExtCommunity(c).toString('hex')),
        [
          '0002fde810000000', // RT 65000:268435456
          '030c000000000008', // encapsulation VXLAN
          '8e01' + '1234' + '02' + '00abcd', // SESSION: HOST-ID, direction to-host, monitor VNI
          '8e02' + '020000' + '00aa01', // MONITOR-MAC
          '8e03' + '0000' + 'c633640a', // MONITOR-IPV4 198.51.100.10
          '8e10' + '20010db8000a', // MONITOR-IPV6 bytes 0-5
          '8e11' + '000b000c000d', // bytes 6-11
          '8e12' + '0000' + '000e000f', // 0 | bytes 12-15
          '8e14' + '20010db80001', // HOST-IPV6 bytes 0-5
          '8e15' + '000200030004', // bytes 6-11
          '8e16' + '0000' + '00050006', // 0 | bytes 12-15
        ],
      );
    });

    it('direction codes: both 0, from-host 1, to-host 2', () => {
      for (const [direction, code] of [
        ['both', '00'],
        ['from-host', '01'],
        ['to-host', '02'],
      ] as const) {
        const c = encodeMonitorRoute(mkSession({ direction }), RT).extCommunities.find((x) => isOurs(x, 0x01));
        assert.equal(c && encodeExtCommunity(c).toString('hex').slice(8, 10), code, direction);
      }
    });

    it('no two communities of a route are equal, and exactly the needed ones are present', () =>
      fc.assert(
        fc.property(session, (s) => {
          const ext = encodeMonitorRoute(s, RT).extCommunities;
          const hexes = ext.map((c) => encodeExtCommunity(c).toString('hex'));
          assert.equal(new Set(hexes).size, hexes.length, 'FRR de-duplication could not lose one');
          const expected =
            4 + (s.monitor.ipv4 !== undefined ? 1 : 0) + (s.monitor.ipv6 !== undefined ? 3 : 0) + (s.host.ipv4 !== undefined && s.host.ipv6 !== undefined ? 3 : 0);
          assert.equal(ext.length, expected);
          assert.ok(hasRouteTarget(ext, RT));
          assert.ok(ext.some((c) => c.kind === 'encapsulation' && c.tunnelType === 8));
        }),
        runs(300),
      ));
  });

  describe('round trip: decode(encode(s)) is s, remote and named by its id', function () {
    const hosts: [string, MonitoringSession['host']][] = [
      ['host IPv4 only', { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10' }],
      ['host IPv6 only', { mac: '02:00:00:00:bb:01', ipv6: '2001:db8::10' }],
      ['host IPv4 and IPv6', { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10', ipv6: '2001:db8::10' }],
      ['host without IP', { mac: '02:00:00:00:bb:01' }],
    ];
    const monitors: [string, { ipv4?: string; ipv6?: string }][] = [
      ['monitor IPv4', { ipv4: '198.51.100.10' }],
      ['monitor IPv6', { ipv6: 'fd00::1:0:0:10' }],
      ['monitor IPv4 and IPv6', { ipv4: '198.51.100.10', ipv6: '::ffff:c633:640a' }],
    ];
    const directions: Direction[] = ['both', 'from-host', 'to-host'];
    for (const [hn, host] of hosts)
      for (const [mn, monitorIps] of monitors)
        it(`${hn}, ${mn}, every direction`, () => {
          for (const direction of directions) {
            const s = mkSession({ host, monitorIps, direction });
            const m = encodeMonitorRoute(s, RT);
            assert.deepStrictEqual(decodeOk(m.route, m.extCommunities), asRemote(s), direction);
            const wire = throughUpdate(m.route, m.extCommunities);
            assert.deepStrictEqual(decodeOk(wire.route, wire.ext), asRemote(s), `${direction} through UPDATE`);
          }
        });

    it('extreme values: HOST-ID 1 and 65535, VNIs 1 and 16777215, RD index 65535', () => {
      for (const [hostId, v, mv, rd] of [
        [1, 1, 0xffffff, '0.0.0.0:1'],
        [65535, 0xffffff, 1, '255.255.255.255:65535'],
      ] as const) {
        const s = mkSession({ id: rd, vni: v, monitor: { hostId, vni: mv } });
        const m = encodeMonitorRoute(s, RT);
        assert.deepStrictEqual(decodeOk(m.route, m.extCommunities), asRemote(s));
        const wire = throughUpdate(m.route, m.extCommunities);
        assert.deepStrictEqual(decodeOk(wire.route, wire.ext), asRemote(s));
      }
    });

    it('property: random valid sessions, directly', () =>
      fc.assert(
        fc.property(session, (s) => {
          const m = encodeMonitorRoute(s, RT);
          assert.deepStrictEqual(decodeOk(m.route, m.extCommunities), asRemote(s));
        }),
        runs(1000),
      ));

    it('property: random valid sessions, through an UPDATE (encodeUpdate / decodeMessage)', () =>
      fc.assert(
        fc.property(session, (s) => {
          const m = encodeMonitorRoute(s, RT);
          const wire = throughUpdate(m.route, m.extCommunities);
          assert.deepStrictEqual(decodeOk(wire.route, wire.ext), asRemote(s));
        }),
        runs(500),
      ));

    it('the session generator covers every shape (the properties above are not vacuous)', () => {
      const seen = new Set<string>();
      for (const s of fc.sample(session, { numRuns: 500, seed: SEED })) {
        seen.add(`host ${s.host.ipv4 ? 4 : ''}${s.host.ipv6 ? 6 : ''}`);
        seen.add(`monitor ${s.monitor.ipv4 ? 4 : ''}${s.monitor.ipv6 ? 6 : ''}`);
        seen.add(s.direction);
      }
      assert.deepStrictEqual(
        [...seen].sort(),
        ['both', 'from-host', 'host ', 'host 4', 'host 46', 'host 6', 'monitor 4', 'monitor 46', 'monitor 6', 'to-host'],
      );
    });
  });

  describe('order independence', function () {
    it('any permutation of the communities gives the same session', () =>
      fc.assert(
        fc.property(
          session.chain((s) => {
            const ext = encodeMonitorRoute(s, RT).extCommunities;
            return fc.tuple(fc.constant(s), fc.shuffledSubarray(ext, { minLength: ext.length, maxLength: ext.length }));
          }),
          ([s, shuffled]) => {
            assert.deepStrictEqual(decodeOk(encodeMonitorRoute(s, RT).route, shuffled), asRemote(s));
          },
        ),
        runs(500),
      ));

    it("FRR's treatment (sorted by the 8 encoded bytes, equal values once) gives the same session, with other communities mixed in", () =>
      fc.assert(
        fc.property(session, fc.array(A.extCommunity, { maxLength: 5 }), fc.nat(), (s, foreign, k) => {
          const m = encodeMonitorRoute(s, RT);
          const own = m.extCommunities;
          // Duplicates of some of ours, and communities that are not ours (never 0x8e).
          const dup = own.slice(k % own.length);
          const others = foreign.filter((c) => !isOurs(c));
          const frr = frrSortUniq([...dup, ...others, ...own, ...dup]);
          assert.ok(frr.length <= own.length + others.length);
          const hexes = frr.map((c) => encodeExtCommunity(c).toString('hex'));
          assert.deepStrictEqual(hexes, [...hexes].sort());
          assert.deepStrictEqual(decodeOk(m.route, frr), asRemote(s));
          const wire = throughUpdate(m.route, frr);
          assert.deepStrictEqual(decodeOk(wire.route, wire.ext), asRemote(s));
        }),
        runs(500),
      ));

    it('a value repeated (identical) is not a conflict', () => {
      const s = mkSession({ host: { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10', ipv6: '2001:db8::10' }, monitorIps: { ipv4: '198.51.100.10', ipv6: '2001:db8::1' } });
      const m = encodeMonitorRoute(s, RT);
      assert.deepStrictEqual(decodeOk(m.route, [...m.extCommunities, ...m.extCommunities.map((c) => ({ ...c }))]), asRemote(s));
    });
  });

  describe('unknown 0x8e sub-types are ignored', function () {
    const s = mkSession({ host: { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10', ipv6: '2001:db8::10' }, monitorIps: { ipv4: '198.51.100.10', ipv6: '2001:db8::1' } });
    const m = encodeMonitorRoute(s, RT);

    it('sub-types 0x00, 0x04, 0x0f, 0x13, 0x17, 0x20, 0xff with any value (and other types with our sub-types) change nothing', () => {
      const extra = [0x00, 0x04, 0x0f, 0x13, 0x17, 0x20, 0xff].map((sub) => ours(sub, 'ffffffffffff'));
      // Our sub-types under other opaque types are not ours either (0x0e, 0xce non-transitive, 0x8f).
      const otherTypes: ExtCommunity[] = [0x0e, 0xce, 0x8f].map((type) => ({ kind: 'opaque', type, subtype: 0x01, value: '000000ff0000' }));
      assert.deepStrictEqual(decodeOk(m.route, [...extra, ...m.extCommunities, ...otherTypes]), asRemote(s));
      assert.deepStrictEqual(decodeOk(m.route, frrSortUniq([...extra, ...m.extCommunities, ...otherTypes])), asRemote(s));
    });

    // Regression: the conflict check once ran on every 0x8e sub-type, so a later version's
    // repeated sub-type would have made older agents refuse the whole session.
    it('an unknown sub-type carried twice with different values is still ignored', () => {
      const d = decodeMonitorRoute(m.route, [...m.extCommunities, ours(0x20, '000000000001'), ours(0x20, '000000000002')]);
      assert.deepStrictEqual(d, { ok: true, session: asRemote(s) });
    });
  });

  describe('malformed routes: ok:false with a reason, never a throw', function () {
    const s = mkSession({
      id: '192.0.2.1:9',
      host: { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10', ipv6: '2001:db8::10' },
      monitorIps: { ipv4: '198.51.100.10', ipv6: '2001:db8::1' },
    });
    const good = encodeMonitorRoute(s, RT);
    const without = (...subtypes: number[]) => good.extCommunities.filter((c) => !subtypes.some((st) => isOurs(c, st)));
    const replace = (subtype: number, value: string) => good.extCommunities.map((c) => (isOurs(c, subtype) ? ours(subtype, value) : c));
    const sessionValue = (hostId: string, dir: string, vni: string) => hostId + dir + vni;
    const withoutIp = (r: EvpnMacIp): EvpnMacIp => {
      const copy = { ...r };
      delete copy.ip;
      return copy;
    };

    const cases: [string, EvpnRoute, ExtCommunity[] | undefined, RegExp][] = [
      ['no communities at all', good.route, undefined, /no SESSION community \(0x8e\/0x01\)/],
      ['missing SESSION', good.route, without(0x01), /no SESSION community \(0x8e\/0x01\)/],
      ['missing MONITOR-MAC', good.route, without(0x02), /no MONITOR-MAC community \(0x8e\/0x02\)/],
      ['no monitor IP', good.route, without(0x03, 0x10, 0x11, 0x12), /no monitor server IP/],
      ['two different SESSION values', good.route, [...good.extCommunities, ours(0x01, sessionValue('1235', '00', '001388'))], /two different values for community 0x8e\/0x01/],
      ['two different MONITOR-MAC values', good.route, [ours(0x02, '020000000002'), ...good.extCommunities], /two different values for community 0x8e\/0x02/],
      ['HOST-ID 0', good.route, replace(0x01, sessionValue('0000', '00', '001388')), /HOST-ID 0 is out of range/],
      ['direction code 3', good.route, replace(0x01, sessionValue('1234', '03', '001388')), /unknown direction code 3/],
      ['direction code 255', good.route, replace(0x01, sessionValue('1234', 'ff', '001388')), /unknown direction code 255/],
      ['monitor VNI 0', good.route, replace(0x01, sessionValue('1234', '00', '000000')), /monitor server VNI 0/],
      ['label1 0', { ...good.route, label1: 0 }, good.extCommunities, /VNI \(label 1\) 0 is out of range/],
      ['MONITOR-IPV6 missing its second fragment', good.route, without(0x11), /MONITOR-IPV6 address is incomplete/],
      ['MONITOR-IPV6 with only its last fragment', good.route, without(0x10, 0x11), /MONITOR-IPV6 address is incomplete/],
      ['HOST-IPV6 missing its first fragment', good.route, without(0x14), /HOST-IPV6 address is incomplete/],
      ['HOST-IPV6 missing its last fragment', good.route, without(0x16), /HOST-IPV6 address is incomplete/],
      ['MONITOR-IPV4 reserved octets not zero', good.route, replace(0x03, '0001c633640a'), /MONITOR-IPV4 reserved octets are not zero/],
      ['MONITOR-IPV6 reserved octets not zero', good.route, replace(0x12, '800000000001'), /MONITOR-IPV6 reserved octets are not zero/],
      ['HOST-IPV6 reserved octets not zero', good.route, replace(0x16, '000100000010'), /HOST-IPV6 reserved octets are not zero/],
      ['HOST-IPV6 on a route whose host IP is IPv6', { ...good.route, ip: '2001:db8::99' }, good.extCommunities, /HOST-IPV6 communities on a route without a host IPv4/],
      ['HOST-IPV6 on a route without a host IP', withoutIp(good.route), good.extCommunities, /HOST-IPV6 communities on a route without a host IPv4/],
      ['monitor MAC == host MAC', good.route, replace(0x02, '02000000bb01'), /monitor server has the monitored host MAC/],
      ['multicast host MAC', { ...good.route, mac: '01:00:5e:00:00:01' }, good.extCommunities, /01:00:5e:00:00:01 is a group \(multicast\/broadcast\) address/],
      ['broadcast host MAC', { ...good.route, mac: 'ff:ff:ff:ff:ff:ff' }, good.extCommunities, /is a group/],
      ['all-zero host MAC', { ...good.route, mac: '00:00:00:00:00:00' }, good.extCommunities, /all-zero MAC/],
      ['multicast monitor MAC', good.route, replace(0x02, '333300000001'), /33:33:00:00:00:01 is a group/],
      ['all-zero monitor MAC', good.route, replace(0x02, '000000000000'), /all-zero MAC/],
      ['a Type-3 route', { type: 3, rd: '192.0.2.1:9', ethernetTag: 0, originatorIp: '192.0.2.1' }, good.extCommunities, /route type 3 is not a MAC\/IP advertisement/],
      ['a Type-5 route', { type: 5, rd: '192.0.2.1:9', esi: good.route.esi, ethernetTag: 0, prefix: '10.0.0.0/8', gatewayIp: '0.0.0.0', label: 1 }, good.extCommunities, /route type 5 is not a MAC\/IP advertisement/],
    ];
    for (const [name, route, ext, reason] of cases)
      it(name, () => {
        let d: MonitorRouteDecode | undefined;
        assert.doesNotThrow(() => (d = decodeMonitorRoute(route, ext)));
        assert.equal(d!.ok, false, JSON.stringify(d));
        const why = (d as { reason: string }).reason;
        assert.match(why, reason);
        assert.ok(why.startsWith('monitor route 192.0.2.1:9: '), `the reason names the route: ${why}`);
      });

    it('the unmodified route decodes (so each case above fails for its own reason)', () => {
      assert.deepStrictEqual(decodeOk(good.route, good.extCommunities), asRemote(s));
    });

    it('property: any route with any communities: never throws; a success is a valid session that re-encodes to itself', () => {
      const outcomes = new Set<string>();
      fc.assert(
        fc.property(mutatedRoute, ({ route, ext }) => {
          let d: MonitorRouteDecode | undefined;
          assert.doesNotThrow(() => (d = decodeMonitorRoute(route, ext)));
          if (!d!.ok) {
            assert.ok(d!.reason.startsWith(`monitor route ${route.rd}: `), d!.reason);
            outcomes.add(d!.reason.replace(/^monitor route [^ ]*: /, '').replace(/[0-9a-f]{2}(:[0-9a-f]{2}){5}|\d+/g, 'N'));
            return;
          }
          outcomes.add('ok');
          const got = d!.session;
          assert.ok(got.monitor.hostId >= 1 && got.monitor.hostId <= 0xffff);
          assert.ok(got.vni >= 1 && got.monitor.vni >= 1);
          assert.notEqual(got.host.mac, got.monitor.mac);
          assert.ok(got.monitor.ipv4 !== undefined || got.monitor.ipv6 !== undefined);
          const again = encodeMonitorRoute(got, RT);
          assert.deepStrictEqual(decodeOk(again.route, again.extCommunities), got);
        }),
        runs(3000),
      );
      // Not vacuous: successes and the main failure kinds all occurred.
      assert.ok(outcomes.has('ok'), [...outcomes].join(' | '));
      for (const re of [/no SESSION/, /no MONITOR-MAC/, /two different values/, /is not a MAC\/IP advertisement/, /incomplete/])
        assert.ok([...outcomes].some((o) => re.test(o)), `${re} among ${[...outcomes].join(' | ')}`);
    });
  });
});

describe('monitoring route target', function () {
  it("parseMonitoringRouteTarget accepts ASN:N with N above every VNI", () => {
    assert.deepStrictEqual(parseMonitoringRouteTarget('65000:268435456'), RT);
    assert.deepStrictEqual(parseMonitoringRouteTarget(' 65000:16777216 '), { kind: 'route-target', format: 'as2', asn: 65000, local: 16_777_216 });
    assert.deepStrictEqual(parseMonitoringRouteTarget('0:4294967295'), { kind: 'route-target', format: 'as2', asn: 0, local: 4_294_967_295 });
    assert.deepStrictEqual(parseMonitoringRouteTarget('65535:268435456'), { kind: 'route-target', format: 'as2', asn: 65535, local: 268_435_456 });
  });

  it('parseMonitoringRouteTarget refuses what an AS:VNI target could be, a 4-octet AS, and non-targets', () => {
    const refused: [string, RegExp][] = [
      ['65000:16777215', /N must be 16777216\.\.4294967295/],
      ['65000:100', /N must be 16777216/],
      ['65000:4294967296', /N must be 16777216\.\.4294967295/],
      ['70000:268435456', /AS 70000 does not fit 2 octets/],
      ['x', /must be ASN:N/],
      ['', /must be ASN:N/],
      ['65000:', /must be ASN:N/],
      ['65000L:268435456', /must be ASN:N/],
      ['192.0.2.1:268435456', /must be ASN:N/],
      ['-1:268435456', /must be ASN:N/],
      ['65000:268435456:1', /must be ASN:N/],
    ];
    for (const [text, re] of refused)
      assert.throws(() => parseMonitoringRouteTarget(text), (err: unknown) => err instanceof RangeError && re.test(err.message) && err.message.includes(`'${text}'`), text);
  });

  it('defaultMonitoringRouteTarget: <AS>:268435456, AS_TRANS for a 4-octet AS', () => {
    assert.equal(DEFAULT_MONITORING_RT_LOCAL, 268_435_456);
    assert.deepStrictEqual(defaultMonitoringRouteTarget(65000), RT);
    assert.deepStrictEqual(defaultMonitoringRouteTarget(65535), { kind: 'route-target', format: 'as2', asn: 65535, local: 268_435_456 });
    assert.deepStrictEqual(defaultMonitoringRouteTarget(65536), { kind: 'route-target', format: 'as2', asn: 23456, local: 268_435_456 });
    assert.deepStrictEqual(defaultMonitoringRouteTarget(4_200_000_000), { kind: 'route-target', format: 'as2', asn: 23456, local: 268_435_456 });
    assert.equal(routeTargetText(defaultMonitoringRouteTarget(4_200_000_000)), '23456:268435456');
    // The text form parses back to the same target.
    for (const as of [1, 65000, 65535, 70000]) assert.deepStrictEqual(parseMonitoringRouteTarget(routeTargetText(defaultMonitoringRouteTarget(as))), defaultMonitoringRouteTarget(as));
  });

  it('hasRouteTarget: only the same 2-octet-AS target', () => {
    const others: ExtCommunity[] = [
      { kind: 'encapsulation', tunnelType: 8 },
      { kind: 'route-target', format: 'as2', asn: 65000, local: 268_435_457 },
      { kind: 'route-target', format: 'as2', asn: 65001, local: 268_435_456 },
      { kind: 'route-target', format: 'as4', asn: 65000, local: 1000 },
      { kind: 'route-target', format: 'ipv4', ip: '192.0.2.1', local: 1 },
      { kind: 'opaque', type: 0x00, subtype: 0x03, value: 'fde810000000' }, // RT bytes under another sub-type
    ];
    assert.equal(hasRouteTarget(undefined, RT), false);
    assert.equal(hasRouteTarget([], RT), false);
    assert.equal(hasRouteTarget(others, RT), false);
    assert.equal(hasRouteTarget([...others, { kind: 'route-target', format: 'as2', asn: 65000, local: 268_435_456 }], RT), true);
    assert.equal(hasRouteTarget([{ ...RT }, ...others], RT), true);
    const as4Rt = { kind: 'route-target', format: 'as4', asn: 65000, local: 268_435_456 & 0xffff } as ExtCommunity;
    assert.equal(hasRouteTarget([as4Rt], RT), false);
  });
});
