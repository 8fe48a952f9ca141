// Acceptance of the Linux switch driver with real packets (issue 5): a fabric of 4 VTEPs in
// network namespaces (bridge br1 + tenant vxlan vx1 VNI 1 + the mirror tunnel devices,
// underlay on veth through one underlay bridge), hosts on access ports, the monitor server
// SERV21 capturing with tcpdump. The entries are the worked example's, computed by the
// monitoring core (SimFabric) for each VTEP and installed by one LinuxMirrorDriver per VTEP
// namespace through a Reconciler: the initial stage, VM210 moving 101 -> 102 (2) and SERV21
// moving 104 -> 103 (2b), each checked on real packets; then crash, failure and heal cases
// (3, 4a-4c) on the VTEP where SERV21 is by then. Needs root.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Lab, LabProcess, Netns } from '../../src/lab/netns';
import { run, sleep, waitUntil } from '../../src/lab/exec';
import { sendGarp } from '../../src/lab/fabric';
import { LinuxMirrorDriver } from '../../src/dataplane/linux/driver';
import { FdbEvent, FdbWatcher } from '../../src/dataplane/linux/fdb-watch';
import { CommandRunner, netnsRunner } from '../../src/dataplane/linux/runner';
import { txDeviceName } from '../../src/dataplane/linux/nft-gen';
import { MirrorEntry, entryText } from '../../src/monitoring/entries';
import { Reconciler } from '../../src/monitoring/reconcile';
import { MIRROR_VNI, SimFabric } from '../support/fabric-sim';
import { requireRoot } from './support';
import { createLogger } from '../../src/util/log';

const V = { 101: '192.0.2.101', 102: '192.0.2.102', 103: '192.0.2.103', 104: '192.0.2.104' } as const;
type VtepNo = keyof typeof V;
const MIRROR_PORT = 4792;
const HOSTS = {
  VM210: { mac: '02:00:00:00:02:10', ipv4: '10.1.0.210', vtep: 101 as VtepNo, port: 'vm210' },
  VM220: { mac: '02:00:00:00:02:20', ipv4: '10.1.0.220', vtep: 101 as VtepNo, port: 'vm220' },
  VM230: { mac: '02:00:00:00:02:30', ipv4: '10.1.0.230', vtep: 103 as VtepNo, port: 'vm230' },
  SERV21: { mac: '02:00:00:00:00:21', ipv4: '10.1.0.21', vtep: 104 as VtepNo, port: 'serv21' },
};
type HostName = keyof typeof HOSTS;

const UDP_SEND = `
const d = require('node:dgram').createSocket('udp4');
const [addr, tag, n] = process.argv.slice(1);
let i = 0;
const t = setInterval(() => { d.send(tag + '-' + (++i), 5000, addr); if (i >= Number(n)) { clearInterval(t); setTimeout(() => process.exit(0), 100); } }, 4);
`;

describe('Linux mirror driver: 4-VTEP fabric with real packets (interop, root)', function () {
  this.timeout(60_000);
  before(requireRoot);

  let lab: Lab;
  const vtepNs = new Map<VtepNo, Netns>();
  const hostNs = new Map<HostName, Netns>();
  const hostIf = new Map<HostName, string>();
  const drivers = new Map<string, LinuxMirrorDriver>();
  const reconcilers = new Map<string, Reconciler>();
  const failNft = new Map<string, string[]>();
  let f: SimFabric;
  /** Where the monitor server SERV21 is (moves to 103 in 2b). */
  let servAt: VtepNo = 104;

  /** Runs in a VTEP namespace; a queued message makes the next `nft -f` fail with it (injection). */
  function runnerFor(ns: Netns, vtep: string): CommandRunner {
    const inner = netnsRunner(ns.name);
    return {
      where: inner.where,
      run: async (argv, opts) => {
        const q = failNft.get(vtep);
        if (argv[0] === 'nft' && argv[1] === '-f' && q?.length) return { code: 1, stdout: '', stderr: q.shift()! };
        return inner.run(argv, opts);
      },
    };
  }

  async function sync(): Promise<void> {
    for (const [vtep, core] of f.cores) await reconcilers.get(vtep)!.update(core.takeChanges());
    for (const [vtep, r] of reconcilers) {
      await r.idle();
      const have = (await drivers.get(vtep)!.installed()).map(entryText).sort();
      const want = [...f.entries(vtep).values()].map(entryText).sort();
      assert.deepEqual(have, want, `kernel state of ${vtep} equals the desired entries`);
    }
  }

  async function linkHost(name: HostName, vtep: VtepNo, hostIfname: string): Promise<void> {
    const h = HOSTS[name];
    const ns = hostNs.get(name)!;
    const v = vtepNs.get(vtep)!;
    const l = await lab.link(ns, `${h.ipv4}/24`, v, null, { aName: hostIfname, bName: h.port, aMac: h.mac });
    hostIf.set(name, l.a);
    await lab.attach(v, h.port, 'br1');
    if (name === 'SERV21') await v.exec(['bridge', 'link', 'set', 'dev', h.port, 'flood', 'off']);
  }

  async function capture(ns: Netns, ifname: string, file: string, filter: string[]): Promise<LabProcess> {
    const log = `${ns.short}-${ifname}-tcpdump.log`;
    const p = ns.spawn(['tcpdump', '-i', ifname, '-nn', '--immediate-mode', '-U', '-w', lab.file(file), ...filter], { name: 'tcpdump', log });
    await waitUntil(() => fs.existsSync(lab.file(log)) && fs.readFileSync(lab.file(log), 'utf8').includes('listening on'), { timeoutMs: 10_000, intervalMs: 50, what: 'tcpdump to start' });
    await sleep(200);
    return p;
  }

  interface Seen {
    src: string;
    dst: string;
    kind: string;
  }

  async function readCapture(file: string): Promise<Seen[]> {
    const r = await run(['tshark', '-r', lab.file(file), '-Y', 'icmp.type==8 || icmp.type==0 || (udp.dstport==5000 && !icmp)', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type', '-e', 'icmp.ident', '-e', 'icmp.seq', '-e', 'data.data']);
    return r.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [src, dst, type, ident, seq, data] = l.split('\t');
        const kind = type ? `icmp${type === '8' ? 'req' : 'rep'}:${ident}:${seq}` : `udp:${Buffer.from(data ?? '', 'hex').toString()}`;
        return { src: src!, dst: dst!, kind };
      });
  }

  /** Sends pings and UDP to/from VM210 (and traffic not involving it); SERV21 must see every
   * packet from/to VM210 exactly once and nothing else. */
  async function trafficExactlyOnce(tag: string): Promise<void> {
    const file = `serv21-${tag}.pcap`;
    const cap = await capture(hostNs.get('SERV21')!, hostIf.get('SERV21')!, file, ['icmp or udp']);
    const ping = (from: HostName, to: HostName, n: number) =>
      hostNs.get(from)!.exec(['ping', '-n', '-q', '-c', String(n), '-i', '0.02', '-W', '1', HOSTS[to].ipv4], { allowFail: true });
    const p1 = await ping('VM210', 'VM230', 20);
    const p2 = await ping('VM220', 'VM210', 10);
    const p3 = await ping('VM230', 'VM220', 5); // not monitored
    await hostNs.get('VM230')!.exec([process.execPath, '-e', UDP_SEND, HOSTS.VM210.ipv4, `${tag}-in`, '30']);
    await hostNs.get('VM210')!.exec([process.execPath, '-e', UDP_SEND, HOSTS.VM220.ipv4, `${tag}-out`, '30']);
    for (const p of [p1, p2, p3]) assert.match(p.stdout, / 0% packet loss/, p.stdout);
    await sleep(300);
    await cap.stop();
    const seen = await readCapture(file);
    const count = new Map<string, number>();
    for (const s of seen) {
      assert.ok(s.src === HOSTS.VM210.ipv4 || s.dst === HOSTS.VM210.ipv4, `SERV21 got a copy not from/to VM210: ${JSON.stringify(s)}`);
      count.set(s.kind, (count.get(s.kind) ?? 0) + 1);
    }
    const twice = [...count].filter(([, c]) => c !== 1);
    assert.deepEqual(twice, [], 'every packet exactly once');
    const kinds = [...count.keys()];
    const n = (re: RegExp) => kinds.filter((k) => re.test(k)).length;
    // 20 requests + 20 replies VM210<->VM230, 10 + 10 VM220->VM210, 30 + 30 UDP datagrams.
    if (n(/^icmp/) !== 60) assert.fail(`ICMP copies: ${n(/^icmp/)}: ${kinds.filter((k) => k.startsWith('icmp')).sort().join(' ')}`);
    const diag = async () => {
      const out: Record<string, unknown> = {};
      for (const [v, d] of drivers) out[v] = { entries: Object.fromEntries(await d.counters()), global: await d.globalCounters() };
      return JSON.stringify(out);
    };
    const missing = (prefix: string) => Array.from({ length: 30 }, (_, i) => `udp:${prefix}-${i + 1}`).filter((k) => !count.has(k));
    if (n(new RegExp(`^udp:${tag}-in-`)) !== 30 || n(new RegExp(`^udp:${tag}-out-`)) !== 30)
      assert.fail(`UDP copies missing: ${missing(`${tag}-in`).join(',')} / ${missing(`${tag}-out`).join(',')}; counters ${await diag()}`);
  }

  before(async function () {
    lab = new Lab('dp');
    const ul = await lab.addNamespace('ul');
    await lab.addBridge(ul, 'ulbr');
    for (const no of [101, 102, 103, 104] as VtepNo[]) {
      const ns = await lab.addNamespace(`v${no}`);
      vtepNs.set(no, ns);
      const l = await lab.link(ns, `${V[no]}/24`, ul, null, { aName: 'ul', bName: `v${no}` });
      await lab.attach(ul, l.b, 'ulbr');
      await lab.addBridge(ns, 'br1');
      await lab.addVxlan(ns, { name: 'vx1', vni: 1, local: V[no], dstport: 4789, learning: true });
      await lab.attach(ns, 'vx1', 'br1');
      for (const other of [101, 102, 103, 104] as VtepNo[])
        if (other !== no) await ns.exec(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx1', 'dst', V[other]]);
    }
    for (const name of Object.keys(HOSTS) as HostName[]) {
      hostNs.set(name, await lab.addNamespace(name.toLowerCase()));
      await linkHost(name, HOSTS[name].vtep, 'eth0');
    }
    f = new SimFabric(Object.values(V));
    for (const name of Object.keys(HOSTS) as HostName[]) {
      const h = HOSTS[name];
      f.addHost({ name, mac: h.mac, ipv4: h.ipv4, vni: 1, vtep: V[h.vtep], port: h.port });
    }
    for (const no of [101, 102, 103, 104] as VtepNo[]) {
      const d = new LinuxMirrorDriver({
        runner: runnerFor(vtepNs.get(no)!, V[no]),
        vtepIp: V[no],
        mirrorVni: MIRROR_VNI,
        mirrorPort: MIRROR_PORT,
        bridges: { 1: 'br1' },
        healIntervalMs: 0,
        ...(no === 104 && process.env.EM_DP_DEBUG ? { logger: createLogger({ level: 'debug' }) } : {}),
      });
      await d.start();
      drivers.set(V[no], d);
      reconcilers.set(V[no], new Reconciler(d, () => f.core(V[no]).engine.desired(), { retryMinMs: 50, retryMaxMs: 400, ...(no === 104 && process.env.EM_DP_DEBUG ? { logger: createLogger({ level: 'debug' }) } : {}) }));
    }
    for (const r of reconcilers.values()) await r.resync();
    // Every host talks once so bridges and tenant vxlan devices know where everyone is.
    for (const name of Object.keys(HOSTS) as HostName[]) await hostNs.get(name)!.exec(['ping', '-c', '1', '-W', '1', HOSTS.SERV21.ipv4], { allowFail: true });
    await hostNs.get('SERV21')!.exec(['ping', '-c', '1', '-W', '1', HOSTS.VM230.ipv4], { allowFail: true });
  });

  after(async () => {
    for (const r of reconcilers.values()) r.close();
    for (const d of drivers.values()) await d.close({ keep: true }).catch(() => undefined);
    await lab?.destroy();
  });

  it('1. worked example installed per VTEP; SERV21 gets every packet from/to VM210 exactly once; GPID = HOST-ID on the mirror VNI', async () => {
    f.configure(V[101], {
      monitorServers: [SimFabric.serverConfig('SERV21', f.hosts.get('SERV21')!, 1)],
      sessions: [SimFabric.sessionConfig('watch-vm210', f.hosts.get('VM210')!, 'SERV21')],
    });
    await sync();
    assert.equal((await drivers.get(V[101])!.installed()).length, 2);
    assert.equal((await drivers.get(V[104])!.installed()).length, 2);
    // The wire: the copy tunnelled to VTEP104 carries GPID 1 in VXLAN VNI 16,000,000.
    const wire = await capture(vtepNs.get(104)!, 'ul', 'v104-ul.pcap', ['udp', 'port', String(MIRROR_PORT)]);
    await trafficExactlyOnce('a1');
    await wire.stop();
    const r = await run(['tshark', '-r', lab.file('v104-ul.pcap'), '-d', `udp.port==${MIRROR_PORT},vxlan`, '-T', 'fields', '-e', 'vxlan.gbp', '-e', 'vxlan.vni', '-e', 'ip.src']);
    const rows = r.stdout.split('\n').filter((l) => l.trim());
    assert.ok(rows.length >= 60, `tunnelled copies on VTEP104's underlay: ${rows.length}`);
    for (const row of rows) {
      const [gbp, vni] = row.split('\t');
      assert.equal(Number(gbp), 1, row);
      assert.equal(Number(vni), MIRROR_VNI, row);
    }
    const counters = await drivers.get(V[101])!.counters();
    assert.ok((counters.get(`${V[101]}:1|first`)?.packets ?? 0) >= 50, JSON.stringify([...counters]));
    assert.ok(drivers.get(V[101])!.health().ok);
  });

  it('2. VM210 moves 101 -> 102 (gratuitous ARP): the FDB watchers report it, entries are rewritten, still exactly once', async () => {
    const watchers = new Map<VtepNo, { w: FdbWatcher; events: FdbEvent[] }>();
    for (const no of [101, 102] as VtepNo[]) {
      const w = new FdbWatcher({ runner: netnsRunner(vtepNs.get(no)!.name), bridges: { 1: 'br1' }, commandPrefix: ['ip', 'netns', 'exec', vtepNs.get(no)!.name] });
      const events: FdbEvent[] = [];
      w.on('event', (e) => events.push(e));
      await w.start();
      watchers.set(no, { w, events });
    }
    try {
      assert.deepEqual(watchers.get(101)!.w.location(1, HOSTS.VM210.mac), { kind: 'local', port: 'vm210' });
      await vtepNs.get(101)!.ip(['link', 'del', 'vm210']);
      await linkHost('VM210', 102, 'eth1');
      await sendGarp(hostNs.get('VM210')!, 'eth1', HOSTS.VM210.mac, HOSTS.VM210.ipv4);
      const moved = await waitUntil(() => watchers.get(102)!.events.find((e) => e.mac === HOSTS.VM210.mac && e.to?.kind === 'local'), { timeoutMs: 5000, intervalMs: 20, what: 'VTEP102 to learn VM210 locally' });
      assert.deepEqual(moved.to, { kind: 'local', port: 'vm210' });
      assert.equal(moved.change, 'move-in', 'VM210 was behind the tunnel on VTEP102 before');
      const left = await waitUntil(() => watchers.get(101)!.events.find((e) => e.mac === HOSTS.VM210.mac && e.from?.kind === 'local'), { timeoutMs: 5000, intervalMs: 20, what: 'VTEP101 to see VM210 leave' });
      assert.ok(left.change === 'forget' || left.change === 'move-out', left.change);
      // The watcher's event drives the move (BGP is the simulated part of this fabric).
      f.moveHost('VM210', V[102], moved.to.port);
      await sync();
      assert.deepEqual((await drivers.get(V[101])!.installed()).map((e) => e.kind), ['second']);
      assert.deepEqual((await drivers.get(V[102])!.installed()).map((e) => e.kind).sort(), ['first', 'second']);
      await trafficExactlyOnce('a2');
    } finally {
      for (const { w } of watchers.values()) w.stop();
    }
  });

  it('2b. SERV21 moves 104 -> 103 (gratuitous ARP): every VTEP re-points at VTEP103, which delivers locally; VTEP104 drops its 3rd entry; still exactly once', async () => {
    const watchers = new Map<VtepNo, { w: FdbWatcher; events: FdbEvent[] }>();
    for (const no of [103, 104] as VtepNo[]) {
      const w = new FdbWatcher({ runner: netnsRunner(vtepNs.get(no)!.name), bridges: { 1: 'br1' }, commandPrefix: ['ip', 'netns', 'exec', vtepNs.get(no)!.name] });
      const events: FdbEvent[] = [];
      w.on('event', (e) => events.push(e));
      await w.start();
      watchers.set(no, { w, events });
    }
    const undeliveredBefore = (await drivers.get(V[104])!.globalCounters()).rxUndelivered.packets;
    try {
      assert.deepEqual(watchers.get(104)!.w.location(1, HOSTS.SERV21.mac), { kind: 'local', port: 'serv21' });
      assert.equal(watchers.get(103)!.w.location(1, HOSTS.SERV21.mac)?.kind, 'tunnel', 'VTEP103 knows SERV21 behind the tunnel');
      await vtepNs.get(104)!.ip(['link', 'del', 'serv21']);
      await linkHost('SERV21', 103, 'eth1');
      await sendGarp(hostNs.get('SERV21')!, 'eth1', HOSTS.SERV21.mac, HOSTS.SERV21.ipv4);
      const moved = await waitUntil(() => watchers.get(103)!.events.find((e) => e.mac === HOSTS.SERV21.mac && e.to?.kind === 'local'), { timeoutMs: 5000, intervalMs: 20, what: 'VTEP103 to learn SERV21 locally' });
      assert.deepEqual(moved.to, { kind: 'local', port: 'serv21' });
      assert.equal(moved.change, 'move-in', 'SERV21 was behind the tunnel on VTEP103 before');
      const left = await waitUntil(() => watchers.get(104)!.events.find((e) => e.mac === HOSTS.SERV21.mac && e.from?.kind === 'local'), { timeoutMs: 5000, intervalMs: 20, what: 'VTEP104 to see SERV21 leave' });
      assert.ok(left.change === 'forget' || left.change === 'move-out', left.change);
      // The watcher's event drives the move (BGP is the simulated part of this fabric).
      f.moveHost('SERV21', V[103], moved.to.port);
      servAt = 103;
      const batchesBefore = new Map([...reconcilers].map(([v, r]) => [v, r.status().batches]));
      await sync();
      // The worked example's stage 3, entry by entry (VM210 is on VTEP102 since 2).
      const session = `${V[101]}:1`;
      const vm210 = `${HOSTS.VM210.mac},${HOSTS.VM210.ipv4}`;
      const tunnel103 = `tunnel ${V[103]} hostId=1 mirrorVni=${MIRROR_VNI}`;
      const want: Record<string, string[]> = {
        [V[101]]: [`second session=${session} vni=1 dst=${vm210} -> ${tunnel103}`],
        [V[102]]: [`first session=${session} vni=1 src=${vm210} -> ${tunnel103}`, `second session=${session} vni=1 dst=${vm210} except=vm210 -> ${tunnel103}`],
        [V[103]]: [`second session=${session} vni=1 dst=${vm210} -> port serv21`, `third hostId=1 mirrorVni=${MIRROR_VNI} -> port serv21 sessions=${session}`],
        [V[104]]: [`second session=${session} vni=1 dst=${vm210} -> ${tunnel103}`],
      };
      for (const [vtep, entries] of Object.entries(want)) {
        const have = (await drivers.get(vtep)!.installed()).map((e: MirrorEntry) => entryText(e)).sort();
        assert.deepEqual(have, [...entries].sort(), `kernel entries of ${vtep}`);
        assert.ok((reconcilers.get(vtep)!.status().batches ?? 0) > (batchesBefore.get(vtep) ?? 0), `${vtep} applied a batch`);
      }
      // In the kernel: VTEP104 no longer delivers HOST-ID 1, VTEP103 does; the transmit
      // devices toward VTEP104 are gone, those toward VTEP103 are there.
      const deliver = async (no: VtepNo) => (await vtepNs.get(no)!.exec(['nft', 'list', 'map', 'netdev', 'evpn_mirror', 'deliver'])).stdout;
      assert.doesNotMatch(await deliver(104), /goto dlv_1/);
      assert.match(await deliver(103), /0x00000001 : goto dlv_1/);
      for (const no of [101, 102, 104] as VtepNo[]) {
        const links = (await vtepNs.get(no)!.exec(['ip', '-br', 'link', 'show', 'type', 'vxlan'])).stdout;
        assert.ok(links.includes(txDeviceName(V[103])), `VTEP${no} has a transmit device toward VTEP103: ${links}`);
        assert.ok(!links.includes(txDeviceName(V[104])), `VTEP${no} has no transmit device toward VTEP104 left: ${links}`);
      }
      await trafficExactlyOnce('a2b');
      // No copy went to VTEP104 any more (its receive chain would have dropped it).
      assert.equal((await drivers.get(V[104])!.globalCounters()).rxUndelivered.packets, undeliveredBefore);
      const c103 = await drivers.get(V[103])!.counters();
      assert.ok((c103.get(`third|${MIRROR_VNI}|1`)?.packets ?? 0) >= 60, `VTEP103 delivered the tunnelled copies: ${JSON.stringify([...c103])}`);
    } finally {
      for (const { w } of watchers.values()) w.stop();
    }
  });

  it('3. the driver process killed mid-batch: after a restart, installed equals desired, nothing duplicated or left over', async () => {
    const ns = vtepNs.get(102)!;
    const child = `
const { LinuxMirrorDriver, netnsRunner } = require(${JSON.stringify(require.resolve('../../src/dataplane/linux'))});
(async () => {
  const d = new LinuxMirrorDriver({ runner: netnsRunner(process.argv[1]), vtepIp: '${V[102]}', mirrorVni: ${MIRROR_VNI}, mirrorPort: ${MIRROR_PORT}, bridges: { 1: 'br1' }, healIntervalMs: 0 });
  await d.start();
  const add = [];
  for (let i = 0; i < 20000; i++) {
    const h = (i + 1).toString(16).padStart(6, '0');
    add.push({ id: 'crash' + i + '|second', kind: 'second', session: 'crash' + i, vni: 1, match: { field: 'destination', mac: '02:99:00:' + h.slice(0, 2) + ':' + h.slice(2, 4) + ':' + h.slice(4, 6), exceptPorts: [] }, action: { kind: 'tunnel', vtep: '${V[104]}', hostId: 9, mirrorVni: ${MIRROR_VNI} } });
  }
  process.stdout.write('applying\\n');
  await d.apply({ add, modify: [], remove: [] });
  process.stdout.write('applied\\n');
})();`;
    const p = lab.spawn([process.execPath, '-e', child, ns.name], { name: 'driver-crash', log: 'pipe' });
    let out = '';
    p.child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitUntil(() => out.includes('applying'), { timeoutMs: 20_000, intervalMs: 10, what: 'the driver child to start its batch' });
    await sleep(150);
    p.signal('SIGKILL');
    await p.exited;
    // Whatever nft was doing when its parent died is over once no nft runs in the namespace.
    await waitUntil(async () => !(await run(['ip', 'netns', 'pids', ns.name])).stdout.trim(), { timeoutMs: 20_000, intervalMs: 50, what: 'nft to finish' });
    // The restarted agent: a new driver on the same namespace, resync, reconcile.
    const d = new LinuxMirrorDriver({ runner: runnerFor(ns, V[102]), vtepIp: V[102], mirrorVni: MIRROR_VNI, mirrorPort: MIRROR_PORT, bridges: { 1: 'br1' }, healIntervalMs: 0 });
    await d.start();
    const found = await d.installed();
    const ids = found.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no id twice');
    const extra = found.filter((e) => e.id.startsWith('crash')).length;
    assert.ok(extra === 0 || extra === 20000, `the killed batch is all or nothing in the read-back: ${extra} (${out.trim()})`);
    drivers.set(V[102], d);
    reconcilers.get(V[102])!.close();
    reconcilers.set(V[102], new Reconciler(d, () => f.core(V[102]).engine.desired(), { retryMinMs: 50, retryMaxMs: 400 }));
    await reconcilers.get(V[102])!.resync();
    await sync();
    const st = await ns.exec(['nft', '-j', 'list', 'table', 'netdev', 'evpn_mirror']);
    assert.ok(!st.stdout.includes('crash'), 'no leftover of the killed batch');
    assert.equal((st.stdout.match(/"counter": \{"family"/g) ?? []).length, 2 + (await d.installed()).length, 'no orphan counters');
    await trafficExactlyOnce('a3');
  });

  it('4a. an injected nft failure is reported with its message, retried with backoff and healed', async () => {
    const sv = V[servAt];
    failNft.set(sv, ['Error: injected failure for the test']);
    // SERV21 stays; a second session to the same monitor makes SERV21's VTEP rewrite its entries.
    f.configure(V[101], {
      monitorServers: [SimFabric.serverConfig('SERV21', f.hosts.get('SERV21')!, 1)],
      sessions: [SimFabric.sessionConfig('watch-vm210', f.hosts.get('VM210')!, 'SERV21'), SimFabric.sessionConfig('watch-vm230', f.hosts.get('VM230')!, 'SERV21', 'from-host')],
    });
    const rs = reconcilers.get(sv)!;
    const failuresBefore = rs.status().failures;
    await sync();
    assert.equal(rs.status().failures, failuresBefore + 1);
    assert.match(rs.status().lastError ?? '', /injected failure for the test/);
    assert.ok(drivers.get(sv)!.health().ok, 'healthy again after the retry');
    // Back to the single session.
    f.configure(V[101], {
      monitorServers: [SimFabric.serverConfig('SERV21', f.hosts.get('SERV21')!, 1)],
      sessions: [SimFabric.sessionConfig('watch-vm210', f.hosts.get('VM210')!, 'SERV21')],
    });
    await sync();
  });

  it('4a2. a transmit device deleted under us just before a batch that uses it: the batch recreates it and rewrites the rules naming it', async () => {
    // VM210's VTEP (it moved in 2): its "from VM210" entry sends copies to SERV21's VTEP.
    const at = f.hosts.get('VM210')!.vtep;
    const no = Number(at.split('.')[3]) as VtepNo;
    const d = drivers.get(at)!;
    const dev = txDeviceName(V[servAt]);
    const rs = reconcilers.get(at)!;
    const one = (direction?: 'to-host') => ({
      monitorServers: [SimFabric.serverConfig('SERV21', f.hosts.get('SERV21')!, 1)],
      sessions: [SimFabric.sessionConfig('watch-vm210', f.hosts.get('VM210')!, 'SERV21', direction)],
    });
    // to-host only: the VTEP drops VM210's "from" entry and keeps another entry through the device.
    f.configure(V[101], one('to-host'));
    await sync();
    const tunnelled = (await d.installed()).filter((e) => e.kind !== 'third' && e.action.kind === 'tunnel' && e.action.vtep === V[servAt]);
    assert.ok(tunnelled.length >= 1, 'precondition: an entry still sends copies through the device');
    await vtepNs.get(no)!.ip(['link', 'del', dev]);
    const failuresBefore = rs.status().failures;
    // Both directions again: the batch adds VM210's "from" entry through the device that is gone.
    f.configure(V[101], one());
    await sync(); // asserts the kernel equals the desired entries
    assert.ok((await d.installed()).length > tunnelled.length, 'the batch added an entry');
    assert.equal(rs.status().failures, failuresBefore, 'no failed attempt');
    assert.ok(d.health().ok);
    const link = JSON.parse((await vtepNs.get(no)!.ip(['-d', '-j', 'link', 'show', 'dev', dev])).stdout) as { ifname: string; inet6_addr_gen_mode?: string; flags: string[] }[];
    assert.equal(link[0]?.ifname, dev, 'the device is back');
    assert.ok(link[0]!.flags.includes('UP'));
    assert.equal(link[0]!.inet6_addr_gen_mode, 'none', 'made without an IPv6 link-local address');
    assert.deepEqual(await d.heal(), [], 'nothing left for the heal pass: the old rules were rewritten too');
    await trafficExactlyOnce('a4a2');
  });

  it('4b. the mirror vxlan device deleted under us: heal() recreates it and rewrites the copy rules', async () => {
    const d = drivers.get(V[102])!;
    const dev = txDeviceName(V[servAt]);
    await vtepNs.get(102)!.ip(['link', 'del', dev]);
    const repairs = await d.heal({ full: false }); // the light periodic pass notices it too
    assert.ok(repairs.some((r) => r.includes(`recreated transmit device ${dev}`) || r.includes(`created transmit device ${dev}`)), repairs.join('; '));
    assert.ok(repairs.some((r) => /rewrote \d+ chains/.test(r)), repairs.join('; '));
    assert.deepEqual(await d.heal(), [], 'a second pass finds nothing to do');
    const rx = drivers.get(V[servAt])!;
    await vtepNs.get(servAt)!.ip(['link', 'del', 'emrx']);
    assert.ok((await rx.heal()).some((r) => r.includes('receive device')));
    await trafficExactlyOnce('a4');
  });

  it('4c. monitor port missing: the apply fails with nft\'s message, the reconciler retries, and it heals when the port appears', async () => {
    const ns = vtepNs.get(servAt)!;
    await ns.ip(['link', 'set', 'serv21', 'nomaster']);
    await ns.ip(['link', 'set', 'serv21', 'name', 'serv21x']);
    const d = drivers.get(V[servAt])!;
    // Re-applying the 3rd entry (SERV21 "moves" to a port that does not exist yet).
    f.moveHost('SERV21', V[servAt], 'serv21b');
    for (const [vtep, core] of f.cores) void reconcilers.get(vtep)!.update(core.takeChanges());
    await waitUntil(() => (reconcilers.get(V[servAt])!.status().failures > 0 && /Interface does not exist/.test(d.health().lastError ?? '') ? true : undefined), { timeoutMs: 10_000, intervalMs: 50, what: 'the failure to be reported' });
    await ns.ip(['link', 'set', 'serv21x', 'name', 'serv21b']);
    await ns.ip(['link', 'set', 'serv21b', 'master', 'br1']);
    await ns.exec(['bridge', 'link', 'set', 'dev', 'serv21b', 'flood', 'off']);
    await waitUntil(() => (reconcilers.get(V[servAt])!.status().pending === 0 && d.health().ok ? true : undefined), { timeoutMs: 10_000, intervalMs: 50, what: `the retry to succeed (${JSON.stringify(reconcilers.get(V[servAt])!.status())} ${JSON.stringify(d.health())})` });
    await sync();
    await trafficExactlyOnce('a4c');
  });
});
