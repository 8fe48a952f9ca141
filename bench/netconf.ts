#!/usr/bin/env node
// Benchmark: the NETCONF northbound (issue 4). Our server (netconf-server-child.js, its own
// process) against yuma123 netconfd 2.13 loaded with the same yang/evpn-mirror.yang, both
// over SSH on loopback, driven by the same ncclient 0.6.13 script (bench/netconf/nc_bench.py,
// with ncclient.transport.ssh.TICK = 0.001 s instead of 0.1 s). Prints figures and ratios;
// asserts nothing about time.
//
//   node dist/bench/netconf.js [--n 10000] [--edits 100] [--runs 3] [--netconfd-runs 1] [--rtt 20]
//                              [--targets ours,netconfd]
//   (or: bash scripts/bench.sh netconf [options]; netconfd needs root)
// netconfd gets one run by default: at N = 10,000 its 100 small edits alone take minutes.
//
// Per run and server (each run starts both servers afresh, empty datastores, target running):
//   edit-config N   one <edit-config> on running: 1 monitor server + N sessions
//   get-config N    one <get-config> of running (reply checked: N sessions)
//   small get       <get-config> with a subtree filter selecting one session (median of --rtt)
//   100 edits       sequential small <edit-config>s on running on the N-entry list, alternately
//                   adding a session and changing one session's vni: p50, p99 (nearest rank:
//                   the 99th of 100), max, total
// Times are client-side (time.perf_counter() around each ncclient call: request building,
// SSH, the server, reply parsing), the same client code for both servers. Cells are medians
// over the runs. Peak RSS is the server process's VmHWM (netconfd alone: sshd and
// netconf-subsystem are not counted; ours is one process with its SSH server inside).
// Both servers save running on every change: ours writes startup.xml atomically with fsync;
// netconfd rewrites ~/.yuma/startup-cfg.xml without fsync.
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Login, RunningServer, netconfdUnavailable, peakRssMb, startNetconfd, startOurs } from './netconf/servers';

const PY = '/usr/bin/python3';
const DRIVER = join(__dirname, '..', '..', 'bench', 'netconf', 'nc_bench.py');

interface DriverOut {
  tick: number;
  connect_ms: number;
  framing: string;
  edit_bytes: number;
  edit_1_ms: number;
  get_1_ms: number;
  get_bytes: number;
  get_1_sessions: number;
  rtt_sessions: number;
  rtt_p50_ms: number;
  edits_ms: number[];
  edits_p50_ms: number;
  edits_p99_ms: number;
  edits_max_ms: number;
  edits_total_ms: number;
  final_sessions: number;
  checks: Record<string, string>;
}

interface RunResult extends DriverOut {
  target: string;
  peakRssMb: number;
}

function driver(login: Login, n: number, edits: number, rtt: number): Promise<DriverOut> {
  return new Promise((resolve, reject) => {
    const py = spawn(PY, [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr.on('data', (d: Buffer) => (err += d.toString()));
    py.on('error', reject);
    py.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`nc_bench.py failed (${code}): ${err.trim()}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as DriverOut);
    });
    py.stdin.end(JSON.stringify({ ...login, n, edits, rtt }));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function once(target: string, n: number, edits: number, rtt: number): Promise<RunResult> {
  let srv: RunningServer;
  let label: string;
  if (target === 'ours') {
    srv = await startOurs();
    label = 'evpn-mirror';
  } else {
    srv = await startNetconfd();
    label = 'netconfd 2.13';
  }
  try {
    const d = await driver(srv.login, n, edits, rtt);
    return { ...d, target: label, peakRssMb: peakRssMb(srv.pid) };
  } finally {
    await srv.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '10000' },
      edits: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      'netconfd-runs': { type: 'string', default: '1' },
      rtt: { type: 'string', default: '20' },
      targets: { type: 'string', default: 'ours,netconfd' },
    },
  });
  const n = Number(values.n);
  const edits = Number(values.edits);
  const runs = Number(values.runs);
  const netconfdRuns = Number(values['netconfd-runs']);
  const rtt = Number(values.rtt);
  const targets = values.targets!.split(',');
  let netconfdWhy: string | undefined;
  if (targets.includes('netconfd')) netconfdWhy = netconfdUnavailable();

  const per = new Map<string, RunResult[]>();
  const load0 = os.loadavg();
  let loadMax = load0[0]!;
  const loadTimer = setInterval(() => (loadMax = Math.max(loadMax, os.loadavg()[0]!)), 5000);
  loadTimer.unref();
  for (let r = 0; r < Math.max(runs, netconfdRuns); r++) {
    for (const t of targets) {
      if (t === 'netconfd' && (netconfdWhy || r >= netconfdRuns)) continue;
      if (t !== 'netconfd' && r >= runs) continue;
      let res: RunResult;
      try {
        res = await once(t, n, edits, rtt);
      } catch (e) {
        if (t !== 'netconfd') throw e;
        netconfdWhy = (e as Error).message;
        continue;
      }
      if (!per.has(res.target)) per.set(res.target, []);
      per.get(res.target)!.push(res);
      process.stderr.write(
        `  run ${r + 1} ${res.target}: edit-config ${ms(res.edit_1_ms)} ms, get-config ${ms(res.get_1_ms)} ms, small get ${ms(res.rtt_p50_ms)} ms, ` +
          `${edits} edits p50 ${ms(res.edits_p50_ms)} / p99 ${ms(res.edits_p99_ms)} / total ${ms(res.edits_total_ms)} ms, peak RSS ${res.peakRssMb.toFixed(0)} MB\n`,
      );
      for (const [what, got, want] of [
        ['get-config', res.get_1_sessions, n],
        ['small get', res.rtt_sessions, 1],
        ['final', res.final_sessions, n + Math.ceil(edits / 2)],
      ] as const)
        if (got !== want) process.stderr.write(`  WARNING ${res.target}: ${what} returned ${got} sessions, expected ${want}\n`);
    }
  }

  type Cell = { label: string; key: keyof RunResult };
  const cells: Cell[] = [
    { label: `edit-config ${n} (ms)`, key: 'edit_1_ms' },
    { label: `get-config ${n} (ms)`, key: 'get_1_ms' },
    { label: 'small get-config (ms)', key: 'rtt_p50_ms' },
    { label: `${edits} edits p50 (ms)`, key: 'edits_p50_ms' },
    { label: `${edits} edits p99 (ms)`, key: 'edits_p99_ms' },
    { label: `${edits} edits max (ms)`, key: 'edits_max_ms' },
    { label: `${edits} edits total (ms)`, key: 'edits_total_ms' },
    { label: 'peak RSS (MB)', key: 'peakRssMb' },
  ];
  const cols = [...per.keys()];
  const value = (t: string, k: keyof RunResult) => median(per.get(t)!.map((x) => x[k] as number));
  const pad = (s: string, w: number) => s.padEnd(w);
  const lines: string[] = [];
  const first = per.values().next().value?.[0];
  const runsOf = (t: string) => per.get(t)!.length;
  lines.push(`NETCONF northbound over SSH on loopback, ncclient 0.6.13 with TICK = ${first?.tick ?? 0.001} s (median of the runs: ${cols.map((c) => `${c} ${runsOf(c)}`).join(', ')})`);
  lines.push(`N = ${n} sessions + 1 monitor server; edit-config document ${first ? (first.edit_bytes / 1e6).toFixed(2) : '?'} MB; ${edits} sequential small edits on running`);
  const hasBoth = cols.includes('evpn-mirror') && cols.includes('netconfd 2.13');
  lines.push(`${pad('measure', 26)}${cols.map((c) => pad(c, 16)).join('')}${hasBoth ? 'netconfd / ours' : ''}`);
  for (const c of cells) {
    const vals = cols.map((t) => value(t, c.key));
    const ratio = hasBoth ? `x${(value('netconfd 2.13', c.key) / value('evpn-mirror', c.key)).toFixed(c.key === 'peakRssMb' ? 2 : 1)}` : '';
    lines.push(`${pad(c.label, 26)}${vals.map((v) => pad(c.key === 'peakRssMb' ? v.toFixed(0) : ms(v), 16)).join('')}${ratio}`);
  }
  lines.push('');
  for (const t of cols) {
    const r = per.get(t)![0]!;
    lines.push(`${t}: framing ${r.framing}; get-config reply ${(r.get_bytes / 1e6).toFixed(2)} MB; invalid edits -> ${Object.entries(r.checks).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  }
  if (targets.includes('netconfd')) {
    if (netconfdWhy) lines.push(`netconfd: NOT MEASURED: ${netconfdWhy}`);
    else lines.push('netconfd: yang/evpn-mirror.yang loaded unmodified (netconfd 2.13 takes its leafref, unique, must and when as they are); --target=running, --log-level=warn, behind OpenSSH sshd + netconf-subsystem');
  }
  const load1 = os.loadavg();
  clearInterval(loadTimer);
  loadMax = Math.max(loadMax, load1[0]!);
  lines.push(`machine: ${os.cpus().length} CPUs, 1-min load average ${load0[0]!.toFixed(2)} at start, ${load1[0]!.toFixed(2)} at end, ${loadMax.toFixed(2)} at most (sampled every 5 s; other work on the machine shows in these figures)`);
  lines.push('notes: times are client-side around each ncclient call (same client for both); ratios > 1 mean netconfd takes longer (or more memory) than ours.');
  process.stdout.write(lines.join('\n') + '\n');
  const summary = Object.fromEntries(cols.map((t) => [t, Object.fromEntries(cells.map((c) => [c.key, value(t, c.key)]))]));
  process.stdout.write('JSON ' + JSON.stringify({ n, edits, runs, netconfdRuns, load: [load0[0], load1[0], loadMax], summary, netconfd: targets.includes('netconfd') ? (netconfdWhy ?? 'measured') : 'not requested' }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
