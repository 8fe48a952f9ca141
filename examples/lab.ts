#!/usr/bin/env node
// The lab demo (`npm run demo`): the method's worked example, live, in network namespaces.
// Builds the fabric of src/lab/fabric.ts (FRR route reflector, 4 VTEPs with FRR and an
// evpn-mirror agent each, hosts VM210/VM220/VM230/VM240 and the monitor server SERV21), has
// the operator push one monitoring session to VTEP101's agent with evpn-mirrorctl (ncclient
// when evpn-mirrorctl is not there), shows SERV21's live capture of the mirrored packets while
// VM210 pings VM230, moves VM210 (VTEP101 -> VTEP102) and SERV21 (VTEP104 -> VTEP103), prints
// every VTEP's entries at each stage against the method's table, deletes the session and
// tears everything down (also on Ctrl-C).
//
//   node dist/examples/lab.js [--standalone] [--keep]
//     --standalone  no FRR on the leaves: the agents advertise the tenant MACs themselves
//     --keep        keep the lab's logs and configs (the namespaces and processes still go)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { anyAlive } from '../src/lab/netns';
import { run } from '../src/lab/exec';
import {
  Fabric,
  HOSTS,
  MacMode,
  SESSION_NAME,
  Stage,
  VTEP_NOS,
  VtepNo,
  agentIp,
  deleteSessionXml,
  entryLabel,
  sessionConfigXml,
  workedExample,
} from '../src/lab/fabric';

const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);
const t0 = Date.now();
const clock = () => dim(`${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`);
let stepNo = 0;
const step = (s: string) => process.stdout.write(`\n${clock()} ${bold(`[${++stepNo}] ${s}`)}\n`);
const say = (s: string) => process.stdout.write(`       ${s}\n`);

const CTL = path.join(__dirname, '..', 'src', 'cli', 'evpn-mirrorctl.js');
const NC_STEPS = path.join(__dirname, '..', '..', 'test', 'interop', 'ncclient', 'nc_steps.py');

/** True when the operators' CLI is the real NETCONF client (not the early placeholder). */
async function haveCtl(): Promise<boolean> {
  if (!fs.existsSync(CTL)) return false;
  const r = await run([process.execPath, CTL, 'session', 'add', '--help'], { allowFail: true, timeoutMs: 10_000 });
  return r.code === 0 && r.stdout.includes('--host-mac');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mode: MacMode = args.includes('--standalone') ? 'standalone' : 'alongside-frr';
  const useCtl = await haveCtl();

  step(`Building the worked example's fabric in network namespaces (MAC mode: ${mode})`);
  const f = await Fabric.build({ macMode: mode, name: 'demo', keep: args.includes('--keep'), progress: (l) => say(`${clock()} ${l}`) });
  const labPrefix = f.lab.prefix;
  let pids: number[] = [];
  try {
    const ctl = async (no: VtepNo, cmd: string[], echo = true): Promise<string> => {
      const t = f.netconfTarget(no);
      const argv = ['--host', t.host, '--user', t.user, ...cmd];
      if (echo) say(dim(`ops$ evpn-mirrorctl ${argv.join(' ')}`));
      const r = await f.opsExec([process.execPath, CTL, ...argv], { env: { ...process.env, EVPN_MIRROR_PASSWORD: t.password }, allowFail: true, timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`evpn-mirrorctl ${cmd.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    };
    const ncclient = async (no: VtepNo, configXml: string): Promise<void> => {
      const t = f.netconfTarget(no);
      say(dim(`ops$ python3 nc_steps.py   # ncclient: edit-config on running of ${t.host}`));
      const steps = [
        { s: 'a', op: 'connect', host: t.host, port: t.port, user: t.user, password: t.password },
        { s: 'a', op: 'edit_config', target: 'running', config: `<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">${configXml}</config>` },
        { s: 'a', op: 'close_session' },
      ];
      const r = await f.opsExec(['/usr/bin/python3', NC_STEPS], { input: JSON.stringify(steps), timeoutMs: 60_000 });
      for (const line of r.stdout.trim().split('\n')) {
        const o = JSON.parse(line) as { ok: boolean; op: string; message?: string };
        if (!o.ok) throw new Error(`ncclient ${o.op}: ${o.message}`);
      }
    };

    /** Each VTEP's entries (evpn-mirrorctl show entries), checked against the method's table. */
    const showEntries = async (stage: Stage): Promise<void> => {
      const want = workedExample(stage);
      const ms = await f.waitEntries(want).catch((e: Error) => {
        say(red(e.message));
        return -1;
      });
      if (ms >= 0) say(green(`every VTEP holds exactly the method's entries for this stage (converged in ${ms} ms)`));
      for (const no of VTEP_NOS) {
        say(bold(`VTEP${no} (agent ${agentIp(no)}):`));
        if (useCtl) {
          const out = await ctl(no, ['show', 'entries'], no === 101);
          for (const line of out.trimEnd().split('\n')) say(`  ${line}`);
        } else {
          const st = await f.state(no, '<entry/>');
          for (const e of st.entries) say(`  ${e.kind.padEnd(6)} ${e.match} -> ${e.action}  (${e.packets ?? 0} packets)`);
        }
        const labels = (await f.entryLabels(no)).join('; ');
        say(dim(`  = ${labels || '(none)'}`));
      }
    };

    /** VM210 pings VM230 while SERV21's capture is printed live; counts what SERV21 saw. */
    const liveCapture = async (tag: string): Promise<void> => {
      say(`SERV21 (on VTEP${f.host('SERV21').vtep}) runs tcpdump; VM210 (on VTEP${f.host('VM210').vtep}) pings VM230 (on VTEP${f.host('VM230').vtep}) 3 times:`);
      const cap = await f.startCapture('SERV21', { file: `demo-${tag}.pcap`, print: (l) => say(`  SERV21| ${l}`) });
      const p = await f.ping('VM210', 'VM230', 3, 0.2);
      await cap.stop();
      const seen = await f.readCapture(cap.file);
      const count = new Map<string, number>();
      for (const s of seen) count.set(s.kind, (count.get(s.kind) ?? 0) + 1);
      const req = [...count.keys()].filter((k) => k.startsWith('icmpreq')).length;
      const rep = [...count.keys()].filter((k) => k.startsWith('icmprep')).length;
      const twice = [...count.values()].filter((c) => c > 1).length;
      const ok = req === 3 && rep === 3 && twice === 0;
      const line = `ping: ${p.received}/${p.sent} replies; SERV21 got ${req} echo requests and ${rep} echo replies, ${twice === 0 ? 'each exactly once' : `${twice} of them more than once`}`;
      say(ok ? green(line) : red(line));
    };

    step(`The operator configures VTEP101's agent over NETCONF: monitor VM210, copies to SERV21 (HOST-ID 1)`);
    const s = HOSTS.SERV21;
    if (useCtl) {
      await ctl(101, ['server', 'add', 'SERV21', '--mac', s.mac, '--host-id', String(s.hostId), '--ipv4', s.ipv4]);
      await ctl(101, ['session', 'add', SESSION_NAME, '--vni', '1', '--host-mac', HOSTS.VM210.mac, '--server', 'SERV21']);
      for (const l of (await ctl(101, ['show', 'sessions'])).trimEnd().split('\n')) say(`  ${l}`);
    } else {
      say('(evpn-mirrorctl is not built: using ncclient)');
      await ncclient(101, sessionConfigXml());
    }

    step('The session floods to every VTEP through the FRR route reflector; each agent installs its entries');
    await showEntries('initial');

    step('Live: SERV21 receives the copies (VTEP101 copies the requests, VTEP103 the replies, VTEP104 delivers)');
    await liveCapture('initial');

    step('VM210 moves from VTEP101 to VTEP102 (its port re-attached, a gratuitous ARP)');
    say(`moved in ${await f.moveHost('VM210', 102)} ms`);
    await showEntries('vm210-moved');
    await liveCapture('vm210-moved');

    step('SERV21 moves from VTEP104 to VTEP103');
    say(`moved in ${await f.moveHost('SERV21', 103)} ms`);
    await showEntries('serv21-moved');
    await liveCapture('serv21-moved');

    step('The operator deletes the session on VTEP101: every VTEP removes its entries');
    if (useCtl) await ctl(101, ['session', 'delete', SESSION_NAME]);
    else await ncclient(101, deleteSessionXml());
    const ms = await f.waitEntries({ 101: [], 102: [], 103: [], 104: [] });
    for (const no of VTEP_NOS) {
      const st = await f.state(no, '<entry/><session/>');
      say(`VTEP${no}: ${st.sessions.length} sessions, ${st.entries.length} entries ${st.entries.map(entryLabel).join('; ')}`);
    }
    say(green(`no entry left anywhere (${ms} ms)`));

    step('Tearing down');
    pids = f.lab.pids;
  } finally {
    await f.destroy();
  }
  const left = (await run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(labPrefix));
  const alive = anyAlive(pids);
  if (left.length || alive.length) say(red(`left over: namespaces ${left.join(', ') || 'none'}, processes ${alive.join(', ') || 'none'}`));
  else say(green(`no namespace or process of the demo is left (${pids.length} processes stopped)`));
  process.stdout.write(`\n${clock()} demo complete\n`);
}

main().then(
  // Lab.destroy() may leave a timer of its own running for a few seconds: do not wait for it.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
