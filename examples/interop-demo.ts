#!/usr/bin/env node
// The interop demo (`npm run demo`): builds a small EVPN control plane in network namespaces,
// an FRR 8.4 route reflector with two evpn-mirror BGP speakers (the agents of VTEP101 and
// VTEP104 of the worked example) and GoBGP as a third client, then floods a monitoring
// route for host VM210 the way the agent will, moves it, withdraws it, and tears everything
// down. Every step prints what each peer sees. Ctrl-C tears down too.
import { Lab } from '../src/lab/netns';
import { rrBgpdConf, startFrr } from '../src/lab/frr';
import { startGobgp } from '../src/lab/gobgp';
import { SpeakerProcess } from '../src/lab/speaker-process';
import { waitUntil } from '../src/lab/exec';
import { EvpnMacIp, evpnRouteToString } from '../src/bgp/packet/evpn';
import { ExtCommunity, extCommunityToString } from '../src/bgp/packet/extcommunity';
import { ESI_ZERO } from '../src/bgp/packet/rd';
import type { PathJson } from '../src/bgp/tools/speaker-child';

const ASN = 65000;
const RR = '10.0.0.1';
const V101 = { ns: 'vtep101', rrSide: '10.0.101.1', addr: '10.0.101.2' };
const V104 = { ns: 'vtep104', rrSide: '10.0.104.1', addr: '10.0.104.2' };
const GB = { rrSide: '10.0.200.1', addr: '10.0.200.2' };

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
let stepNo = 0;
const step = (s: string) => process.stdout.write(`\n${bold(`[${++stepNo}] ${s}`)}\n`);
const say = (s: string) => process.stdout.write(`    ${s}\n`);

// VM210 in VXLAN 1, monitored; copies to SERV21 (HOST-ID 1). The monitor server's MAC, IP
// and HOST-ID ride in opaque extended communities (the codec of the monitoring issue will
// give them names); the route target sits above 2^24 so no VTEP's ASN:VNI import takes it.
const vm210: EvpnMacIp = { type: 2, rd: `${V101.addr}:1`, esi: ESI_ZERO, ethernetTag: 0, mac: '00:00:5e:00:02:10', ip: '192.0.2.210', label1: 1 };
const communities = (seq: number): ExtCommunity[] => [
  { kind: 'route-target', format: 'as2', asn: ASN, local: 16_777_216 + 1 },
  { kind: 'mac-mobility', sequence: seq, sticky: false },
  { kind: 'opaque', type: 0x03, subtype: 0x70, value: '00005e000221' },
  { kind: 'opaque', type: 0x03, subtype: 0x71, value: '0000c0000215' },
  { kind: 'opaque', type: 0x03, subtype: 0x72, value: '000000000001' },
];

function describe(p: PathJson): string {
  const ec = ((p.attrs['extCommunities'] as ExtCommunity[] | undefined) ?? []).map(extCommunityToString).join(' ');
  return `${p.route && evpnRouteToString(p.route as EvpnMacIp)} rd ${(p.route as EvpnMacIp).rd} via ${p.nextHop}  [${ec}]`;
}

async function main(): Promise<void> {
  const lab = new Lab('demo');
  try {
    step('Building namespaces: rr (FRR route reflector), vtep101 and vtep104 (evpn-mirror speakers), gobgp');
    const rrNs = await lab.addNamespace('rr');
    const n101 = await lab.addNamespace(V101.ns);
    const n104 = await lab.addNamespace(V104.ns);
    const gbNs = await lab.addNamespace('gobgp');
    await lab.link(rrNs, `${V101.rrSide}/30`, n101, `${V101.addr}/30`);
    await lab.link(rrNs, `${V104.rrSide}/30`, n104, `${V104.addr}/30`);
    await lab.link(rrNs, `${GB.rrSide}/30`, gbNs, `${GB.addr}/30`);
    say(`namespaces: ${lab.namespaceNames.join(', ')}`);

    step('Starting FRR 8.4 (zebra + bgpd) as the EVPN route reflector');
    const rr = await startFrr(lab, rrNs, {
      name: 'rr',
      bgpdConf: rrBgpdConf({ asn: ASN, routerId: RR, clients: [V101.addr, V104.addr, GB.addr], timers: { keepalive: 3, hold: 9 }, extra: ['bgp graceful-restart'] }),
    });
    say('bgpd answers on its vty');

    step('Starting the evpn-mirror BGP speakers of VTEP101 and VTEP104, and GoBGP');
    const mk = (ns: typeof n101, v: typeof V101, name: string) =>
      SpeakerProcess.start(ns, name, { routerId: v.addr, localAs: ASN, listenAddress: v.addr, nextHop: v.addr, neighbors: [{ address: v.rrSide, remoteAs: ASN, connectRetryTime: 1, holdTime: 9 }], logLevel: 'warn' });
    const s101 = await mk(n101, V101, 'vtep101');
    const s104 = await mk(n104, V104, 'vtep104');
    const g = await startGobgp(lab, gbNs, { asn: ASN, routerId: GB.addr, neighbors: [{ address: GB.rrSide, asn: ASN, families: ['l2vpn-evpn'] }] });
    await s101.waitEstablished();
    await s104.waitEstablished();
    await g.waitEstablished(GB.rrSide);
    const summary = await rr.evpnSummary();
    for (const [peer, st] of Object.entries(summary.peers ?? {})) say(`FRR sees ${peer}: ${st.state}`);

    step('VTEP101 floods the monitoring session for VM210 as an EVPN Type-2 route (MAC Mobility sequence 0)');
    await s101.originate(vm210, { extCommunities: communities(0) });
    const at104 = await s104.waitRib((r) => r.some((p) => (p.route as EvpnMacIp).mac === vm210.mac), 15_000, 'route at vtep104');
    say(`vtep104 received: ${describe(at104.find((p) => (p.route as EvpnMacIp).mac === vm210.mac)!)}`);
    const frr = await rr.vtysh(`show bgp l2vpn evpn route rd ${vm210.rd} mac ${vm210.mac} ip ${vm210.ip}`);
    say('FRR route reflector:');
    for (const line of frr.split('\n').filter((l) => /Route|Extended Community|from|Local|VNI/.test(l)).slice(0, 6)) say(`  ${line.trim()}`);
    const gb = await waitUntil(async () => {
      const out = await g.cli(['global', 'rib', '-a', 'evpn']);
      return out.includes(vm210.mac) ? out : undefined;
    }, { timeoutMs: 15_000, what: 'route at GoBGP' });
    say('GoBGP (gobgp global rib -a evpn):');
    for (const line of gb.split('\n').filter((l) => l.trim())) say(`  ${line}`);

    step('VM210 moves: the route is re-advertised with MAC Mobility sequence 1 (RFC 7432 section 15)');
    await s101.originate(vm210, { extCommunities: communities(1) });
    const moved = await s104.waitRib((r) => r.some((p) => JSON.stringify(p.attrs).includes('"sequence":1')), 15_000, 'sequence 1 at vtep104');
    say(`vtep104 now holds: ${describe(moved.find((p) => (p.route as EvpnMacIp).mac === vm210.mac)!)}`);

    step('The session is deleted: VTEP101 withdraws the route');
    await s101.withdraw(vm210);
    await s104.waitRib((r) => !r.some((p) => (p.route as EvpnMacIp).mac === vm210.mac), 15_000, 'withdraw at vtep104');
    await waitUntil(async () => !(await g.cli(['global', 'rib', '-a', 'evpn'])).includes(vm210.mac), { timeoutMs: 15_000, what: 'withdraw at GoBGP' });
    say('gone from vtep104, from FRR and from GoBGP');

    step('Tearing down');
  } finally {
    await lab.destroy();
  }
  say('no namespace or process of the demo is left');
  process.stdout.write('\ndemo complete\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
