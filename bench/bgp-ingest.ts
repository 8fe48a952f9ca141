#!/usr/bin/env node
// Benchmark: ingest N EVPN Type-2 routes from one iBGP peer over TCP, into our speaker, FRR
// 8.4 bgpd and GoBGP 3.10 in the same run, same feed, same topology (feeder and target in two
// network namespaces joined by a veth pair). Prints routes/s until all N are in the RIB and
// the target's peak RSS (VmHWM), and the ratios. Prints figures; asserts nothing.
//
//   node dist/bench/bgp-ingest.js [--n 10000,100000,1000000] [--gobgp-n 10000] [--runs 3]
//                                  [--targets ours,frr,gobgp]
//
// Timing: t0 = the feeder starts writing UPDATEs (after the session is Established);
// t1 = ours: the speaker's own event when its Loc-RIB first holds N routes;
//      FRR:  first `show bgp l2vpn evpn summary json` poll (every 50 ms, plus the time a
//            vtysh call takes) with pfxRcd = N;
//      GoBGP: first `gobgp global rib summary -a evpn` poll (every 100 ms) with N paths.
// Polling adds up to one interval (and a vtysh/gobgp call) to FRR's and GoBGP's times.
// GoBGP 3.10 is quadratic on EVPN Type-2 ingest (shared/docs/peers.md): its N is capped.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { Lab, Netns, LabProcess } from '../src/lab/netns';
import { rrBgpdConf, startFrr } from '../src/lab/frr';
import { startGobgp } from '../src/lab/gobgp';
import { SpeakerProcess } from '../src/lab/speaker-process';
import { waitUntil, sleep } from '../src/lab/exec';
import { generateFeed } from './lib/evpn-routes';

const ASN = 65000;
const TARGET_IP = '10.99.0.1';
const FEEDER_IP = '10.99.0.2';

interface Result {
  target: string;
  n: number;
  seconds: number;
  routesPerSecond: number;
  peakRssMb: number;
  note?: string;
}

function vmHwmMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts the feeder in its namespace; resolves with its t0 (ms epoch) once it starts sending. */
async function startFeeder(ns: Netns, file: string): Promise<{ proc: LabProcess; t0: Promise<number>; sent: Promise<number> }> {
  const opts = { host: TARGET_IP, port: 179, localAddress: FEEDER_IP, as: ASN, routerId: FEEDER_IP, file };
  const proc = ns.spawn([process.execPath, `${__dirname}/feeder.js`, JSON.stringify(opts)], { name: 'feeder', log: 'pipe' });
  let t0!: (t: number) => void;
  let sent!: (t: number) => void;
  const t0p = new Promise<number>((r) => (t0 = r));
  const sentp = new Promise<number>((r) => (sent = r));
  createInterface({ input: proc.child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as { event: string; t?: number; code?: number; subcode?: number };
    if (e.event === 'sending') t0(e.t!);
    else if (e.event === 'sent') sent(e.t!);
    else if (e.event === 'notification') process.stderr.write(`feeder got NOTIFICATION ${e.code}/${e.subcode}\n`);
  });
  proc.child.stderr!.on('data', (d: Buffer) => process.stderr.write(`feeder: ${d.toString()}`));
  return { proc, t0: t0p, sent: sentp };
}

/** Polls a peer's route count every `intervalMs`; resolves with the time (epoch ms) of the
 * first poll that saw at least `n`. */
function pollUntilCount(count: () => Promise<number>, n: number, intervalMs: number, timeoutMs: number, what: string): Promise<number> {
  return waitUntil(async () => ((await count()) >= n ? Date.now() : undefined), { timeoutMs, intervalMs, what });
}

async function topology(name: string): Promise<{ lab: Lab; target: Netns; feeder: Netns }> {
  const lab = new Lab(name);
  const target = await lab.addNamespace('t');
  const feeder = await lab.addNamespace('f');
  await lab.link(target, `${TARGET_IP}/24`, feeder, `${FEEDER_IP}/24`);
  return { lab, target, feeder };
}

async function runOurs(file: string, n: number): Promise<Result> {
  const { lab, target, feeder } = await topology('bours');
  try {
    const sp = await SpeakerProcess.start(target, 'ours', {
      routerId: TARGET_IP,
      localAs: ASN,
      listenAddress: TARGET_IP,
      neighbors: [{ address: FEEDER_IP, remoteAs: ASN, passive: true, holdTime: 180 }],
      events: false,
      notifyRoutes: n,
      logLevel: 'warn',
    } as Parameters<typeof SpeakerProcess.start>[2]);
    const f = await startFeeder(feeder, file);
    const t0 = await f.t0;
    const reached = await waitUntil(() => sp.events.find((e) => e.event === 'routes-reached') as { t: number } | undefined, {
      timeoutMs: 600_000,
      intervalMs: 20,
      what: 'our speaker to hold N routes',
    });
    const seconds = (reached.t - t0) / 1000;
    return { target: 'evpn-mirror', n, seconds, routesPerSecond: n / seconds, peakRssMb: vmHwmMb(sp.proc.pid) };
  } finally {
    await lab.destroy();
  }
}

async function runFrr(file: string, n: number): Promise<Result> {
  const { lab, target, feeder } = await topology('bfrr');
  try {
    const frr = await startFrr(lab, target, {
      name: 'rr',
      logLevel: 'warnings',
      bgpdConf: rrBgpdConf({ asn: ASN, routerId: TARGET_IP, clients: [FEEDER_IP], timers: { keepalive: 60, hold: 180 } }),
    });
    const f = await startFeeder(feeder, file);
    const t0 = await f.t0;
    const t1 = await pollUntilCount(async () => (await frr.evpnSummary()).peers?.[FEEDER_IP]?.pfxRcd ?? 0, n, 50, 600_000, 'FRR to hold N routes');
    const seconds = (t1 - t0) / 1000;
    return { target: 'FRR 8.4 bgpd', n, seconds, routesPerSecond: n / seconds, peakRssMb: vmHwmMb(frr.bgpd.pid), note: 'polled every 50 ms' };
  } finally {
    await lab.destroy();
  }
}

async function runGobgp(file: string, n: number): Promise<Result> {
  const { lab, target, feeder } = await topology('bgobgp');
  try {
    const g = await startGobgp(lab, target, { asn: ASN, routerId: TARGET_IP, neighbors: [{ address: FEEDER_IP, asn: ASN, families: ['l2vpn-evpn'], holdTime: 180 }] });
    const f = await startFeeder(feeder, file);
    const t0 = await f.t0;
    const gobgpPaths = async () => Number(/Path:\s*(\d+)/.exec(await g.cli(['global', 'rib', 'summary', '-a', 'evpn']))?.[1] ?? 0);
    const t1 = await pollUntilCount(gobgpPaths, n, 100, 1_800_000, 'GoBGP to hold N routes');
    const seconds = (t1 - t0) / 1000;
    return { target: 'GoBGP 3.10', n, seconds, routesPerSecond: n / seconds, peakRssMb: vmHwmMb(g.process.pid), note: 'polled every 100 ms' };
  } finally {
    await lab.destroy();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '10000,100000,1000000' },
      'gobgp-n': { type: 'string', default: '10000' },
      runs: { type: 'string', default: '3' },
      targets: { type: 'string', default: 'ours,frr,gobgp' },
    },
  });
  const ns = values.n!.split(',').map(Number);
  const gobgpN = Number(values['gobgp-n']);
  const runs = Number(values.runs);
  const targets = new Set(values.targets!.split(','));
  const tmp = fs.mkdtempSync('/tmp/em-bench-');
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  const results: Result[] = [];
  try {
    const sizes = [...new Set([...ns, ...(targets.has('gobgp') ? [gobgpN] : [])])].sort((a, b) => a - b);
    for (const n of sizes) {
      const t = Date.now();
      const feed = generateFeed(n, ASN);
      const file = `${tmp}/feed-${n}.bin`;
      fs.writeFileSync(file, Buffer.concat(feed.updates));
      process.stderr.write(`feed of ${n} routes: ${feed.updates.length} UPDATEs, ${(feed.bytes / 1e6).toFixed(1)} MB (generated in ${Date.now() - t} ms)\n`);
      const jobs: [string, (f: string, n: number) => Promise<Result>][] = [];
      if (targets.has('ours') && ns.includes(n)) jobs.push(['ours', runOurs]);
      if (targets.has('frr') && ns.includes(n)) jobs.push(['frr', runFrr]);
      if (targets.has('gobgp') && n === gobgpN) jobs.push(['gobgp', runGobgp]);
      for (const [name, fn] of jobs) {
        const per: Result[] = [];
        for (let r = 0; r < runs; r++) {
          const res = await fn(file, n);
          per.push(res);
          process.stderr.write(`  ${name} N=${n} run ${r + 1}: ${res.seconds.toFixed(3)} s, ${Math.round(res.routesPerSecond)} routes/s, peak RSS ${res.peakRssMb.toFixed(0)} MB\n`);
          await sleep(500);
        }
        const m = median(per.map((p) => p.seconds));
        const pick = per.find((p) => p.seconds === m)!;
        results.push({ ...pick, peakRssMb: median(per.map((p) => p.peakRssMb)) });
      }
      fs.unlinkSync(file);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const pad = (s: string, w: number) => s.padEnd(w);
  const lines: string[] = [];
  lines.push(`EVPN Type-2 ingest over TCP (median of ${runs} run(s) per cell)`);
  lines.push(`${pad('target', 16)}${pad('N', 10)}${pad('seconds', 10)}${pad('routes/s', 12)}${pad('peak RSS MB', 12)}`);
  for (const r of results)
    lines.push(`${pad(r.target, 16)}${pad(String(r.n), 10)}${pad(r.seconds.toFixed(3), 10)}${pad(String(Math.round(r.routesPerSecond)), 12)}${pad(r.peakRssMb.toFixed(0), 12)}`);
  lines.push('');
  lines.push('ratios (evpn-mirror vs peer at the same N: rate = ours/theirs, memory = ours/theirs)');
  for (const ours of results.filter((r) => r.target === 'evpn-mirror')) {
    for (const peer of results.filter((r) => r.target !== 'evpn-mirror' && r.n === ours.n)) {
      lines.push(`  N=${ours.n} vs ${peer.target}: rate x${(ours.routesPerSecond / peer.routesPerSecond).toFixed(2)}, memory x${(ours.peakRssMb / peer.peakRssMb).toFixed(2)}`);
    }
  }
  const gob = results.find((r) => r.target === 'GoBGP 3.10');
  const oursAtGob = results.find((r) => r.target === 'evpn-mirror' && gob && r.n === gob.n);
  if (gob && !oursAtGob) {
    const oursSmallest = results.filter((r) => r.target === 'evpn-mirror').sort((a, b) => a.n - b.n)[0];
    if (oursSmallest)
      lines.push(`  GoBGP capped at N=${gob.n} (quadratic EVPN ingest in 3.10): our rate at N=${oursSmallest.n} / GoBGP's at N=${gob.n}: x${(oursSmallest.routesPerSecond / gob.routesPerSecond).toFixed(1)}`);
  }
  lines.push('notes: FRR and GoBGP completion is polled (FRR every 50 ms, GoBGP every 100 ms): their times include up to one interval and one CLI call.');
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write('JSON ' + JSON.stringify(results) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
