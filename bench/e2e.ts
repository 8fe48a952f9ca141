#!/usr/bin/env node
// Benchmark (issue 6): end-to-end latencies of the evpn-mirror agents behind one FRR 8.4 route
// reflector, in network namespaces, with real agent processes (dist/src/cli/evpn-mirror-agent.js)
// and the Linux driver (entries really installed in nftables). Prints figures; asserts nothing.
//
//   node dist/bench/e2e.js [--n 4,32] [--sessions 100] [--moves 20] [--settle 250]
//                          [--verify-every 1] [--keep]
// The agents use the Linux driver at every size (32 agents fit the 2-core VM; see
// bench/RESULTS.md). The memory driver is no option here: it has no FDB watcher, so the
// agents would know no local MAC and this fabric's hosts would have no location.
//   (bash scripts/bench.sh e2e [options], as root)
//
// Per fabric size N (bench/e2e/lab.ts: N VTEP namespaces, agents in standalone MAC mode,
// 100 monitored host MACs as static FDB entries spread over the VTEPs, the monitor server
// (HOST-ID 1) on VTEP101, two probe BGP speakers as extra RR clients, tcpdump on the RR link):
//
// 1. Config to data plane, `--sessions` times: one new session (host i -> the monitor server)
//    is committed with <edit-config> on running at VTEP101's agent. t0 = the NETCONF helper's
//    Date.now() just before the RPC goes out; the reply's arrival is stamped too. Done = for
//    every agent whose entries the session changes (all N: each gets at least the session's
//    2nd entry), the kernel's commit of the nft transaction of its last batch after t0: the
//    receipt of its first nftables netlink notification by bench/e2e/nft-events.py in that
//    namespace (stamped with the same clock; calibrated each run: "detection" row). The
//    agents' own 'data plane batch applied' log stamps (1 ms) are printed too: they come later,
//    once the driver's apply() returned (it does more after `nft -f`). No polling enters
//    either figure. After a settle time every agent's installed entries are read over NETCONF
//    <get> and compared with the method's table for the current sessions and host locations
//    (outside the timing).
// 2. FRR's own reflection delay, in the same run, interleaved with (1): probe-o originates a
//    Type-2 route, probe-r receives it (both stamp in-process); and from the RR capture
//    (kernel timestamps, microseconds): RR in -> RR out, for the probe routes and for the
//    sessions' own monitor routes. ours - FRR = the part attributable to the agents.
// 3. Move to entries, `--moves` times: a monitored host's MAC appears on another VTEP (static
//    FDB entry written through a running `bridge -batch -`, t0 just before); done = the latest
//    kernel commit (as in 1) of the agents whose entries the move changes (the old and the new
//    VTEP of the host): the new VTEP reacts to its FDB, the old one to the new VTEP's Type-2 with a
//    higher MAC Mobility sequence, reflected by the RR. Then verified like (1).
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { sleep } from '../src/lab/exec';
import { EM_NS } from '../src/lab/fabric';
import type { StateEntry } from '../src/lab/fabric';
import { RouteEvent, readBgpCapture } from './e2e/bgp-capture';
import {
  CpuSnapshot,
  Driver,
  E2eLab,
  cpuDelta,
  FIRST_VTEP,
  HOST_PORT,
  MONITOR_HOST_ID,
  MONITOR_IPV4,
  MONITOR_MAC,
  MONITOR_PORT,
  MONITOR_VTEP,
  PROBE_O_IP,
  PROBE_R_IP,
  RR_IP,
  agentIp,
  boost,
  hostMac,
  vtepIp,
} from './e2e/lab';

const HOSTS = 100;
const probeMac = (j: number) => `02:fe:00:00:${((j >> 8) & 0xff).toString(16).padStart(2, '0')}:${(j & 0xff).toString(16).padStart(2, '0')}`;

// ---------------------------------------------------------------------------------------
// The method's table as labels (cf. src/lab/fabric.ts entryLabel, with raw MACs and IPs)

function actionLabel(a: string): string {
  const t = /^tunnel (\S+) hostId=(\d+)/.exec(a);
  if (t) return `tunnel ${t[1]}`;
  const p = /^port (\S+)/.exec(a);
  return p ? `port ${p[1]}` : a;
}

function stateLabel(e: Pick<StateEntry, 'kind' | 'match' | 'action'>): string {
  if (e.kind === 'third') {
    const m = /hostId=(\d+)/.exec(e.match);
    return m ? `3rd HOST-ID ${m[1]} -> ${actionLabel(e.action)}` : `${e.match} -> ${e.action}`;
  }
  const m = /^(first|second) session=\S+ vni=\d+ (src|dst)=([0-9a-f:]+)(?:,\S+)?(?: except=(\S+))?$/.exec(e.match);
  if (!m) return `${e.match} -> ${e.action}`;
  return `${m[1] === 'first' ? '1st' : '2nd'} ${m[2]} ${m[3]}${m[4] ? ` except ${m[4]}` : ''} -> ${actionLabel(e.action)}`;
}

/** What VTEP `no` must hold for the sessions on hosts `sessionHosts` (monitor on MONITOR_VTEP). */
function expectedLabels(no: number, sessionHosts: readonly number[], hostAt: readonly number[]): string[] {
  const act = no === MONITOR_VTEP ? `port ${MONITOR_PORT}` : `tunnel ${vtepIp(MONITOR_VTEP)}`;
  const out: string[] = [];
  for (const i of sessionHosts) {
    const mac = hostMac(i);
    if (hostAt[i] === no) out.push(`1st src ${mac} -> ${act}`, `2nd dst ${mac} except ${HOST_PORT} -> ${act}`);
    else out.push(`2nd dst ${mac} -> ${act}`);
  }
  if (no === MONITOR_VTEP && sessionHosts.length > 0) out.push(`3rd HOST-ID ${MONITOR_HOST_ID} -> port ${MONITOR_PORT}`);
  return out.sort();
}

// ---------------------------------------------------------------------------------------
// Statistics

function pct(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
const p50 = (xs: readonly number[]) => pct(xs, 0.5);
const p99 = (xs: readonly number[]) => pct(xs, 0.99);
const max = (xs: readonly number[]) => (xs.length ? Math.max(...xs) : NaN);
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

// ---------------------------------------------------------------------------------------
// One measured event

interface EventResult {
  /** Host number (session i monitors host i; a move moves host i). */
  host: number;
  t0: number;
  /** NETCONF reply arrival (sessions). */
  reply?: number;
  /** VTEP101's 'monitoring configuration applied' stamp (sessions). */
  configApplied?: number;
  /** VTEP101's 'configuration committed' stamp (NETCONF datastore written; sessions). */
  committed?: number;
  /**
   * Agents whose entries had to change, with the time their entries were in the kernel: the
   * first commit notification of the nft transaction of their last batch after t0 (the log stamp
   * when no transaction was seen).
   */
  applied: Map<number, number>;
  /** The same agents' 'data plane batch applied' log stamps (their last batch after t0). */
  logged: Map<number, number>;
  /** Agents whose kernel time fell back to the log stamp. */
  nftMissed: number;
  /** Agents whose commit notification was stamped after their batch log line (stamping lagging). */
  nftLate: number;
  /** Latest log stamp minus t0. */
  totalLog: number;
  /** Batches logged in the window by those agents (more than one each = a split update). */
  batches: number;
  /** Latest stamp minus t0; NaN when detection failed. */
  total: number;
  /** The NETCONF read-back matched the method's table at the first check. */
  verified: boolean;
  note?: string;
  from?: number;
  to?: number;
  /** CPU spent from t0 to the end of the settle time (before the NETCONF read-back). */
  cpu?: CpuSnapshot;
  /** That window, ms. */
  windowMs?: number;
}

interface ProbeResult {
  sent: number;
  rx: number;
}

interface PhaseResult {
  n: number;
  driver: Driver;
  buildMs: number;
  sessions: EventResult[];
  moves: EventResult[];
  probes: ProbeResult[];
  capture: ReturnType<typeof analyseCapture>;
  load: { before: number[]; after: number[] };
  unexpectedBatches: number;
  /** Commit-notification stamping delay calibration (ms), linux driver. */
  calibration: number[];
  /** CPU of the idle fabric over `idleMs` (before the sessions): the background in every window. */
  idle?: CpuSnapshot;
  idleMs?: number;
}

async function waitBatches(fab: E2eLab, t0: number, marks: Map<number, number>, expect: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    fab.pollLogs();
    const ok = expect.every((no) => fab.vtep(no).tail.batches.slice(marks.get(no)!).some((b) => b.t >= t0 - 1));
    if (ok) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

/** Reads every agent's entries; returns the VTEPs whose labels differ from the model. */
async function verify(fab: E2eLab, sessionHosts: readonly number[]): Promise<{ bad: number[]; detail: string }> {
  const got = await Promise.all(fab.nos.map(async (no) => (await fab.state(no, '<entry/>')).entries.map(stateLabel).sort()));
  const bad: number[] = [];
  let detail = '';
  fab.nos.forEach((no, k) => {
    const want = expectedLabels(no, sessionHosts, fab.hostAt);
    if (JSON.stringify(want) !== JSON.stringify(got[k])) {
      bad.push(no);
      if (!detail) {
        const missing = want.filter((w) => !got[k]!.includes(w));
        const extra = got[k]!.filter((g) => !want.includes(g));
        detail = `VTEP${no}: missing ${JSON.stringify(missing.slice(0, 3))}${missing.length > 3 ? ` (+${missing.length - 3})` : ''}, extra ${JSON.stringify(extra.slice(0, 3))}${extra.length > 3 ? ` (+${extra.length - 3})` : ''}`;
      }
    }
  });
  return { bad, detail };
}

/**
 * Waits for the event's batches, lets it settle, verifies. `changed` = the VTEPs whose
 * expected entries differ before/after the event.
 */
async function finishEvent(fab: E2eLab, r: EventResult, cpu0: CpuSnapshot, marks: Map<number, number>, changed: number[], sessionHosts: readonly number[], settleMs: number, doVerify: boolean): Promise<void> {
  const ok = await waitBatches(fab, r.t0, marks, changed, 30_000);
  await sleep(settleMs);
  r.cpu = cpuDelta(cpu0, fab.cpu());
  r.windowMs = Date.now() - r.t0;
  fab.pollLogs();
  let last = -Infinity;
  let lastLog = -Infinity;
  for (const no of changed) {
    const v = fab.vtep(no);
    const bs = v.tail.batches.slice(marks.get(no)!).filter((b) => b.t >= r.t0 - 1);
    r.batches += bs.length;
    if (!bs.length) continue;
    const logT = Math.max(...bs.map((b) => b.t));
    r.logged.set(no, logT);
    lastLog = Math.max(lastLog, logT);
    let t = logT;
    if (v.nft) {
      // The transaction of the last batch: the kernel committed it before the agent logged the
      // batch, so the last one stamped between t0 and the log line; when the stamp lagged
      // behind the log line (a starved listener), the first one stamped after it.
      const after = v.nft.transactions.filter((x) => x.first >= r.t0 - 1);
      const before = after.filter((x) => x.first < logT + 1); // the log stamp is truncated to the ms
      const late = after.find((x) => x.first >= logT + 1 && x.first <= logT + 1000);
      if (before.length) t = before[before.length - 1]!.first;
      else if (late) {
        t = late.first;
        r.nftLate++;
      } else r.nftMissed++;
    }
    r.applied.set(no, t);
    last = Math.max(last, t);
  }
  r.total = ok ? last - r.t0 : NaN;
  r.totalLog = ok ? lastLog - r.t0 : NaN;
  if (!ok) r.note = `no batch within 30 s from VTEP ${changed.filter((no) => !r.applied.has(no)).join(',')}`;
  if (!doVerify) return;
  let v = await verify(fab, sessionHosts);
  r.verified = v.bad.length === 0;
  if (!r.verified) {
    const first = v.detail;
    const deadline = Date.now() + 15_000;
    while (v.bad.length && Date.now() < deadline) {
      await sleep(100);
      v = await verify(fab, sessionHosts);
    }
    r.note = `${r.note ? `${r.note}; ` : ''}read-back differed from the method's table after ${settleMs} ms settle (${first})${v.bad.length ? `; still on VTEP ${v.bad.join(',')}: ${v.detail}` : '; matched later'}`;
  }
}

function analyseCapture(events: RouteEvent[], n: number, sessions: EventResult[], moves: EventResult[], probes: readonly ProbeResult[]) {
  const agents = new Set(Array.from({ length: n }, (_, k) => agentIp(FIRST_VTEP + k)));
  const origin = agentIp(MONITOR_VTEP);
  // Index: mac -> events
  const byMac = new Map<string, RouteEvent[]>();
  for (const e of events) {
    let l = byMac.get(e.mac);
    if (!l) byMac.set(e.mac, (l = []));
    l.push(e);
  }
  const sessionRows = sessions.map((s) => {
    const evs = (byMac.get(hostMac(s.host)) ?? []).filter((e) => e.reach && e.rd.startsWith(`${origin}:`));
    const rrIn = evs.find((e) => e.src === origin && e.dst === RR_IP && e.t >= s.t0 - 1);
    const outs = rrIn ? evs.filter((e) => e.src === RR_IP && agents.has(e.dst) && e.t >= rrIn.t) : [];
    const firstOut = outs.length ? Math.min(...outs.map((e) => e.t)) : NaN;
    const lastOut = outs.length ? Math.max(...outs.map((e) => e.t)) : NaN;
    // Per receiving agent: its install stamp minus the RR's UPDATE to it.
    const perAgent: number[] = [];
    for (const [no, t] of s.applied) {
      if (no === MONITOR_VTEP) continue;
      const o = outs.find((e) => e.dst === agentIp(no));
      if (o) perAgent.push(t - o.t);
    }
    return { rrIn: rrIn ? rrIn.t - s.t0 : NaN, firstOut: rrIn ? firstOut - rrIn.t : NaN, lastOut: rrIn ? lastOut - rrIn.t : NaN, outs: outs.length, tailAfterLastOut: s.t0 + s.total - lastOut, perAgent };
  });
  const probeRows = probes.map((_, j) => {
    const evs = (byMac.get(probeMac(j)) ?? []).filter((e) => e.reach);
    const rrIn = evs.find((e) => e.src === PROBE_O_IP && e.dst === RR_IP);
    const toR = evs.find((e) => e.src === RR_IP && e.dst === PROBE_R_IP);
    const outs = evs.filter((e) => e.src === RR_IP);
    return {
      toReceiver: rrIn && toR ? toR.t - rrIn.t : NaN,
      lastOut: rrIn && outs.length ? Math.max(...outs.map((e) => e.t)) - rrIn.t : NaN,
      outs: outs.length,
    };
  });
  const moveRows = moves.map((m) => {
    const newRd = `${vtepIp(m.to!)}:`;
    const evs = (byMac.get(hostMac(m.host)) ?? []).filter((e) => e.reach && e.rd.startsWith(newRd) && e.t >= m.t0 - 1);
    const rrIn = evs.find((e) => e.src === agentIp(m.to!) && e.dst === RR_IP);
    const toOld = rrIn ? evs.find((e) => e.src === RR_IP && e.dst === agentIp(m.from!) && e.t >= rrIn.t) : undefined;
    return {
      rrIn: rrIn ? rrIn.t - m.t0 : NaN,
      seq: rrIn?.seq,
      reflect: rrIn && toOld ? toOld.t - rrIn.t : NaN,
      oldAfterRr: toOld && m.applied.has(m.from!) ? m.applied.get(m.from!)! - toOld.t : NaN,
      newApplied: m.applied.has(m.to!) ? m.applied.get(m.to!)! - m.t0 : NaN,
      oldApplied: m.applied.has(m.from!) ? m.applied.get(m.from!)! - m.t0 : NaN,
    };
  });
  return { sessionRows, probeRows, moveRows };
}

async function runPhase(n: number, driver: Driver, o: { sessions: number; moves: number; settle: number; verifyEvery: number; keep: boolean }): Promise<PhaseResult> {
  const say = (l: string) => process.stderr.write(`[N=${n}] ${l}\n`);
  const tb = Date.now();
  const fab = await E2eLab.build({ n, hosts: HOSTS, driver, progress: say, keep: o.keep });
  const res: PhaseResult = { n, driver, buildMs: Date.now() - tb, sessions: [], moves: [], probes: [], capture: { sessionRows: [], probeRows: [], moveRows: [] }, load: { before: os.loadavg(), after: [] }, unexpectedBatches: 0, calibration: [] };
  try {
    res.calibration = await fab.calibrateCommitStamps(20);
    // The idle fabric's CPU (keepalives, heal passes every 5 s per agent): the background
    // every timed window also contains.
    const idle0 = fab.cpu();
    const ti = Date.now();
    await sleep(10_000);
    res.idle = cpuDelta(idle0, fab.cpu());
    res.idleMs = Date.now() - ti;
    // The monitor server, once (not timed).
    await fab.edit(
      MONITOR_VTEP,
      `<evpn-mirror xmlns="${EM_NS}"><monitor-server><name>SERV1</name><mac>${MONITOR_MAC}</mac><ipv4>${MONITOR_IPV4}</ipv4><host-id>${MONITOR_HOST_ID}</host-id></monitor-server></evpn-mirror>`,
    );
    await sleep(500);
    const sessionHosts: number[] = [];
    const marksNow = () => new Map(fab.nos.map((no) => [no, fab.vtep(no).tail.batches.length]));
    fab.pollLogs();
    say(`${o.sessions} sessions, each committed on VTEP${MONITOR_VTEP} and timed until installed on all ${n} agents; a probe route after each`);
    for (let i = 0; i < o.sessions; i++) {
      const before = new Map(fab.nos.map((no) => [no, expectedLabels(no, sessionHosts, fab.hostAt).join('|')]));
      const after = [...sessionHosts, i];
      const changed = fab.nos.filter((no) => expectedLabels(no, after, fab.hostAt).join('|') !== before.get(no));
      fab.pollLogs();
      const marks = marksNow();
      const cfgMark = fab.vtep(MONITOR_VTEP).tail.configApplied.length;
      const comMark = fab.vtep(MONITOR_VTEP).tail.committed.length;
      const xml = `<evpn-mirror xmlns="${EM_NS}"><session><name>s${i}</name><vni>1</vni><monitored-host><mac>${hostMac(i)}</mac></monitored-host><monitor-server>SERV1</monitor-server></session></evpn-mirror>`;
      const cpu0 = fab.cpu();
      const { t0, t1 } = await fab.edit(MONITOR_VTEP, xml);
      sessionHosts.push(i);
      const r: EventResult = { host: i, t0, reply: t1, applied: new Map(), logged: new Map(), nftMissed: 0, nftLate: 0, batches: 0, total: NaN, totalLog: NaN, verified: false };
      await finishEvent(fab, r, cpu0, marks, changed, sessionHosts, o.settle, (i + 1) % o.verifyEvery === 0 || i === o.sessions - 1);
      const ca = fab.vtep(MONITOR_VTEP).tail.configApplied[cfgMark];
      if (ca !== undefined) r.configApplied = ca;
      const cm = fab.vtep(MONITOR_VTEP).tail.committed[comMark];
      if (cm !== undefined) r.committed = cm;
      res.sessions.push(r);
      // FRR on its own: a probe route probe-o -> RR -> probe-r (and every other client).
      const mac = probeMac(i);
      fab.probeO.send({ op: 'originate', mac });
      const [sent, rx] = await Promise.all([
        fab.probeO.wait((e) => e.event === 'sent' && e.mac === mac, 10_000, `sent ${mac}`),
        fab.probeR.wait((e) => e.event === 'rx' && e.mac === mac && !e.withdrawn, 10_000, `rx ${mac}`),
      ]);
      res.probes.push({ sent: sent.t!, rx: rx.t! });
      await sleep(100);
      if ((i + 1) % 10 === 0) say(`  ${i + 1} sessions: last total ${f(r.total, 0)} ms (reply ${r.reply! - r.t0} ms), probe ${rx.t! - sent.t!} ms${r.note ? `; ${r.note}` : ''}`);
    }

    // Moves: hosts 0.. each once (no duplicate-MAC detection), to another VTEP.
    if (n > 1 && o.moves > 0) say(`${o.moves} host moves (static FDB entry on another VTEP), timed until the old and new VTEPs' entries are rewritten`);
    for (let k = 0; n > 1 && k < o.moves; k++) {
      const i = k % HOSTS;
      const from = fab.hostAt[i]!;
      const to = FIRST_VTEP + ((from - FIRST_VTEP + 1 + (k % (n - 1))) % n);
      const before = new Map(fab.nos.map((no) => [no, expectedLabels(no, sessionHosts, fab.hostAt).join('|')]));
      const nextAt = [...fab.hostAt];
      nextAt[i] = to;
      const changed = fab.nos.filter((no) => expectedLabels(no, sessionHosts, nextAt).join('|') !== before.get(no));
      fab.pollLogs();
      const marks = marksNow();
      const cpu0 = fab.cpu();
      const { t0 } = await fab.moveHost(i, to);
      const r: EventResult = { host: i, t0, applied: new Map(), logged: new Map(), nftMissed: 0, nftLate: 0, batches: 0, total: NaN, totalLog: NaN, verified: false, from, to };
      await finishEvent(fab, r, cpu0, marks, changed, sessionHosts, o.settle, true);
      res.moves.push(r);
      // The stale entry on the old VTEP goes (as its FDB would age it out): no entry may change.
      fab.pollLogs();
      const m2 = marksNow();
      await fab.removeStale(i, from);
      await sleep(300);
      fab.pollLogs();
      for (const no of fab.nos) res.unexpectedBatches += fab.vtep(no).tail.batches.length - m2.get(no)!;
      if ((k + 1) % 5 === 0) say(`  ${k + 1} moves: last VTEP${from} -> VTEP${to} ${f(r.total, 0)} ms${r.note ? `; ${r.note}` : ''}`);
    }
    res.load.after = os.loadavg();
    await fab.stopCapture();
    const cap = readBgpCapture(fab.captureFile);
    say(`RR capture: ${cap.stats.frames} frames, ${cap.stats.updates} UPDATEs, ${cap.events.length} Type-2 NLRI, ${cap.stats.gaps} gaps, ${cap.stats.decodeErrors} decode errors`);
    res.capture = analyseCapture(cap.events, n, res.sessions, res.moves, res.probes);
  } finally {
    await fab.destroy();
  }
  return res;
}

function report(results: PhaseResult[], args: string): string {
  const L: string[] = [];
  const cpus = os.cpus();
  L.push(`End to end (issue 6): ${cpus.length} CPU(s) ${cpus[0]?.model ?? ''}, Node ${process.version}, args: ${args}`);
  L.push('Times in ms. p50/p99 are nearest-rank over the events; sessions accumulate (session k is committed with k-1 already installed).');
  L.push('');
  for (const r of results) {
    const s = r.sessions;
    const ok = s.filter((x) => Number.isFinite(x.total));
    const tot = ok.map((x) => x.total);
    const reply = s.map((x) => x.reply! - x.t0);
    const cfg = s.filter((x) => x.configApplied !== undefined).map((x) => x.configApplied! - x.t0);
    const cr = r.capture.sessionRows.filter((x) => Number.isFinite(x.lastOut));
    const probeE2e = r.probes.map((p) => p.rx - p.sent);
    const probeRr = r.capture.probeRows.map((x) => x.toReceiver).filter(Number.isFinite);
    const probeLast = r.capture.probeRows.map((x) => x.lastOut).filter(Number.isFinite);
    const sessRr = cr.map((x) => x.lastOut);
    const oursMinusRr = s
      .map((x, k) => x.total - r.capture.sessionRows[k]!.lastOut)
      .filter(Number.isFinite);
    const perAgent = r.capture.sessionRows.flatMap((x) => x.perAgent);
    L.push(`N = ${r.n} VTEP agents (driver ${r.driver}), ${s.length} sessions, ${r.moves.length} moves; fabric built in ${(r.buildMs / 1000).toFixed(1)} s; load average before ${r.load.before.map((x) => x.toFixed(2)).join('/')} after ${r.load.after.map((x) => x.toFixed(2)).join('/')}`);
    L.push(`  ${'figure'.padEnd(62)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}${'n'.padStart(6)}`);
    const row = (name: string, xs: number[]) => L.push(`  ${name.padEnd(62)}${f(p50(xs)).padStart(8)}${f(p99(xs)).padStart(8)}${f(max(xs)).padStart(8)}${String(xs.length).padStart(6)}`);
    row('config to data plane: commit -> in the kernel on all agents', tot);
    row('  the same, by the agents\' batch log stamps', ok.map((x) => x.totalLog));
    row('  commit -> NETCONF reply', reply);
    row('  commit -> VTEP101 datastore committed (its log)', s.filter((x) => x.committed !== undefined).map((x) => x.committed! - x.t0));
    row('  commit -> VTEP101 core applied (its log)', cfg);
    row('  commit -> monitor route at the RR (capture)', cr.map((x) => x.rrIn));
    row('  RR: route in -> last copy out to the agents (capture)', sessRr);
    row('  RR: route in -> first copy out (capture)', cr.map((x) => x.firstOut));
    row('  last copy out of the RR -> last agent installed', cr.map((x) => x.tailAfterLastOut));
    row('  per agent: RR copy to it -> its entries in the kernel', perAgent);
    row('  per agent: entries in the kernel -> batch logged', s.flatMap((x) => [...x.applied].map(([no, t]) => x.logged.get(no)! - t)));
    row('FRR reflection, probe speakers: probe-o originate -> probe-r rx', probeE2e);
    row('FRR reflection, probe route at the RR: in -> out to probe-r', probeRr);
    row('FRR reflection, probe route at the RR: in -> last copy out', probeLast);
    row('ours minus FRR: commit->all installed minus RR in->last out', oursMinusRr);
    L.push(`  ours minus FRR (p50 of totals - p50 of probe-o->probe-r): ${f(p50(tot) - p50(probeE2e))} ms; first 10 sessions p50 ${f(p50(tot.slice(0, 10)))}, last 10 p50 ${f(p50(tot.slice(-10)))}`);
    const mv = r.moves.filter((x) => Number.isFinite(x.total));
    if (r.moves.length) {
      row('move to entries: FDB entry on new VTEP -> old+new VTEP in kernel', mv.map((x) => x.total));
      row('  the same, by the agents\' batch log stamps', mv.map((x) => x.totalLog));
      row('  FDB entry -> new VTEP installed', r.capture.moveRows.map((x) => x.newApplied).filter(Number.isFinite));
      row('  FDB entry -> new VTEP Type-2 at the RR (capture)', r.capture.moveRows.map((x) => x.rrIn).filter(Number.isFinite));
      row('  RR: Type-2 in -> out to the old VTEP (capture)', r.capture.moveRows.map((x) => x.reflect).filter(Number.isFinite));
      row('  RR copy to the old VTEP -> old VTEP installed', r.capture.moveRows.map((x) => x.oldAfterRr).filter(Number.isFinite));
      row('  FDB entry -> old VTEP installed', r.capture.moveRows.map((x) => x.oldApplied).filter(Number.isFinite));
    }
    const cpuLine = (what: string, xs: EventResult[]) => {
      const c = xs.filter((x) => x.cpu);
      if (!c.length) return;
      const m = (k: keyof CpuSnapshot) => c.reduce((a, x) => a + x.cpu![k], 0) / c.length;
      const w = c.reduce((a, x) => a + x.windowMs!, 0) / c.length;
      const bg = r.idle && r.idleMs ? ((r.idle.agents + r.idle.agentChildren) / r.idleMs) * w : NaN;
      L.push(
        `  CPU per ${what} (mean over ${c.length}, t0 .. settle end, ${f(w, 0)} ms window): agents ${f(m('agents'), 0)} ms + their children (ip/bridge/nft) ${f(m('agentChildren'), 0)} ms` +
          ` = ${f((m('agents') + m('agentChildren')) / r.n, 0)} ms per agent; FRR ${f(m('frr'), 0)} ms; harness ${f(m('harness'), 0)} ms; machine busy ${f(m('machineBusy'), 0)} of ${f(m('machineTotal'), 0)} ms` +
          ` (other jobs ~${f(m('machineBusy') - m('agents') - m('agentChildren') - m('frr') - m('harness'), 0)} ms)`,
      );
      if (Number.isFinite(bg)) L.push(`    net of the idle fabric's background (${f(bg, 0)} ms in such a window): agents + children ${f(m('agents') + m('agentChildren') - bg, 0)} ms = ${f((m('agents') + m('agentChildren') - bg) / r.n, 1)} ms per agent`);
    };
    if (r.calibration.length) row('detection: nft -i command written -> its commit stamped', r.calibration);
    if (r.idle && r.idleMs) {
      const per = (x: number) => f((x / r.idleMs!) * 1000, 0);
      L.push(`  CPU of the idle fabric (before the sessions, ${f(r.idleMs / 1000, 1)} s), per second: agents ${per(r.idle.agents)} ms + their children ${per(r.idle.agentChildren)} ms; FRR ${per(r.idle.frr)} ms; harness ${per(r.idle.harness)} ms; machine busy ${per(r.idle.machineBusy)} of ${per(r.idle.machineTotal)} ms`);
    }
    cpuLine('session', s);
    cpuLine('move', r.moves);
    const split = [...s, ...r.moves].filter((x) => x.batches > x.applied.size);
    const missed = [...s, ...r.moves].reduce((a, x) => a + x.nftMissed, 0);
    const late = [...s, ...r.moves].reduce((a, x) => a + x.nftLate, 0);
    const unver = [...s, ...r.moves].filter((x) => x.note);
    const verified = [...s, ...r.moves].filter((x) => x.verified).length;
    L.push(`  checks: ${verified} read-backs matched the method's table at the first look; ${unver.length} event(s) with a note; ${split.length} event(s) whose update took more than one batch on some agent; ${r.unexpectedBatches} batch(es) after removing stale FDB entries (expected 0); ${missed} agent batch(es) without a matching nft transaction (log stamp used); ${late} commit notification(s) stamped after the agent's batch log line`);
    for (const x of unver.slice(0, 10)) L.push(`    host ${x.host}${x.to ? ` move ${x.from}->${x.to}` : ''}: ${x.note}`);
    L.push('');
  }
  L.push('Resolution: t0 and the NETCONF reply: Date.now() in the helper (1 ms). In the kernel: receipt of the first netlink commit');
  L.push('notification of the batch\'s nft transaction (bench/e2e/nft-events.py, 1 us stamps). Batch log stamps: the agents\' own (1 ms), written');
  L.push('once the driver\'s apply() returned. RR in/out: kernel capture stamps on the RR\'s link (1 us). All one clock (CLOCK_REALTIME).');
  return L.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '4,32' },
      sessions: { type: 'string', default: '100' },
      moves: { type: 'string', default: '20' },
      settle: { type: 'string', default: '250' },
      'verify-every': { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
    },
  });
  boost(process.pid);
  const ns = values.n!.split(',').map(Number);
  const results: PhaseResult[] = [];
  const args = process.argv.slice(2).join(' ') || '(defaults)';
  for (const n of ns) {
    const r = await runPhase(n, 'linux', { sessions: Number(values.sessions), moves: Number(values.moves), settle: Number(values.settle), verifyEvery: Math.max(1, Number(values['verify-every'])), keep: values.keep! });
    results.push(r);
    // Each size's table as soon as it is measured (on stderr; the full report follows on stdout).
    if (ns.length > 1) process.stderr.write(`${report([r], args)}\n`);
    await sleep(1000);
  }
  process.stdout.write(`${report(results, args)}\n`);
  const json = results.map((r) => ({
    n: r.n,
    driver: r.driver,
    sessions: r.sessions.map((s, k) => ({ host: s.host, total: s.total, reply: s.reply! - s.t0, configApplied: s.configApplied === undefined ? null : s.configApplied - s.t0, totalLog: s.totalLog, batches: s.batches, verified: s.verified, note: s.note ?? null, cpu: s.cpu, ...r.capture.sessionRows[k], perAgent: undefined })),
    idle: r.idle ? { ...r.idle, ms: r.idleMs } : null,
    probes: r.probes.map((p, k) => ({ e2e: p.rx - p.sent, ...r.capture.probeRows[k] })),
    moves: r.moves.map((m, k) => ({ host: m.host, from: m.from, to: m.to, total: m.total, totalLog: m.totalLog, cpu: m.cpu, verified: m.verified, note: m.note ?? null, ...r.capture.moveRows[k] })),
  }));
  process.stdout.write(`JSON ${JSON.stringify(json)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
