#!/usr/bin/env node
// Benchmark: the monitoring core alone (MAC table + entry engine), pure logic, in-process.
// No BGP, no kernel: the inputs the EVPN feed and the FDB watcher would give it are made
// here and fed through the same MacTable / EntryEngine calls. Prints figures; exits 1 only
// when the incremental engine disagrees with the from-scratch computation.
//
//   node --expose-gc dist/bench/monitoring.js [--macs 100000] [--vteps 64] [--vnis 16]
//        [--sessions 10000] [--monitors 200] [--moves 10000] [--local-share 0.25] [--seed 1]
//        [--commit-sessions 10000]
//   (or: bash scripts/bench.sh monitoring [options])
//
// Fabric: VTEPs 10.0.0.1..10.0.0.<vteps>; this agent is 10.0.0.1 (mirror VNI 16777000).
// Every MAC gets a random VTEP and a random VNI 1..<vnis>; MACs on this VTEP are fed with
// macs.localLearn() on a port p1..p48, the others with macs.remoteUpdate() under their own
// Type-2 route key `2|<vtep>:<vni>|0|<mac>|` (RD = VTEP:VNI), sequence 0.
// Sessions: <monitors> monitor servers (HOST-ID 1..<monitors>) and <sessions> monitored
// hosts, all distinct random MACs of the table; session j monitors host j and copies to
// monitor server j mod <monitors>, direction both/both/from-host/to-host by j mod 4. They
// are added as remote sessions (what the EVPN feed makes of other agents' monitor routes)
// with core.engine.upsertSession() in one engine.batch() (as core.handleBgp() feeds a full
// table), ids `10.0.0.<k>:<n>` for agents k = 2..64.
// Moves: one third each of monitored hosts, monitor servers and unrelated MACs, picked at
// random; each is an RFC 7432 section 15 MAC Mobility move:
//   remote -> remote  remoteUpdate(new VTEP's key, sequence + 1), then remoteWithdraw(old key)
//   remote -> local   localLearn(port) (takes sequence + 1), then remoteWithdraw(old key)
//   local  -> remote  remoteUpdate(new VTEP's key, local sequence + 1), then localForget()
// A remote MAC lands on this VTEP with probability <local-share>, else on another remote
// VTEP. One move's time runs from its first table call until core.takeChanges() has
// returned the entry diff (process.hrtime.bigint()); everything else (picking, key strings,
// checks) is outside it. Also printed: which moves a GC pause fell into, and how busy other
// processes kept the machine during the moves (on a shared 2-CPU machine that load shows in
// p99 and max). Per-move getrusage() was tried and dropped: the syscalls alone moved p99 by
// some 0.05 ms.
// Duplicate detection stays on (the default 5 moves in 180 s), on a manual clock advanced
// 181 s between moves: its bookkeeping runs on every move but no MAC is ever frozen (this
// measures moves, not freezes).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MonitoringCore } from '../src/monitoring/core';
import { MirrorEntry, VtepContext, computeEntries, sameEntry } from '../src/monitoring/entries';
import { defaultMonitoringRouteTarget } from '../src/monitoring/monitor-route';
import { Direction, MonitoringSession } from '../src/monitoring/session';
import { ManualClock } from '../src/util/clock';

const AIM_P99_MS = 1;
const AIM_MEMORY_MB = 200;
const PORTS = 48;

/** mulberry32: a small seeded PRNG, so every run makes the same fabric and moves. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const h2 = (v: number): string => v.toString(16).padStart(2, '0');
/** Locally administered unicast MACs 02:00:xx:xx:xx:xx, canonical (lower case) form. */
const macOf = (i: number): string => `02:00:${h2((i >>> 24) & 255)}:${h2((i >>> 16) & 255)}:${h2((i >>> 8) & 255)}:${h2(i & 255)}`;

/** Busy and total jiffies of all CPUs (Linux /proc/stat), to see other load on the machine. */
function cpuJiffies(): { busy: number; total: number } | undefined {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - (f[4] ?? 0), total };
  } catch {
    return undefined;
  }
}
const USER_HZ = 100;

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number): number => bytes / (1024 * 1024);

function quantile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

type MoveKind = 'remote->remote' | 'remote->local' | 'local->remote';
type MacRole = 'monitored host' | 'monitor server' | 'unrelated';

interface MoveSample {
  /** Start, ms on the process.hrtime clock. */
  start: number;
  ms: number;
  /** A garbage collection pause fell within the move. */
  gc: boolean;
  kind: MoveKind;
  role: MacRole;
  changes: number;
}

/** Differences between the engine's entries and a from-scratch computation (empty = same). */
function diff(want: ReadonlyMap<string, MirrorEntry>, have: ReadonlyMap<string, MirrorEntry>): string[] {
  const out: string[] = [];
  for (const [id, e] of want) {
    const h = have.get(id);
    if (!h) out.push(`missing in engine.desired(): ${id}`);
    else if (!sameEntry(e, h)) out.push(`differs: ${id}`);
  }
  for (const id of have.keys()) if (!want.has(id)) out.push(`extra in engine.desired(): ${id}`);
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      macs: { type: 'string', default: '100000' },
      vteps: { type: 'string', default: '64' },
      vnis: { type: 'string', default: '16' },
      sessions: { type: 'string', default: '10000' },
      monitors: { type: 'string', default: '200' },
      moves: { type: 'string', default: '10000' },
      'local-share': { type: 'string', default: '0.25' },
      seed: { type: 'string', default: '1' },
      'commit-sessions': { type: 'string', default: '10000' },
    },
  });
  const nMacs = Number(values.macs);
  const nVteps = Number(values.vteps);
  const nVnis = Number(values.vnis);
  const nSessions = Number(values.sessions);
  const nMonitors = Number(values.monitors);
  const nMoves = Number(values.moves);
  const localShare = Number(values['local-share']);
  const nCommit = Number(values['commit-sessions']);
  const rand = prng(Number(values.seed));
  const randInt = (n: number): number => Math.floor(rand() * n);
  if (nMonitors < 1 || nSessions < 1 || nMonitors + nSessions >= nMacs) throw new RangeError('need 1 <= monitors, 1 <= sessions, monitors + sessions < macs');
  if (nMonitors > 0xffff) throw new RangeError('at most 65535 monitor servers (HOST-IDs)');
  if (nVteps < 3 || nVteps > 254) throw new RangeError('vteps must be 3..254');
  if (!gc) process.stderr.write('note: global.gc() is not exposed (run node with --expose-gc): memory figures include garbage\n');

  const vteps = Array.from({ length: nVteps }, (_, i) => `10.0.0.${i + 1}`);
  const vtep: VtepContext = { vtepIp: vteps[0]!, mirrorVni: 16777000 };
  const ports = Array.from({ length: PORTS }, (_, i) => `p${i + 1}`);
  const routeKey = (v: number, vni: number, mac: string): string => `2|${vteps[v]}:${vni}|0|${mac}|`;

  gc?.();
  const base = process.memoryUsage();

  const clock = new ManualClock();
  const core = new MonitoringCore({ vtep, routerId: vtep.vtepIp, routeTarget: defaultMonitoringRouteTarget(65000), clock });
  const { macs, engine } = core;

  // Where each MAC is (VTEP index, 0 = this one) and its MAC Mobility sequence: the
  // bench's own model, to make moves and to check the table after each one.
  const macStr: string[] = new Array<string>(nMacs);
  const macVni = new Int32Array(nMacs);
  const at = new Int32Array(nMacs);
  const seq = new Int32Array(nMacs);

  let t = process.hrtime.bigint();
  let local = 0;
  for (let i = 0; i < nMacs; i++) {
    const mac = macOf(i);
    const vni = 1 + randInt(nVnis);
    const v = randInt(nVteps);
    macStr[i] = mac;
    macVni[i] = vni;
    at[i] = v;
    if (v === 0) {
      macs.localLearn(vni, mac, ports[randInt(PORTS)]!);
      local++;
    } else {
      macs.remoteUpdate(vni, mac, routeKey(v, vni, mac), { vtep: vteps[v]!, sequence: 0, sticky: false });
    }
  }
  const macsMs = Number(process.hrtime.bigint() - t) / 1e6;
  const peakAfterMacs = process.resourceUsage().maxRSS * 1024;

  // Distinct random MACs: the first nMonitors of a shuffle are monitor servers, the next
  // nSessions monitored hosts, the rest unrelated.
  const order = new Int32Array(nMacs);
  for (let i = 0; i < nMacs; i++) order[i] = i;
  for (let i = nMacs - 1; i > 0; i--) {
    const j = randInt(i + 1);
    const x = order[i]!;
    order[i] = order[j]!;
    order[j] = x;
  }
  const monitorIdx = order.subarray(0, nMonitors);
  const hostIdx = order.subarray(nMonitors, nMonitors + nSessions);
  const otherIdx = order.subarray(nMonitors + nSessions);
  const directions: Direction[] = ['both', 'both', 'from-host', 'to-host'];

  t = process.hrtime.bigint();
  const perAgent = new Array<number>(nVteps).fill(0);
  // One batch, as core.handleBgp() does with a full table of monitor routes.
  engine.batch(() => {
    for (let j = 0; j < nSessions; j++) {
      const h = hostIdx[j]!;
      const m = monitorIdx[j % nMonitors]!;
      const hostId = (j % nMonitors) + 1;
      const agent = 1 + (j % (nVteps - 1)); // VTEPs 2..64 originate them
      const host: MonitoringSession['host'] = j % 2 === 0 ? { mac: macStr[h]!, ipv4: `172.${16 + (h >>> 16)}.${(h >>> 8) & 255}.${h & 255}` } : { mac: macStr[h]! };
      const id = `${vteps[agent]}:${++perAgent[agent]!}`;
      engine.upsertSession({
        id,
        name: id,
        origin: 'remote',
        vni: macVni[h]!,
        host,
        monitor: { mac: macStr[m]!, ipv4: `10.200.${hostId >>> 8}.${hostId & 255}`, hostId, vni: macVni[m]! },
        direction: directions[j % 4]!,
        enabled: true,
      });
    }
  });
  const sessionsMs = Number(process.hrtime.bigint() - t) / 1e6;
  const peakAfterSessions = process.resourceUsage().maxRSS * 1024;
  const setupChanges = core.takeChanges().size;
  const entriesAfterSetup = engine.desired().size;

  let failed = false;
  const check = (when: string): number => {
    const t0 = process.hrtime.bigint();
    const want = computeEntries(engine.allSessions(), macs.locate, vtep);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const d = diff(want, engine.desired());
    if (d.length) {
      failed = true;
      process.stderr.write(`ERROR ${when}: engine.desired() differs from computeEntries() in ${d.length} entries, e.g.\n  ${d.slice(0, 10).join('\n  ')}\n`);
    }
    return ms;
  };
  check('after setup');

  gc?.();
  const afterSetup = process.memoryUsage();

  // The moves. GC pauses are recorded (PerformanceObserver, delivered after the loop) to
  // tell which moves a collection fell into.
  const gcPauses: { start: number; end: number }[] = [];
  const hrOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcPauses.push({ start: e.startTime + hrOffsetMs, end: e.startTime + e.duration + hrOffsetMs });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const roles: MacRole[] = ['monitored host', 'monitor server', 'unrelated'];
  const pools = [hostIdx, monitorIdx, otherIdx];
  const samples: MoveSample[] = [];
  const phaseCpu0 = process.cpuUsage();
  const phaseJiffies0 = cpuJiffies();
  const phaseWall0 = process.hrtime.bigint();
  let modelErrors = 0;
  for (let k = 0; k < nMoves; k++) {
    const r = randInt(3);
    const pool = pools[r]!;
    const i = pool[randInt(pool.length)]!;
    const mac = macStr[i]!;
    const vni = macVni[i]!;
    const from = at[i]!;
    let to: number;
    if (from === 0) to = 1 + randInt(nVteps - 1);
    else if (rand() < localShare) to = 0;
    else {
      to = 1 + randInt(nVteps - 2);
      if (to >= from) to++;
    }
    const port = to === 0 ? ports[randInt(PORTS)]! : undefined;
    const oldKey = from === 0 ? '' : routeKey(from, vni, mac);
    const newKey = to === 0 ? '' : routeKey(to, vni, mac);
    const newSeq = seq[i]! + 1;
    const advert = { vtep: vteps[to]!, sequence: newSeq, sticky: false };
    clock.advance(181_000);

    let kind: MoveKind;
    let changes: number;
    let t0: bigint;
    let t1: bigint;
    if (from !== 0 && to !== 0) {
      kind = 'remote->remote';
      t0 = process.hrtime.bigint();
      macs.remoteUpdate(vni, mac, newKey, advert);
      macs.remoteWithdraw(vni, mac, oldKey);
      changes = core.takeChanges().size;
      t1 = process.hrtime.bigint();
    } else if (to === 0) {
      kind = 'remote->local';
      t0 = process.hrtime.bigint();
      macs.localLearn(vni, mac, port!);
      macs.remoteWithdraw(vni, mac, oldKey);
      changes = core.takeChanges().size;
      t1 = process.hrtime.bigint();
    } else {
      kind = 'local->remote';
      t0 = process.hrtime.bigint();
      macs.remoteUpdate(vni, mac, newKey, advert);
      macs.localForget(vni, mac);
      changes = core.takeChanges().size;
      t1 = process.hrtime.bigint();
    }
    samples.push({ start: Number(t0) / 1e6, ms: Number(t1 - t0) / 1e6, gc: false, kind, role: roles[r]!, changes });

    at[i] = to;
    seq[i] = newSeq;
    const st = macs.status(vni, mac);
    const ok = st?.location && (to === 0 ? st.location.kind === 'local' && st.location.port === port : st.location.kind === 'remote' && st.location.vtep === vteps[to]) && st.sequence === newSeq;
    if (!ok && modelErrors++ < 5)
      process.stderr.write(`ERROR move ${k}: ${mac} (VNI ${vni}) should be at ${to === 0 ? `local ${port}` : vteps[to]} seq ${newSeq}, table says ${JSON.stringify(st)}\n`);
  }
  if (modelErrors) failed = true;
  const frozen = macs.duplicates().length;
  const peakAfterMoves = process.resourceUsage().maxRSS * 1024;
  // Other load during the moves: CPU time the whole machine spent busy, minus this process's.
  const phaseWallS = Number(process.hrtime.bigint() - phaseWall0) / 1e9;
  const phaseCpu = process.cpuUsage(phaseCpu0);
  const phaseJiffies1 = cpuJiffies();
  const ownCpuS = (phaseCpu.user + phaseCpu.system) / 1e6;
  const otherCpuS = phaseJiffies0 && phaseJiffies1 ? Math.max(0, (phaseJiffies1.busy - phaseJiffies0.busy) / USER_HZ - ownCpuS) : NaN;
  await new Promise((r) => setTimeout(r, 50)); // the observer's entries come on a later tick
  gcObserver.disconnect();
  {
    // Each pause goes to the move it overlaps most (the entries' start times are only good
    // to a few tenths of a ms). Both lists are in time order.
    let m = 0;
    for (const p of gcPauses) {
      while (m < samples.length && samples[m]!.start + samples[m]!.ms < p.start) m++;
      let best: MoveSample | undefined;
      let bestOverlap = 0;
      for (let k = m; k < samples.length && samples[k]!.start <= p.end; k++) {
        const x = samples[k]!;
        const overlap = Math.min(p.end, x.start + x.ms) - Math.max(p.start, x.start);
        if (overlap > bestOverlap) [best, bestOverlap] = [x, overlap];
      }
      if (best) best.gc = true;
    }
  }
  const movePhase = samples.length ? { start: samples[0]!.start, end: samples[samples.length - 1]!.start + samples[samples.length - 1]!.ms } : { start: 0, end: 0 };
  const gcInMoves = gcPauses.filter((p) => p.end >= movePhase.start && p.start <= movePhase.end);
  gc?.();
  const afterMoves = process.memoryUsage();

  // Full recompute, from scratch, against the engine's incremental result.
  const recomputes: number[] = [];
  for (let n = 0; n < 5; n++) recomputes.push(check(n === 0 ? 'after the moves' : `after the moves (run ${n + 1})`));
  const recomputeMedian = [...recomputes].sort((a, b) => a - b)[2]!;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  core.close();

  // A configuration commit of <commit-sessions> sessions to ONE monitor server on a fresh core
  // (after the memory figures above): the cost of a large HOST-ID group, through applyConfig.
  const commit = new MonitoringCore({ vtep, routerId: vtep.vtepIp, routeTarget: defaultMonitoringRouteTarget(65000), clock: new ManualClock() });
  commit.macs.localLearn(1, macOf(0), 'p1');
  const commitCfg = {
    monitorServers: [{ name: 'collector', mac: macOf(0), ipv4: '10.99.0.1', hostId: 1 }],
    sessions: Array.from({ length: nCommit }, (_, j) => ({ name: `c${j}`, vni: 1, host: { mac: macOf(j + 1) }, monitorServer: 'collector' })),
  };
  for (const x of commitCfg.sessions) commit.macs.localLearn(1, x.host.mac, ports[randInt(PORTS)]!);
  t = process.hrtime.bigint();
  commit.applyConfig(commitCfg);
  commit.takeChanges();
  const commitMs = Number(process.hrtime.bigint() - t) / 1e6;
  const commitEntries = commit.engine.desired().size;
  commit.close();

  // Report.
  const stats = (xs: MoveSample[]) => {
    const a = Float64Array.from(xs.map((x) => x.ms)).sort();
    return { n: xs.length, p50: quantile(a, 0.5), p99: quantile(a, 0.99), max: a.length ? a[a.length - 1]! : NaN, withChanges: xs.filter((x) => x.changes > 0).length, entries: xs.reduce((s, x) => s + x.changes, 0) };
  };
  const all = stats(samples);

  const aim = (ok: boolean): string => (ok ? 'aim met' : 'aim NOT met');
  const f3 = (x: number): string => x.toFixed(3);
  const lines: string[] = [];
  lines.push(
    `Monitoring core, in-process: ${nVteps} VTEPs, ${nMacs} MACs in ${nVnis} VNIs (${local} on this VTEP ${vtep.vtepIp}), ` +
      `${nSessions} remote sessions to ${nMonitors} monitor servers, ${nMoves} moves (node ${process.version}, ${os.cpus().length} CPUs, ` +
      `load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${gc ? 'gc exposed' : 'gc NOT exposed'})`,
  );
  lines.push(`setup: ${nMacs} MACs fed in ${macsMs.toFixed(0)} ms, ${nSessions} sessions upserted in ${sessionsMs.toFixed(0)} ms; ${entriesAfterSetup} desired entries (${setupChanges} in the first takeChanges())`);
  lines.push('');
  lines.push('| figure | value | aim |');
  lines.push('|---|---|---|');
  lines.push(`| move, first table call -> takeChanges() returned: p50 | ${f3(all.p50)} ms | |`);
  lines.push(`| move: p99 | ${f3(all.p99)} ms | < ${AIM_P99_MS} ms: ${aim(all.p99 < AIM_P99_MS)} |`);
  lines.push(`| move: max | ${f3(all.max)} ms | |`);
  lines.push(`| moves with entry changes | ${all.withChanges} of ${all.n} (${all.entries} entries changed in all) | |`);
  lines.push(`| full recompute, computeEntries() from scratch (median of 5) | ${recomputeMedian.toFixed(1)} ms (runs: ${recomputes.map((x) => x.toFixed(1)).join(', ')}) | |`);
  lines.push(`| computeEntries() == engine.desired() | ${failed ? 'NO' : 'yes'} (${engine.desired().size} entries) | |`);
  lines.push(`| heap used after setup (after gc) | ${mb(afterSetup.heapUsed).toFixed(0)} MB (Node baseline before setup: ${mb(base.heapUsed).toFixed(0)} MB) | |`);
  lines.push(`| heap used after the moves (after gc) | ${mb(afterMoves.heapUsed).toFixed(0)} MB | |`);
  lines.push(`| RSS after setup | ${mb(afterSetup.rss).toFixed(0)} MB (baseline: ${mb(base.rss).toFixed(0)} MB) | < ${AIM_MEMORY_MB} MB: ${aim(mb(afterSetup.rss) < AIM_MEMORY_MB)} |`);
  lines.push(`| peak RSS (whole run) | ${mb(peakRss).toFixed(0)} MB | < ${AIM_MEMORY_MB} MB: ${aim(mb(peakRss) < AIM_MEMORY_MB)} |`);
  lines.push(
    `| peak RSS so far, after: MACs fed / sessions added / moves / recomputes | ${[peakAfterMacs, peakAfterSessions, peakAfterMoves, peakRss].map((x) => mb(x).toFixed(0)).join(' / ')} MB | |`,
  );
  lines.push('');
  lines.push('| moves by | kind | n | p50 ms | p99 ms | max ms | with entry changes | entries changed |');
  lines.push('|---|---|---|---|---|---|---|---|');
  const row = (by: string, what: string, xs: MoveSample[]) => {
    const s = stats(xs);
    if (s.n) lines.push(`| ${by} | ${what} | ${s.n} | ${f3(s.p50)} | ${f3(s.p99)} | ${f3(s.max)} | ${s.withChanges} | ${s.entries} |`);
  };
  for (const r of roles) row('MAC', r, samples.filter((x) => x.role === r));
  for (const k of ['remote->remote', 'remote->local', 'local->remote'] as MoveKind[]) row('move', k, samples.filter((x) => x.kind === k));
  lines.push('');
  const withGc = stats(samples.filter((x) => x.gc));
  const noGc = stats(samples.filter((x) => !x.gc));
  const gcMs = gcInMoves.reduce((a, p) => a + (p.end - p.start), 0);
  const gcMax = gcInMoves.reduce((a, p) => Math.max(a, p.end - p.start), 0);
  lines.push(
    `GC during the move phase: ${gcInMoves.length} pauses, ${gcMs.toFixed(1)} ms in all, longest ${gcMax.toFixed(2)} ms; ` +
      `${withGc.n} moves had a pause inside (their p50 ${f3(withGc.p50)} ms, max ${f3(withGc.max)} ms); ` +
      `moves without one: p99 ${f3(noGc.p99)} ms, max ${f3(noGc.max)} ms`,
  );
  lines.push(
    `move phase: ${phaseWallS.toFixed(2)} s wall, this process ${ownCpuS.toFixed(2)} s CPU; other processes kept ` +
      `${Number.isNaN(otherCpuS) ? '?' : ((100 * otherCpuS) / phaseWallS).toFixed(0)}% of one CPU busy meanwhile (of ${os.cpus().length}: preemption shows in p99/max)`,
  );
  lines.push(`config commit of ${nCommit} sessions to one monitor server (core.applyConfig on a fresh core, all MACs local): ${commitMs.toFixed(0)} ms, ${commitEntries} entries`);
  lines.push(`duplicate detection: on (5 moves in 180 s), manual clock +181 s per move; MACs frozen at the end: ${frozen}; table size ${macs.size}`);
  if (modelErrors) lines.push(`ERROR: ${modelErrors} moves left the MAC table disagreeing with the move made (see stderr)`);
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    'JSON ' +
      JSON.stringify({
        macs: nMacs,
        vteps: nVteps,
        vnis: nVnis,
        sessions: nSessions,
        monitors: nMonitors,
        moves: nMoves,
        localMacs: local,
        setupMs: { macs: macsMs, sessions: sessionsMs },
        moveMs: { p50: all.p50, p99: all.p99, max: all.max },
        moveMsWithoutGc: { p99: noGc.p99, max: noGc.max },
        movesWithGc: withGc.n,
        gcPausesInMoves: gcInMoves.length,
        movePhase: { wallS: phaseWallS, ownCpuS, otherCpuS },
        movesWithChanges: all.withChanges,
        entriesChanged: all.entries,
        recomputeMs: recomputes,
        commitOneServer: { sessions: nCommit, ms: commitMs, entries: commitEntries },
        entries: engine.desired().size,
        heapUsedAfterSetupMb: mb(afterSetup.heapUsed),
        rssAfterSetupMb: mb(afterSetup.rss),
        heapUsedAfterMovesMb: mb(afterMoves.heapUsed),
        peakRssMb: mb(peakRss),
        peakRssMbAfter: { macs: mb(peakAfterMacs), sessions: mb(peakAfterSessions), moves: mb(peakAfterMoves), recomputes: mb(peakRss) },
        consistent: !failed,
        loadavg: os.loadavg(),
      }) +
      '\n',
  );
  if (failed) process.exit(1);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
