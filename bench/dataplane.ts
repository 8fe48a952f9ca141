#!/usr/bin/env node
// Benchmark of the Linux data plane driver (issue 5, docs/dataplane.md). Prints figures;
// asserts nothing but that the driver read back what it installed. Needs root (namespaces).
//
//   node dist/bench/dataplane.js [--n 10000,100000] [--runs 3] [--seconds 5]
//                                [--tput-entries 10000] [--skip install,json,throughput]
//
// (a) install: per N, in a scratch namespace (bridge br1 with one access port), one driver
//     batch of N `second` entries (MAC + IPv4, tunnel action toward one remote VTEP, the
//     shape of the per-host entries on a remote VTEP), timed to the end of its `nft -f`
//     transaction; then installed() (the verified read-back: listing, parse, check of every
//     entry against the kernel's rules, counters and maps); then one batch removing all N.
//     Besides wall time, the CPU time (user + system, most of it in the kernel's netlink dump)
//     of the listing the read-back runs (`nft list table`, text) and, unless `json` is
//     skipped, of the JSON listing the driver used before (`nft -j list table`): wall time on
//     this shared 2-core machine depends on what else runs, CPU time much less.
// (b) throughput: hosts HA and HB on two access ports of br1 in a VTEP namespace (veth pairs),
//     the driver's table hooked on both ports (ingress, every frame runs the six map lookups);
//     iperf3 HA -> HB, TCP for --seconds, and UDP with 64-byte payloads (-b 0) for --seconds.
//     Three such bridges side by side: no table, the driver's table with 0 entries, and with
//     --tput-entries entries that do not match the traffic; each of --runs runs measures the
//     three back to back (rotating the order). Prints the median Mbit/s and received
//     packets/s and the ratios, and the load average (other work on the machine skews them).
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { Lab, Netns } from '../src/lab/netns';
import { sleep } from '../src/lab/exec';
import { LinuxMirrorDriver } from '../src/dataplane/linux/driver';
import { parseTable, verifyTable } from '../src/dataplane/linux/readback';
import { txDeviceName } from '../src/dataplane/linux/nft-gen';
import { netnsRunner } from '../src/dataplane/linux/runner';
import { AccessEntry } from '../src/monitoring/entries';

const MIRROR_VNI = 16_000_000;
// Addresses inside the benchmark's own namespaces only.
const VTEP_IP = '192.0.2.1';
const REMOTE_VTEP = '192.0.2.2';
const HA_IP = '10.1.0.1';
const HB_IP = '10.1.0.2';

/** N entries that match none of the benchmark's traffic (MACs 02:99:.., IPv4 10.64.0.0/10). */
function entries(n: number): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (let i = 0; i < n; i++) {
    const h = (i + 1).toString(16).padStart(8, '0');
    const mac = `02:99:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}`;
    const ipv4 = `10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
    out.push({
      id: `bench${i}|second`,
      kind: 'second',
      session: `bench${i}`,
      vni: 1,
      match: { field: 'destination', mac, ipv4, exceptPorts: [] },
      action: { kind: 'tunnel', vtep: REMOTE_VTEP, hostId: 1 + (i % 100), mirrorVni: MIRROR_VNI },
    });
  }
  return out;
}

function driverFor(ns: Netns): LinuxMirrorDriver {
  return new LinuxMirrorDriver({ runner: netnsRunner(ns.name), vtepIp: VTEP_IP, mirrorVni: MIRROR_VNI, bridges: { 1: 'br1' }, healIntervalMs: 0 });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ s: number; v: T }> {
  const t = performance.now();
  const v = await fn();
  return { s: (performance.now() - t) / 1000, v };
}

/** CPU seconds (user + system) and wall seconds of one command in `ns`, its output discarded. */
async function cpuOf(ns: Netns, cmd: string): Promise<{ cpu: number; wall: number }> {
  const r = await ns.exec(['bash', '-c', `TIMEFORMAT='%3R %3U %3S'; time ( ${cmd} > /dev/null )`], { timeoutMs: 1_800_000 });
  const [wall, u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { cpu: u! + s!, wall: wall! };
}

interface InstallRow {
  n: number;
  apply: number;
  read: number;
  remove: number;
  listCpu: number;
  jsonWall?: number;
  jsonCpu?: number;
}

async function installBench(n: number, withJson: boolean): Promise<InstallRow> {
  const lab = new Lab('bdp');
  try {
    const v = await lab.addNamespace('v');
    const u = await lab.addNamespace('u');
    await lab.link(v, `${VTEP_IP}/24`, u, `${REMOTE_VTEP}/24`, { aName: 'ul', bName: 'ul' });
    await lab.addBridge(v, 'br1');
    const h = await lab.addNamespace('h');
    await lab.link(h, `${HA_IP}/24`, v, null, { aName: 'eth0', bName: 'pa' });
    await lab.attach(v, 'pa', 'br1');
    const d = driverFor(v);
    await d.start();
    const all = entries(n);
    const apply = await timed(() => d.apply({ add: all, modify: [], remove: [] }));
    const read = await timed(() => d.installed());
    if (read.v.length !== n) throw new Error(`read back ${read.v.length} entries, not ${n}`);
    const list = await cpuOf(v, 'nft list table netdev evpn_mirror');
    const row: InstallRow = { n, apply: apply.s, read: read.s, remove: 0, listCpu: list.cpu };
    if (withJson) {
      // The driver's former read-back: JSON listing, JSON.parse, the same verification.
      const j = await timed(async () => {
        const out = await v.exec(['nft', '-j', 'list', 'table', 'netdev', 'evpn_mirror'], { timeoutMs: 1_800_000 });
        return verifyTable(parseTable(out.stdout), { txDevice: txDeviceName }).good.length;
      });
      if (j.v !== n) throw new Error(`JSON read-back verified ${j.v} entries, not ${n}`);
      row.jsonWall = j.s;
      row.jsonCpu = (await cpuOf(v, 'nft -j list table netdev evpn_mirror')).cpu;
    }
    const remove = await timed(() => d.apply({ add: [], modify: [], remove: all }));
    row.remove = remove.s;
    if ((await d.installed()).length !== 0) throw new Error('entries left after removing all');
    await d.close({ keep: false });
    return row;
  } finally {
    await lab.destroy();
  }
}

interface Tput {
  config: string;
  tcpMbps: number[];
  udpPps: number[];
}

async function iperf(ha: Netns, args: string[], seconds: number): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    const r = await ha.exec(['iperf3', '-c', HB_IP, '-t', String(seconds), '-J', ...args], { allowFail: true, timeoutMs: (seconds + 30) * 1000 });
    if (r.code === 0) return JSON.parse(r.stdout) as Record<string, unknown>;
    // The server takes one test at a time; a test right after the previous one may find it busy.
    if (attempt >= 5) throw new Error(`iperf3 failed: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`);
    await sleep(500);
  }
}

/** One bridge br1 in its own VTEP namespace with hosts HA and HB on two access ports. */
async function bridgeSetup(lab: Lab, tag: string): Promise<{ v: Netns; ha: Netns; hb: Netns }> {
  const v = await lab.addNamespace(`v${tag}`);
  const u = await lab.addNamespace(`u${tag}`);
  await lab.link(v, `${VTEP_IP}/24`, u, `${REMOTE_VTEP}/24`, { aName: 'ul', bName: 'ul' });
  await lab.addBridge(v, 'br1');
  const ha = await lab.addNamespace(`ha${tag}`);
  const hb = await lab.addNamespace(`hb${tag}`);
  await lab.link(ha, `${HA_IP}/24`, v, null, { aName: 'eth0', bName: 'pa' });
  await lab.link(hb, `${HB_IP}/24`, v, null, { aName: 'eth0', bName: 'pb' });
  await lab.attach(v, 'pa', 'br1');
  await lab.attach(v, 'pb', 'br1');
  hb.spawn(['iperf3', '-s'], { name: `iperf3-server-${tag}`, log: `iperf3-server-${tag}.log` });
  return { v, ha, hb };
}

async function throughputBench(runs: number, seconds: number, n: number): Promise<Tput[]> {
  // Three identical bridges, set up once, so that the configurations are measured back to
  // back in every run (this machine's load from other work drifts over minutes).
  const lab = new Lab('bdpt');
  try {
    const setups = [await bridgeSetup(lab, 'a'), await bridgeSetup(lab, 'b'), await bridgeSetup(lab, 'c')];
    const configs: Tput[] = ['no table', '0 entries', `${n.toLocaleString('en-US')} entries`].map((config) => ({ config, tcpMbps: [], udpPps: [] }));
    const drivers = [driverFor(setups[1]!.v), driverFor(setups[2]!.v)];
    for (const d of drivers) await d.start();
    await drivers[1]!.apply({ add: entries(n), modify: [], remove: [] });
    await sleep(500);
    for (const s of setups) await s.ha.exec(['ping', '-c', '3', '-i', '0.2', HB_IP]);
    const measure = async (i: number, run: number) => {
      const t = configs[i]!;
      const ha = setups[i]!.ha;
      const tcp = await iperf(ha, [], seconds);
      const mbps = (tcp.end as { sum_received: { bits_per_second: number } }).sum_received.bits_per_second / 1e6;
      const udp = await iperf(ha, ['-u', '-b', '0', '-l', '64'], seconds);
      const rx = (udp.end as { sum_received: { bytes: number; seconds: number } }).sum_received;
      const pps = rx.bytes / 64 / rx.seconds;
      t.tcpMbps.push(mbps);
      t.udpPps.push(pps);
      process.stderr.write(`  run ${run + 1} ${t.config}: TCP ${mbps.toFixed(0)} Mbit/s, UDP 64 B ${Math.round(pps)} packets/s received\n`);
    };
    for (let r = 0; r < runs; r++) {
      // The order rotates from run to run.
      for (let k = 0; k < 3; k++) await measure((r + k) % 3, r);
    }
    // The traffic ran the lookups and matched no entry.
    for (const d of drivers) {
      let copied = 0;
      for (const c of (await d.counters()).values()) copied += c.packets;
      if (copied !== 0) throw new Error(`${copied} packets matched entries that should match nothing`);
      await d.close({ keep: false });
    }
    return configs;
  } finally {
    await lab.destroy();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (x: number, d = 2) => x.toFixed(d);
const int = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '10000,100000' },
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      'tput-entries': { type: 'string', default: '10000' },
      skip: { type: 'string', default: '' },
    },
  });
  const sizes = values.n!.split(',').filter(Boolean).map(Number);
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const tputN = Number(values['tput-entries']);
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  const out: string[] = [];
  const json: Record<string, unknown> = {};
  const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
  out.push(`load average at start: ${load()} (${os.cpus().length} CPUs)`);

  if (!skip.has('install')) {
    const rows: InstallRow[] = [];
    for (const n of sizes) {
      process.stderr.write(`install ${n} entries...\n`);
      const row = await installBench(n, !skip.has('json'));
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      rows.push(row);
    }
    json.install = rows;
    out.push('(a) one batch of N entries (second, MAC + IPv4, tunnel) via the driver in a scratch namespace; seconds are wall time');
    out.push('| entries | apply s | entries/s | installed() s | remove all s | entries/s | nft list (text) CPU s | former JSON read-back s | nft -j list CPU s |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows)
      out.push(
        `| ${int(r.n)} | ${fmt(r.apply)} | ${int(r.n / r.apply)} | ${fmt(r.read)} | ${fmt(r.remove)} | ${int(r.n / r.remove)} | ${fmt(r.listCpu)} | ${r.jsonWall !== undefined ? fmt(r.jsonWall) : '-'} | ${r.jsonCpu !== undefined ? fmt(r.jsonCpu) : '-'} |`,
      );
    for (const r of rows) if (r.jsonWall !== undefined) out.push(`  N=${int(r.n)}: installed() / former JSON read-back = x${fmt(r.read / r.jsonWall)}; nft CPU text / JSON = x${fmt(r.listCpu / r.jsonCpu!)}`);
    out.push('');
  }

  if (!skip.has('throughput')) {
    process.stderr.write(`throughput: ${runs} run(s) x 3 configurations x (TCP + UDP) x ${seconds} s...\n`);
    const t = await throughputBench(runs, seconds, tputN);
    json.throughput = t;
    out.push(`(b) iperf3 HA -> HB across br1 (both access ports hooked by the driver's table), ${seconds} s per test, median of ${runs} run(s)`);
    out.push('| configuration | TCP Mbit/s | UDP 64 B received packets/s | runs (TCP Mbit/s; UDP packets/s) |');
    out.push('|---|---|---|---|');
    for (const c of t) out.push(`| ${c.config} | ${int(median(c.tcpMbps))} | ${int(median(c.udpPps))} | ${c.tcpMbps.map((x) => x.toFixed(0)).join(', ')}; ${c.udpPps.map(int).join(', ')} |`);
    const [none, zero, many] = t as [Tput, Tput, Tput];
    out.push(`  ${many.config} / 0 entries: TCP x${fmt(median(many.tcpMbps) / median(zero.tcpMbps))}, UDP x${fmt(median(many.udpPps) / median(zero.udpPps))}`);
    out.push(`  0 entries / no table:  TCP x${fmt(median(zero.tcpMbps) / median(none.tcpMbps))}, UDP x${fmt(median(zero.udpPps) / median(none.udpPps))}`);
    out.push('');
  }
  out.push(`load average at end: ${load()}`);
  process.stdout.write(out.join('\n') + '\n');
  process.stdout.write('JSON ' + JSON.stringify(json) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
