// Interop 3: GoBGP 3.10 (gobgpd) peering with our speaker. Routes added with the gobgp CLI
// must decode with the same fields GoBGP shows for them; ours must show up correctly in
// `gobgp global rib -a evpn`.
import { strict as assert } from 'node:assert';
import { Lab, Netns } from '../../src/lab/netns';
import { GobgpInstance, startGobgp } from '../../src/lab/gobgp';
import { SpeakerProcess } from '../../src/lab/speaker-process';
import { EvpnRoute } from '../../src/bgp/packet/evpn';
import { ExtCommunity } from '../../src/bgp/packet/extcommunity';
import { ESI_ZERO } from '../../src/bgp/packet/rd';
import type { PathJson } from '../../src/bgp/tools/speaker-child';
import { requireRoot } from './support';

const ASN = 65000;
const GB = '10.250.3.1';
const SP = '10.250.3.2';

/** One path as `gobgp ... -j` prints it. */
interface GobgpPath {
  nlri: { type: number; value: Record<string, unknown> };
  attrs: ({ type: number } & Record<string, unknown>)[];
  stale?: boolean;
}

async function gobgpRib(g: GobgpInstance, args: string[]): Promise<GobgpPath[]> {
  const j = await g.cliJson<Record<string, GobgpPath[]> | GobgpPath[] | null>(args);
  if (!j) return [];
  return Array.isArray(j) ? j : Object.values(j).flat();
}

/** GoBGP's RD JSON ({type, admin, assigned}) in our text form. */
function gobgpRd(rd: unknown): string {
  const r = rd as { type: number; admin: string | number; assigned: number };
  if (r.type === 2 && Number(r.admin) <= 0xffff) return `${r.admin}L:${r.assigned}`;
  return `${r.admin}:${r.assigned}`;
}

/** GoBGP's ESI text in our form (RFC 7432 section 5 layouts of the types used here). */
function gobgpEsi(text: unknown): string {
  const t = String(text);
  const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0').match(/../g)!;
  if (t === 'single-homed') return ESI_ZERO;
  let m = /^ESI_LACP \| system mac ([0-9a-f:]{17}), port key (\d+)$/.exec(t);
  if (m) return ['01', ...m[1]!.split(':'), ...hex(Number(m[2]), 2), '00'].join(':');
  m = /^ESI_ROUTERID \| router id ([\d.]+), local discriminator (\d+)$/.exec(t);
  if (m) return ['04', ...m[1]!.split('.').map((x) => hex(Number(x), 1)[0]!), ...hex(Number(m[2]), 4), '00'].join(':');
  throw new Error(`ESI text not handled by this test: ${t}`);
}

/** The fields GoBGP shows for an NLRI, in our route's terms. */
function fromGobgp(n: GobgpPath['nlri']): Record<string, unknown> {
  const v = n.value;
  const out: Record<string, unknown> = { type: n.type, rd: gobgpRd(v['rd']) };
  if (v['etag'] !== undefined) out['ethernetTag'] = v['etag'];
  if (v['esi'] !== undefined) out['esi'] = gobgpEsi(v['esi']);
  if (n.type === 1) out['label'] = v['label'];
  if (n.type === 4) out['originatorIp'] = v['ip'];
  if (n.type === 2) {
    out['mac'] = v['mac'];
    if (v['ip'] !== undefined && v['ip'] !== '0.0.0.0' && v['ip'] !== '<nil>') out['ip'] = v['ip'];
    out['labels'] = v['labels'];
  }
  if (n.type === 3) out['originatorIp'] = v['ip'];
  if (n.type === 5) {
    out['prefix'] = v['prefix'];
    out['gatewayIp'] = v['gateway'];
    out['label'] = v['label'];
  }
  return out;
}

function fromOurs(r: EvpnRoute): Record<string, unknown> {
  const out: Record<string, unknown> = { type: r.type, rd: r.rd };
  if ('ethernetTag' in r) out['ethernetTag'] = r.ethernetTag;
  if ('esi' in r) out['esi'] = r.esi;
  if (r.type === 1) out['label'] = r.label;
  if (r.type === 4) out['originatorIp'] = r.originatorIp;
  if (r.type === 2) {
    out['mac'] = r.mac;
    if (r.ip !== undefined) out['ip'] = r.ip;
    out['labels'] = r.label2 === undefined ? [r.label1] : [r.label1, r.label2];
  }
  if (r.type === 3) out['originatorIp'] = r.originatorIp;
  if (r.type === 5) {
    out['prefix'] = r.prefix;
    out['gatewayIp'] = r.gatewayIp;
    out['label'] = r.label;
  }
  return out;
}

/** GoBGP's extended community JSON in our terms (the kinds these routes carry). */
function ecFromGobgp(c: Record<string, unknown>): unknown {
  const t = c['type'];
  const st = c['subtype'];
  if (st === 2 && (t === 0 || t === 1 || t === 2)) {
    const [g, l] = String(c['value']).split(/:(?=[^:]*$)/);
    if (t === 1) return { kind: 'route-target', format: 'ipv4', ip: g, local: Number(l) };
    return { kind: 'route-target', format: t === 0 ? 'as2' : 'as4', asn: Number(g), local: Number(l) };
  }
  if (t === 3 && st === 12) return { kind: 'encapsulation', tunnelType: c['tunnel_type'] };
  if (t === 6 && st === 0) return { kind: 'mac-mobility', sequence: c['sequence'], sticky: c['is_sticky'] === true };
  if (t === 6 && st === 3) return { kind: 'router-mac', mac: c['mac'] };
  return { other: c };
}

const key = (x: unknown) => JSON.stringify(x, Object.keys(x as object).sort());

const spConfig = (restarting = false) => ({
  routerId: SP,
  localAs: ASN,
  listenAddress: SP,
  restarting,
  gracefulRestart: { restartTime: 60 },
  neighbors: [{ address: GB, remoteAs: ASN, connectRetryTime: 1 }],
  logLevel: 'debug',
});

/** GoBGP (graceful restart on) and our speaker, each in a namespace, session Established. */
async function gobgpPeering(labName: string): Promise<{ lab: Lab; g: GobgpInstance; sp: SpeakerProcess; spNs: Netns }> {
  requireRoot();
  const lab = new Lab(labName);
  try {
    const gbNs = await lab.addNamespace('gb');
    const spNs = await lab.addNamespace('sp');
    await lab.link(gbNs, `${GB}/24`, spNs, `${SP}/24`);
    const g = await startGobgp(lab, gbNs, { asn: ASN, routerId: GB, neighbors: [{ address: SP, asn: ASN, families: ['l2vpn-evpn'], gracefulRestart: true }] });
    const sp = await SpeakerProcess.start(spNs, 'sp', spConfig());
    await sp.waitEstablished();
    await g.waitEstablished(SP);
    return { lab, g, sp, spNs };
  } catch (err) {
    await lab.destroy(); // the caller never got the lab: clean it here
    throw err;
  }
}

describe('interop: GoBGP peering with our speaker', function () {
  this.timeout(120_000);
  let lab: Lab;
  let g: GobgpInstance;
  let sp: SpeakerProcess;

  before(async function () {
    ({ lab, g, sp } = await gobgpPeering('gobgp'));
  });

  after(async () => {
    await lab?.destroy();
  });

  const cliRoutes: { what: string; args: string[] }[] = [
    { what: 'Type-1 A-D', args: ['a-d', 'esi', 'LACP', 'aa:bb:cc:dd:ee:ff', '100', 'etag', '200', 'label', '300', 'rd', `${GB}:101`, 'rt', '65000:200', 'encap', 'vxlan'] },
    { what: 'Type-2 MAC+IPv4, two labels', args: ['macadv', '02:00:00:00:aa:02', '192.168.10.202', 'etag', '0', 'label', '1,2', 'rd', `${GB}:202`, 'rt', '65000:1', 'encap', 'vxlan'] },
    { what: 'Type-2 MAC+IPv6, router MAC', args: ['macadv', '02:00:00:00:aa:05', '2001:db8::205', 'etag', '0', 'label', '1', 'rd', `${GB}:205`, 'rt', '65000:1', 'encap', 'vxlan', 'router-mac', '02:00:00:00:aa:fe'] },
    { what: 'Type-2 type-0 RD, Ethernet Tag 7', args: ['macadv', '02:00:00:00:aa:07', '192.168.10.207', 'etag', '7', 'label', '1', 'rd', '65000:207', 'rt', '65000:1', 'encap', 'vxlan'] },
    { what: 'Type-3 IMET with PMSI', args: ['multicast', GB, 'etag', '0', 'rd', `${GB}:301`, 'rt', '65000:1', 'encap', 'vxlan', 'pmsi', 'ingress-repl', '1', GB] },
    { what: 'Type-4 ES', args: ['esi', GB, 'esi', 'ROUTERID', GB, '7', 'rd', `${GB}:402`] },
    { what: 'Type-5 IPv4 prefix', args: ['prefix', '10.99.0.0/24', 'etag', '0', 'label', '5000', 'rd', `${GB}:501`, 'rt', '65000:5000', 'encap', 'vxlan'] },
    { what: 'Type-5 IPv6 prefix', args: ['prefix', '2001:db8:1::/48', 'etag', '0', 'label', '5000', 'rd', `${GB}:503`, 'rt', '65000:5000', 'encap', 'vxlan'] },
  ];

  it('decodes routes of every type added with the gobgp CLI with the fields GoBGP shows', async () => {
    for (const r of cliRoutes) await g.cli(['global', 'rib', '-a', 'evpn', 'add', ...r.args]);
    const theirs = await gobgpRib(g, ['global', 'rib', '-a', 'evpn', '-j']);
    assert.equal(theirs.length, cliRoutes.length, 'GoBGP holds every CLI route');
    const rib = await sp.waitRib((x) => x.length === cliRoutes.length, 20_000, 'all GoBGP routes');
    const ours = new Map(rib.map((p) => [key(fromOurs(p.route as EvpnRoute)), p] as const));
    for (const t of theirs) {
      const want = fromGobgp(t.nlri);
      const p: PathJson | undefined = ours.get(key(want));
      assert.ok(p, `GoBGP route ${JSON.stringify(want)} decoded by us; ours: ${[...ours.keys()].join('\n')}`);
      assert.equal(p.nextHop, GB);
      // Extended communities GoBGP attached, compared as sets.
      const ecAttr = t.attrs.find((a) => a.type === 16);
      const theirEc = ((ecAttr?.['value'] as Record<string, unknown>[] | undefined) ?? []).map(ecFromGobgp);
      const ourEc = ((p.attrs['extCommunities'] as ExtCommunity[] | undefined) ?? []).filter((c) => c.kind !== 'opaque' || c.type !== 6);
      assert.deepEqual(ourEc.map(key).sort(), theirEc.filter((c) => !('other' in (c as object))).map(key).sort(), `communities of ${JSON.stringify(want)}`);
      const pmsi = t.attrs.find((a) => a.type === 22);
      if (pmsi) assert.deepEqual(p.attrs['pmsiTunnel'], { flags: 0, tunnelType: pmsi['tunnel-type'], label: pmsi['label'], tunnelIdentifier: pmsi['tunnel-id'] });
    }
  });

  it('follows a withdraw made with the gobgp CLI', async () => {
    await g.cli(['global', 'rib', '-a', 'evpn', 'del', ...cliRoutes[1]!.args]);
    await sp.waitRib((x) => x.length === cliRoutes.length - 1 && !x.some((p) => JSON.stringify(p.route).includes('02:00:00:00:aa:02')), 20_000, 'withdraw');
  });

  it('our Type-2 (with MAC Mobility) and Type-3 show up correctly in gobgp global rib -a evpn', async () => {
    const t2: EvpnRoute = { type: 2, rd: `${SP}:9`, esi: ESI_ZERO, ethernetTag: 0, mac: '02:00:00:00:bb:01', ip: '192.168.30.1', label1: 42 };
    const t3: EvpnRoute = { type: 3, rd: `${SP}:9`, ethernetTag: 0, originatorIp: SP };
    const ec: ExtCommunity[] = [
      { kind: 'route-target', format: 'as2', asn: ASN, local: 42 },
      { kind: 'encapsulation', tunnelType: 8 },
      { kind: 'mac-mobility', sequence: 3, sticky: true },
    ];
    await sp.originate(t2, { extCommunities: ec });
    await sp.originate(t3, { extCommunities: ec.slice(0, 2), pmsiTunnel: { flags: 0, tunnelType: 6, label: 42, tunnelIdentifier: SP } });
    const found = await g.waitFor(
      async (x) => {
        const rib = await gobgpRib(x, ['global', 'rib', '-a', 'evpn', '-j']);
        const mine = rib.filter((p) => gobgpRd(p.nlri.value['rd']) === `${SP}:9`);
        return mine.length === 2 ? mine : undefined;
      },
      20_000,
      'our routes in GoBGP',
    );
    const byType = new Map(found.map((p) => [p.nlri.type, p]));
    assert.deepEqual(fromGobgp(byType.get(2)!.nlri), fromOurs(t2));
    assert.deepEqual(fromGobgp(byType.get(3)!.nlri), fromOurs(t3));
    const ecs = (byType.get(2)!.attrs.find((a) => a.type === 16)!['value'] as Record<string, unknown>[]).map(ecFromGobgp);
    assert.deepEqual(ecs.map(key).sort(), ec.map(key).sort());
    const pmsi = byType.get(3)!.attrs.find((a) => a.type === 22)!;
    assert.equal(pmsi['tunnel-type'], 6);
    assert.equal(pmsi['label'], 42);
    assert.equal(pmsi['tunnel-id'], SP);
    const mp = byType.get(2)!.attrs.find((a) => a.type === 14)!;
    assert.equal(mp['nexthop'], SP);
  });

  it('our withdraw removes the route from GoBGP', async () => {
    await sp.withdraw({ type: 2, rd: `${SP}:9`, esi: ESI_ZERO, ethernetTag: 0, mac: '02:00:00:00:bb:01', ip: '192.168.30.1', label1: 42 });
    await g.waitFor(
      async (x) => {
        const rib = await gobgpRib(x, ['global', 'rib', '-a', 'evpn', '-j']);
        return rib.filter((p) => gobgpRd(p.nlri.value['rd']) === `${SP}:9`).length === 1;
      },
      20_000,
      'withdraw in GoBGP',
    );
  });

});

// A GoBGP of its own: GoBGP 3.10 panics (nil dereference in TableManager.handleMacMobility,
// table_manager.go:257) when a refreshed Type-2 arrives after a peer restart while its
// global RIB also holds Type-2 routes added with its CLI (measured here: gobgpd exits 2).
// That is GoBGP's bug, not a property of our messages, so this test keeps the RIB to ours.
describe('interop: graceful restart with GoBGP as helper (RFC 4724)', function () {
  this.timeout(120_000);
  let lab: Lab;
  let g: GobgpInstance;
  let sp: SpeakerProcess;
  let spNs: Netns;

  before(async function () {
    ({ lab, g, sp, spNs } = await gobgpPeering('gobgpgr'));
  });

  after(async () => {
    await lab?.destroy();
  });

  it('graceful restart: GoBGP keeps our routes stale across kill -9, our restarted speaker refreshes them and End-of-RIB sweeps the rest', async () => {
    const keep: EvpnRoute = { type: 2, rd: `${SP}:10`, esi: ESI_ZERO, ethernetTag: 0, mac: '02:00:00:00:cc:01', ip: '192.168.40.1', label1: 7 };
    const drop: EvpnRoute = { type: 2, rd: `${SP}:10`, esi: ESI_ZERO, ethernetTag: 0, mac: '02:00:00:00:cc:02', ip: '192.168.40.2', label1: 7 };
    await sp.originate(keep);
    await sp.originate(drop);
    const ours = async (x: GobgpInstance) => (await gobgpRib(x, ['global', 'rib', '-a', 'evpn', '-j'])).filter((p) => gobgpRd(p.nlri.value['rd']) === `${SP}:10`);
    await g.waitFor(async (x) => ((await ours(x)).length === 2 ? true : undefined), 20_000, 'both routes in GoBGP');
    await sp.kill(); // no NOTIFICATION: the helper must keep our routes (RFC 4724 section 4.2)
    await g.waitFor(async (x) => ((await x.neighborState(SP)) !== 'ESTABLISHED' ? true : undefined), 30_000, 'GoBGP notices');
    const stale = await ours(g);
    assert.equal(stale.length, 2, 'GoBGP keeps both routes while we restart');
    assert.ok(stale.every((p) => p.stale === true), `marked stale: ${JSON.stringify(stale.map((p) => p.stale))}`);
    // Restart (R bit), re-originate one of the two, then End-of-RIB: GoBGP drops the other.
    sp = await SpeakerProcess.start(spNs, 'sp2', spConfig(true));
    await sp.originate(keep);
    await sp.waitEstablished();
    const after = await g.waitFor(async (x) => {
      const r = await ours(x);
      return r.length === 1 && r.every((p) => !p.stale) ? r : undefined;
    }, 30_000, 'refreshed route kept, the other swept');
    assert.equal(after[0]!.nlri.value['mac'], '02:00:00:00:cc:01');
  });
});
