// Interop 2: FRR 8.4 as an EVPN VTEP (advertise-all-vni, Linux bridge + VXLAN device, one
// host) peering with our speaker. We must receive and decode its Type-3 and Type-2 routes for
// that host exactly as FRR itself describes them, and follow its withdraws (which carry a
// zeroed ESI and zeroed labels).
import { strict as assert } from 'node:assert';
import { Lab, Netns } from '../../src/lab/netns';
import { FrrInstance, startFrr, vtepBgpdConf } from '../../src/lab/frr';
import { findPing } from '../../src/lab/probe';
import { SpeakerProcess } from '../../src/lab/speaker-process';
import { EvpnInclusiveMulticast, EvpnMacIp } from '../../src/bgp/packet/evpn';
import type { PathJson } from '../../src/bgp/tools/speaker-child';
import { requireRoot } from './support';

const ASN = 65000;
const LEAF = '10.250.2.1';
const SP = '10.250.2.2';
const SVI = '192.168.20.1';
const HOST = { mac: '02:00:00:00:20:11', ip: '192.168.20.11' };

/** Communities compare as sets: FRR sorts them (method.md). */
const asSet = (list: unknown[]) => list.map((x) => JSON.stringify(x, Object.keys(x as object).sort())).sort();
const RT_ET = asSet([
  { kind: 'route-target', format: 'as2', asn: ASN, local: 1 },
  { kind: 'encapsulation', tunnelType: 8 },
]);

interface FrrEvpnRoutes {
  [rd: string]: { [prefix: string]: { paths: { routeType: number; mac?: string; ip?: string; extendedCommunity?: { string: string } }[][] } | string };
}

describe('interop: FRR VTEP (advertise-all-vni) peering with our speaker', function () {
  this.timeout(120_000);
  let lab: Lab;
  let leaf: FrrInstance;
  let sp: SpeakerProcess;
  let leafNs: Netns;
  let host: Netns;

  before(async function () {
    requireRoot();
    const ping = findPing();
    assert.ok(ping, 'ping must be installed (iputils-ping); npm test installs it as root');
    lab = new Lab('vtep');
    leafNs = await lab.addNamespace('leaf');
    const spNs = await lab.addNamespace('sp');
    host = await lab.addNamespace('h1');
    await lab.link(leafNs, `${LEAF}/24`, spNs, `${SP}/24`);
    await lab.addBridge(leafNs, 'br1');
    await lab.addVxlan(leafNs, { name: 'vx1', vni: 1, local: LEAF, dstport: 4789, learning: false });
    await lab.attach(leafNs, 'vx1', 'br1');
    await lab.addAddress(leafNs, 'br1', `${SVI}/24`);
    const port = await lab.link(host, `${HOST.ip}/24`, leafNs, null, { aName: 'eth0', bName: 'h1p', aMac: HOST.mac });
    await lab.attach(leafNs, port.b, 'br1');
    leaf = await startFrr(lab, leafNs, {
      name: 'leaf',
      bgpdConf: vtepBgpdConf({ asn: ASN, routerId: LEAF, hostname: 'leaf', neighbors: [SP], timers: { keepalive: 3, hold: 9 } }),
    });
    sp = await SpeakerProcess.start(spNs, 'sp', {
      routerId: SP,
      localAs: ASN,
      listenAddress: SP,
      neighbors: [{ address: LEAF, remoteAs: ASN, connectRetryTime: 1 }],
      logLevel: 'debug',
    });
    await sp.waitEstablished();
    await leaf.waitEstablished(SP);
    // The host talks to the SVI: the bridge learns its MAC, the ARP entry gives zebra its IP.
    await host.exec([ping!, '-c', '2', '-W', '2', SVI]);
  });

  after(async () => {
    await lab?.destroy();
  });

  const macRoutes = (rib: PathJson[]) => rib.filter((p) => (p.route as EvpnMacIp).type === 2 && (p.route as EvpnMacIp).mac === HOST.mac);

  it('receives the Type-3 (IMET) route with its PMSI tunnel, as FRR describes it', async () => {
    const rib = await sp.waitRib((r) => r.some((p) => (p.route as EvpnInclusiveMulticast).type === 3), 20_000, 'Type-3 from the leaf');
    const imet = rib.find((p) => (p.route as EvpnInclusiveMulticast).type === 3)!;
    const route = imet.route as EvpnInclusiveMulticast;
    assert.equal(route.originatorIp, LEAF);
    assert.equal(route.ethernetTag, 0);
    assert.equal(imet.nextHop, LEAF);
    // FRR's auto RD for VNI 1 is <router-id>:<index>; it must be one FRR lists as its own.
    const frr = await leaf.vtyshJson<FrrEvpnRoutes>('show bgp l2vpn evpn route type multicast json');
    assert.ok(Object.keys(frr).includes(route.rd), `RD ${route.rd} in FRR's ${Object.keys(frr).join(',')}`);
    const attrs = imet.attrs as { pmsiTunnel: unknown; extCommunities: unknown[]; origin: number; localPref: number };
    // RFC 7432 section 11.2 / RFC 8365 section 5.1.3: ingress replication, label = VNI.
    assert.deepEqual(attrs.pmsiTunnel, { flags: 0, tunnelType: 6, label: 1, tunnelIdentifier: LEAF });
    assert.deepEqual(asSet(attrs.extCommunities), RT_ET);
  });

  it('receives the host as a MAC-only and a MAC+IP Type-2 with VNI 1 in label 1', async () => {
    const rib = await sp.waitRib((r) => macRoutes(r).length === 2, 30_000, 'both Type-2 routes for the host');
    const routes = macRoutes(rib).map((p) => p.route as EvpnMacIp);
    const macOnly = routes.find((r) => r.ip === undefined)!;
    const macIp = routes.find((r) => r.ip !== undefined)!;
    assert.ok(macOnly && macIp, JSON.stringify(routes));
    assert.equal(macIp.ip, HOST.ip);
    for (const r of routes) {
      assert.equal(r.label1, 1);
      assert.equal(r.ethernetTag, 0);
      assert.equal(r.esi, '00:00:00:00:00:00:00:00:00:00');
      assert.equal(r.label2, undefined);
    }
    for (const p of macRoutes(rib)) assert.equal(p.nextHop, LEAF);
    // Against FRR's own JSON for the same routes.
    const frr = await leaf.vtyshJson<FrrEvpnRoutes>('show bgp l2vpn evpn route type macip json');
    const entry = frr[macIp.rd];
    assert.ok(entry && typeof entry === 'object', `FRR has RD ${macIp.rd}`);
    const prefixes = Object.keys(entry).filter((k) => k.startsWith('['));
    assert.ok(prefixes.includes(`[2]:[0]:[48]:[${HOST.mac}]`), prefixes.join(' '));
    assert.ok(prefixes.includes(`[2]:[0]:[48]:[${HOST.mac}]:[32]:[${HOST.ip}]`), prefixes.join(' '));
    const frrPath = (entry[`[2]:[0]:[48]:[${HOST.mac}]:[32]:[${HOST.ip}]`] as { paths: { extendedCommunity?: { string: string } }[][] }).paths[0]![0]!;
    assert.deepEqual(frrPath.extendedCommunity?.string.split(' ').sort(), ['ET:8', 'RT:65000:1']);
    const ours = macRoutes(rib).find((p) => (p.route as EvpnMacIp).ip)!.attrs as { extCommunities: unknown[] };
    assert.deepEqual(asSet(ours.extCommunities), RT_ET);
  });

  it('follows FRR withdraws (zeroed ESI and labels) when the host leaves', async () => {
    await leafNs.ip(['link', 'del', 'h1p']);
    await sp.waitRib((r) => macRoutes(r).length === 0, 30_000, 'Type-2 routes withdrawn');
    // The VNI itself is still there: its Type-3 stays.
    const rib = await sp.rib();
    assert.ok(rib.some((p) => (p.route as EvpnInclusiveMulticast).type === 3));
  });
});
