// Interop 1: FRR 8.4 bgpd as EVPN route reflector, two of our speakers as iBGP clients,
// each in its own network namespace. Real sessions, real reflection.
import { strict as assert } from 'node:assert';
import { Lab, Netns } from '../../src/lab/netns';
import { FrrInstance, rrBgpdConf, startFrr } from '../../src/lab/frr';
import { SpeakerProcess } from '../../src/lab/speaker-process';
import { EvpnMacIp } from '../../src/bgp/packet/evpn';
import { ExtCommunity, encodeExtCommunity } from '../../src/bgp/packet/extcommunity';
import { ESI_ZERO } from '../../src/bgp/packet/rd';
import { MONITOR_EC_TYPE, decodeMonitorRoute, defaultMonitoringRouteTarget, encodeMonitorRoute } from '../../src/monitoring/monitor-route';
import { MonitoringSession } from '../../src/monitoring/session';
import { requireRoot } from './support';

const ASN = 65000;
const RR = { id: '10.10.0.1', toS1: '10.10.1.1', toS2: '10.10.2.1' };
const S1 = { id: '10.10.1.2', addr: '10.10.1.2' };
const S2 = { id: '10.10.2.2', addr: '10.10.2.2' };

function speakerConfig(me: { id: string; addr: string }, rrAddr: string) {
  return {
    routerId: me.id,
    localAs: ASN,
    listenAddress: me.addr,
    nextHop: me.addr,
    gracefulRestart: { restartTime: 60 },
    neighbors: [{ address: rrAddr, remoteAs: ASN, connectRetryTime: 1, holdTime: 9 }],
    logLevel: 'debug',
  };
}

// The monitored host in the worked example, as a Type-2 with everything a monitor route carries.
const route: EvpnMacIp = {
  type: 2,
  rd: `${S1.id}:7`,
  esi: ESI_ZERO,
  ethernetTag: 0,
  mac: '00:00:5e:00:53:10',
  ip: '192.0.2.10',
  label1: 1,
};
const ext: ExtCommunity[] = [
  { kind: 'route-target', format: 'as2', asn: ASN, local: 16_777_216 + 7 }, // above 2^24: no ASN:VNI import
  { kind: 'mac-mobility', sequence: 4, sticky: false },
  { kind: 'opaque', type: 0x03, subtype: 0x70, value: '00005e005321' }, // opaque: a MAC
  { kind: 'opaque', type: 0x03, subtype: 0x71, value: '0000c0000215' }, // opaque: an IPv4
  { kind: 'opaque', type: 0x80, subtype: 0x01, value: '000000000001' }, // experimental
  { kind: 'encapsulation', tunnelType: 8 },
];
const large: [number, number, number][] = [[ASN, 1, 1]];

/** FRR sorts and de-duplicates communities: compare as a sorted list of key-sorted JSON. */
const canon = (x: unknown): string =>
  x && typeof x === 'object' && !Array.isArray(x)
    ? `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canon((x as Record<string, unknown>)[k])}`).join(',')}}`
    : JSON.stringify(x);
const sorted = (list: unknown[]) => list.map(canon).sort();

describe('interop: FRR route reflector with two evpn-mirror speakers', function () {
  this.timeout(120_000);
  let lab: Lab;
  let rr: FrrInstance;
  let s1: SpeakerProcess;
  let s2: SpeakerProcess;
  let nsS1: Netns;

  before(async function () {
    requireRoot();
    lab = new Lab('frrrr');
    const nsRr = await lab.addNamespace('rr');
    nsS1 = await lab.addNamespace('s1');
    const nsS2 = await lab.addNamespace('s2');
    await lab.link(nsRr, `${RR.toS1}/30`, nsS1, `${S1.addr}/30`);
    await lab.link(nsRr, `${RR.toS2}/30`, nsS2, `${S2.addr}/30`);
    rr = await startFrr(lab, nsRr, {
      name: 'rr',
      bgpdConf: rrBgpdConf({
        asn: ASN,
        routerId: RR.id,
        clients: [S1.addr, S2.addr],
        timers: { keepalive: 3, hold: 9 },
        extra: ['bgp graceful-restart'],
      }),
    });
    s1 = await SpeakerProcess.start(nsS1, 's1', speakerConfig(S1, RR.toS1));
    s2 = await SpeakerProcess.start(nsS2, 's2', speakerConfig(S2, RR.toS2));
    await s1.waitEstablished();
    await s2.waitEstablished();
    await rr.waitEstablished(S1.addr);
    await rr.waitEstablished(S2.addr);
  });

  after(async () => {
    await lab?.destroy();
  });

  it('sessions establish with EVPN, 4-octet AS, route refresh and graceful restart negotiated', async () => {
    const [st] = await s1.status();
    assert.equal(st!.state, 'Established');
    assert.equal(st!.remoteRouterId, RR.id);
    assert.deepEqual(st!.families, ['l2vpn-evpn']);
    assert.equal(st!.negotiatedHoldTime, 9);
    const nb = await rr.vtyshJson<Record<string, unknown>>(`show bgp neighbors ${S1.addr} json`);
    const info = nb[S1.addr] as { neighborCapabilities?: Record<string, unknown>; gracefulRestartInfo?: unknown };
    assert.ok(info.neighborCapabilities?.['4byteAs'], 'FRR sees the 4-octet AS capability');
    assert.ok(info.neighborCapabilities?.['routeRefresh'], 'FRR sees route refresh');
    assert.ok(JSON.stringify(info.neighborCapabilities).includes('gracefulRestart'), 'FRR sees graceful restart');
  });

  it('a Type-2 with MAC Mobility and opaque communities crosses the reflector with every value intact', async () => {
    await s1.originate(route, { extCommunities: ext, largeCommunities: large });
    const rib = await s2.waitRib((r) => r.some((p) => p.route.toString() !== '' && (p.route as EvpnMacIp).mac === route.mac), 15_000, 'route reflected to s2');
    const p = rib.find((x) => (x.route as EvpnMacIp).mac === route.mac)!;
    assert.deepEqual(p.route, route);
    assert.equal(p.nextHop, S1.addr);
    const attrs = p.attrs as { extCommunities: ExtCommunity[]; largeCommunities: number[][]; originatorId: string; clusterList: string[]; localPref: number; origin: number };
    assert.deepEqual(sorted(attrs.extCommunities), sorted(ext));
    assert.deepEqual(attrs.largeCommunities, large);
    // What the reflector adds (RFC 4456 section 8)
    assert.equal(attrs.originatorId, S1.id);
    assert.deepEqual(attrs.clusterList, [RR.id]);
    assert.equal(attrs.localPref, 100);
    assert.equal(attrs.origin, 0);
    const frr = await rr.vtysh(`show bgp l2vpn evpn route rd ${route.rd} mac ${route.mac} ip ${route.ip} json`);
    // FRR decodes our encoding the same way: VNI from label 1, the RT above 2^24, MM:4.
    assert.match(frr, /MM:4/);
    assert.match(frr, /RT:65000:16777223/);
    assert.match(frr, /"vni":"1"/);
  });

  it('the originator ignores the copy the reflector sends back (ORIGINATOR_ID is ours)', async () => {
    const adj = await s1.adjRibIn(RR.toS1);
    assert.equal(adj.filter((p) => (p.route as EvpnMacIp).mac === route.mac).length, 0);
    const rib = await s1.rib();
    const mine = rib.filter((p) => (p.route as EvpnMacIp).mac === route.mac);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.source, 'local');
  });

  it('an update (higher MAC Mobility sequence) replaces the route at the other client', async () => {
    const moved = ext.map((c) => (c.kind === 'mac-mobility' ? { ...c, sequence: 5 } : c));
    await s1.originate(route, { extCommunities: moved, largeCommunities: large });
    await s2.waitRib((r) => r.some((p) => JSON.stringify(p.attrs).includes('"sequence":5')), 15_000, 'sequence 5 at s2');
  });

  it('a withdraw propagates', async () => {
    assert.equal(await s1.withdraw(route), true);
    await s2.waitRib((r) => !r.some((p) => (p.route as EvpnMacIp).mac === route.mac), 15_000, 'withdraw at s2');
  });

  it('a monitor route (every 0x8e community kind) crosses the reflector and decodes to the same session; its withdraw propagates', async () => {
    const session: MonitoringSession = {
      id: `${S1.id}:1`,
      name: 'web-1',
      origin: 'local',
      vni: 1,
      host: { mac: '00:00:5e:00:53:20', ipv4: '192.0.2.20', ipv6: '2001:db8::20' },
      monitor: { mac: '00:00:5e:00:53:21', ipv4: '198.51.100.21', ipv6: '2001:db8:ffff::21', hostId: 42, vni: 2 },
      direction: 'from-host',
      enabled: true,
    };
    const mr = encodeMonitorRoute(session, defaultMonitoringRouteTarget(ASN));
    const subtypes = mr.extCommunities.filter((c) => c.kind === 'opaque' && c.type === MONITOR_EC_TYPE).map((c) => (c as { subtype: number }).subtype);
    assert.deepEqual(subtypes, [0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x14, 0x15, 0x16], 'every community kind is sent');
    const isOurs = (p: { route: unknown }) => (p.route as EvpnMacIp).rd === session.id;

    await s1.originate(mr.route, { extCommunities: mr.extCommunities });
    const rib = await s2.waitRib((r) => r.some(isOurs), 15_000, 'monitor route reflected to s2');
    const p = rib.find(isOurs)!;
    assert.deepEqual(p.route, mr.route);
    assert.equal(p.nextHop, S1.addr);
    const got = (p.attrs as { extCommunities: ExtCommunity[] }).extCommunities;
    // Every community arrives with its value intact (FRR may reorder them).
    assert.deepEqual(sorted(got), sorted(mr.extCommunities));
    const d = decodeMonitorRoute(p.route as EvpnMacIp, got);
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.deepEqual(d.session, { ...session, origin: 'remote', name: session.id });
    // FRR itself holds it as an ordinary Type-2 with the monitoring route target.
    const frr = await rr.vtysh(`show bgp l2vpn evpn route rd ${session.id} mac ${session.host.mac} ip ${session.host.ipv4} json`);
    assert.match(frr, /RT:65000:268435456/);
    // 0x8e is unknown to FRR 8.4 ("UNK:142, <sub-type>"), yet it keeps and reflects all nine.
    assert.deepEqual([...frr.matchAll(/UNK:142, (\d+)/g)].map((m) => Number(m[1])), subtypes);

    // FRR sorts a received EXTENDED_COMMUNITIES attribute by the 8 encoded bytes and keeps
    // equal values once. Re-advertise with the list reversed and two values repeated (and a
    // LOCAL_PREF to tell the update apart): s2 gets FRR's normalised list and the same session.
    const scrambled = [...mr.extCommunities].reverse();
    scrambled.splice(3, 0, mr.extCommunities[2]!, mr.extCommunities[0]!);
    await s1.originate(mr.route, { extCommunities: scrambled, localPref: 123 });
    const rib2 = await s2.waitRib((r) => r.some((x) => isOurs(x) && (x.attrs as { localPref?: number }).localPref === 123), 15_000, 'scrambled update at s2');
    const got2 = (rib2.find(isOurs)!.attrs as { extCommunities: ExtCommunity[] }).extCommunities;
    const hex = (c: ExtCommunity) => encodeExtCommunity(c).toString('hex');
    const frrForm = [...new Set(scrambled.map(hex))].sort();
    assert.equal(frrForm.length, mr.extCommunities.length);
    assert.deepEqual(got2.map(hex), frrForm, 'FRR sorted and de-duplicated the communities');
    const d2 = decodeMonitorRoute(rib2.find(isOurs)!.route as EvpnMacIp, got2);
    assert.deepEqual(d2, { ok: true, session: { ...session, origin: 'remote', name: session.id } });

    assert.equal(await s1.withdraw(mr.route), true);
    await s2.waitRib((r) => !r.some(isOurs), 15_000, 'monitor route withdrawn at s2');
    const adj = await s2.adjRibIn(RR.toS2);
    assert.equal(adj.filter(isOurs).length, 0);
  });

  it('kill -9 of a speaker and a restart recover: the route comes back', async () => {
    await s1.originate(route, { extCommunities: ext, largeCommunities: large });
    await s2.waitRib((r) => r.some((p) => (p.route as EvpnMacIp).mac === route.mac), 15_000, 'route at s2');
    await s1.kill();
    await rr.waitFor(async (f) => (await f.peerState(S1.addr)) !== 'Established', 30_000, 'RR notices s1 gone');
    // FRR 8.4 is no graceful restart helper for L2VPN EVPN (its FOREACH_AFI_SAFI_NSF stops at
    // MPLS VPN, and EVPN comes after it), so it withdraws our routes while we are away; the
    // restarting-speaker side is proven against GoBGP (test/interop/gobgp.test.ts).
    s1 = await SpeakerProcess.start(nsS1, 's1b', { ...speakerConfig(S1, RR.toS1), restarting: true });
    await s1.originate(route, { extCommunities: ext, largeCommunities: large });
    await s1.waitEstablished();
    const rib = await s2.waitRib((r) => r.some((p) => (p.route as EvpnMacIp).mac === route.mac && !p.stale), 20_000, 'route back at s2');
    assert.deepEqual(sorted((rib.find((p) => (p.route as EvpnMacIp).mac === route.mac)!.attrs as { extCommunities: ExtCommunity[] }).extCommunities), sorted(ext));
  });

  it('kill -9 of FRR bgpd and a restart recover: sessions and routes come back', async () => {
    await rr.bgpd.stop(0);
    await s2.waitRib((r) => !r.some((p) => (p.route as EvpnMacIp).mac === route.mac && !p.stale), 30_000, 'RR loss noticed');
    await rr.restartBgpd();
    await s1.waitEstablished(undefined, 30_000);
    await s2.waitEstablished(undefined, 30_000);
    await s2.waitRib((r) => r.some((p) => (p.route as EvpnMacIp).mac === route.mac && !p.stale), 30_000, 'route re-learned after RR restart');
  });
});
