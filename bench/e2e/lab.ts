// The end-to-end benchmark's fabric (bench/e2e.ts): N VTEPs behind one FRR route reflector,
// a leaner, N-sized cousin of src/lab/fabric.ts (which is the 4-VTEP worked example). The
// agents' configuration is fabric.ts's own generator (agentConfigYaml) in standalone MAC mode,
// at log level debug with JSON lines (for the reconciler's 'data plane batch applied' stamps).
//
//   ul (bridge ulbr, 192.0.2.0/24)
//    |- rr        192.0.2.1    FRR 8.4 zebra + bgpd, EVPN route reflector; tcpdump on its link
//    |- ops       192.0.2.250  NETCONF helper (src/lab/netconf-helper.ts)
//    |- probe-o   192.0.2.240  plain BGP speaker (RR client): originates probe Type-2 routes
//    |- probe-r   192.0.2.241  plain BGP speaker (RR client): receives them
//    |- v101..v(100+N)         VTEP 192.0.2.<no>, agent (router id, NETCONF) 192.0.2.<no+100>;
//                              br1 + vx1 (VNI 1, learning: standalone mode, no FRR on the leaves),
//                              access port hp (a veth end; static FDB entries of the monitored hosts),
//                              v101 also port serv1 (the monitor server, HOST-ID 1)
//
// Hosts are static FDB entries (`bridge fdb add <mac> dev hp master static`), written once the
// agents are ready: the agents learn them from the bridge FDB (FdbWatcher) and advertise them
// as Type-2 routes with MAC Mobility, as in the worked example's standalone mode. A move is
// the entry appearing on another VTEP. Each VTEP namespace also runs nft-events.py (the
// kernel's nftables commit notifications, stamped) for the benchmark's "in the kernel" times.
// Driver 'memory' only swaps the driver in agent.yaml: such agents learn no local MAC (no FDB
// watcher), so this fabric's hosts stay unknown to them; bench/e2e.ts uses 'linux'.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { utils as sshUtils } from 'ssh2';
import { sleep, waitUntil } from '../../src/lab/exec';
import { AgentStateView, EM_NS, Fabric, NETCONF_PASSWORD, NETCONF_PORT, NETCONF_USER, VtepNo, agentConfigYaml, parseState } from '../../src/lab/fabric';
import { FrrInstance, rrBgpdConf, startFrr } from '../../src/lab/frr';
import { Lab, LabProcess, Netns } from '../../src/lab/netns';
import { HelperReply, HelperTarget, NetconfHelperClient } from '../../src/lab/netconf-helper';
import { hashPassword } from '../../src/netconf/users';

export const ASN = 65000;
export const RR_IP = '192.0.2.1';
export const OPS_IP = '192.0.2.250';
export const PROBE_O_IP = '192.0.2.240';
export const PROBE_R_IP = '192.0.2.241';
export const FIRST_VTEP = 101;
export const vtepIp = (no: number): string => `192.0.2.${no}`;
export const agentIp = (no: number): string => `192.0.2.${no + 100}`;
export const HOST_PORT = 'hp';
export const MONITOR_PORT = 'serv1';
export const MONITOR_VTEP = FIRST_VTEP;
export const MONITOR_MAC = '02:e2:00:00:ff:01';
export const MONITOR_IPV4 = '10.1.0.21';
export const MONITOR_HOST_ID = 1;
export const hostMac = (i: number): string => `02:e2:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

export type Driver = 'linux' | 'memory';

/** bench/e2e in the source tree (nft-events.py is not compiled; this file runs from dist/bench/e2e). */
const NFT_EVENTS_DIR = path.resolve(__dirname, '..', '..', '..', 'bench', 'e2e');

export interface E2eLabOptions {
  /** Number of VTEPs (1..32: the address plan). */
  n: number;
  /** Monitored hosts (static FDB entries), spread round robin over the VTEPs. */
  hosts: number;
  driver: Driver;
  progress?: (line: string) => void;
  keep?: boolean;
}

export interface BatchRecord {
  /** Epoch ms (the agent's log timestamp, millisecond resolution). */
  t: number;
  add: number;
  modify: number;
  remove: number;
}

/** Follows an agent's JSON-lines log file. */
export class LogTail {
  private offset = 0;
  private partial = '';
  /** Every 'data plane batch applied' record so far. */
  readonly batches: BatchRecord[] = [];
  /** Every 'monitoring configuration applied' record (epoch ms). */
  readonly configApplied: number[] = [];
  /** Every 'configuration committed' record (NETCONF datastore, epoch ms). */
  readonly committed: number[] = [];
  ready = false;
  constructor(readonly file: string) {}

  private fd: number | undefined;

  poll(): void {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.file, 'r');
      } catch {
        return;
      }
    }
    const size = fs.fstatSync(this.fd).size;
    if (size <= this.offset) return;
    const b = Buffer.alloc(size - this.offset);
    const got = fs.readSync(this.fd, b, 0, b.length, this.offset);
    this.offset += got;
    const text = this.partial + b.subarray(0, got).toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.line(l);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private line(l: string): void {
    if (!l.startsWith('{')) return;
    let o: { message?: string; timestamp?: string; add?: number; modify?: number; remove?: number };
    try {
      o = JSON.parse(l) as typeof o;
    } catch {
      return;
    }
    if (o.message === 'data plane batch applied') this.batches.push({ t: Date.parse(o.timestamp!), add: o.add ?? 0, modify: o.modify ?? 0, remove: o.remove ?? 0 });
    else if (o.message === 'monitoring configuration applied') this.configApplied.push(Date.parse(o.timestamp!));
    else if (o.message === 'configuration committed') this.committed.push(Date.parse(o.timestamp!));
    else if (o.message === 'ready') this.ready = true;
  }
}

/** One nftables transaction, as its commit notifications reached bench/e2e/nft-events.py. */
export interface NftTransaction {
  /** Receipt (epoch ms) of its first notification: the kernel sends them in the commit phase. */
  first: number;
  /** Receipt of its NFT_MSG_NEWGEN (the end of its notifications). */
  gen: number;
  generation: number;
  messages: number;
}

/**
 * The kernel's own notification of every committed nftables transaction in a namespace
 * (bench/e2e/nft-events.py: a raw netlink socket in NFNLGRP_NFTABLES, stamped on receipt with
 * the same clock as everything else). What the agent's log cannot say: when the entries were
 * really in the kernel (the driver does more work after `nft -f` returned before the
 * reconciler logs the batch). `nft monitor` was tried first: it decodes and prints every
 * object, looking sets and chains up in the kernel to do so, and its first line came up to
 * tens of ms after the commit under load.
 */
export class NftMonitor {
  readonly transactions: NftTransaction[] = [];
  /** Datagrams lost (ENOBUFS) reported by the listener. */
  lost = 0;
  private open: { first: number; messages: number } | undefined;
  private partial = '';
  readonly ready: Promise<void>;
  constructor(readonly proc: LabProcess) {
    let ready!: () => void;
    this.ready = new Promise((r) => (ready = r));
    proc.child.stdout!.setEncoding('utf8');
    proc.child.stdout!.on('data', (chunk: string) => {
      const text = this.partial + chunk;
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l === 'ready') {
          ready();
          continue;
        }
        const [ts, n, gen] = l.split(' ');
        const t = Number(ts);
        if (!Number.isFinite(t)) continue;
        if (gen?.startsWith('lost')) {
          this.lost++;
          continue;
        }
        this.open ??= { first: t, messages: 0 };
        this.open.messages += Number(n);
        if (gen !== undefined && gen !== '-') {
          this.transactions.push({ first: this.open.first, gen: t, generation: Number(gen), messages: this.open.messages });
          this.open = undefined;
        }
      }
    });
    proc.child.stderr!.resume();
  }
}

export interface CpuSnapshot {
  /** The agents' own CPU time (node), summed, ms. */
  agents: number;
  /** CPU time of the agents' reaped children (ip, bridge, nft, sh), summed, ms. */
  agentChildren: number;
  /** FRR bgpd + zebra of the RR, ms. */
  frr: number;
  /** The measuring harness: commit listeners (nft-events.py), tcpdump, NETCONF helper, probes, this process, ms. */
  harness: number;
  /** Whole machine (/proc/stat): busy and total CPU time, ms (total = cores x wall time). */
  machineBusy: number;
  machineTotal: number;
}

const TICK_MS = 10; // CLK_TCK 100 (getconf CLK_TCK on Debian 12)

function procTimes(pid: number | undefined): { self: number; children: number } {
  if (pid === undefined) return { self: 0, children: 0 };
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { self: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return { self: 0, children: 0 };
  }
}

export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
  return {
    agents: b.agents - a.agents,
    agentChildren: b.agentChildren - a.agentChildren,
    frr: b.frr - a.frr,
    harness: b.harness - a.harness,
    machineBusy: b.machineBusy - a.machineBusy,
    machineTotal: b.machineTotal - a.machineTotal,
  };
}

export interface VtepNode {
  no: number;
  ns: Netns;
  vtepIp: string;
  agentIp: string;
  configFile: string;
  stateDir: string;
  logFile: string;
  agent: LabProcess | undefined;
  tail: LogTail;
  /** Linux driver only. */
  nft: NftMonitor | undefined;
}

export interface ProbeEvent {
  event: string;
  mac?: string;
  rd?: string;
  t?: number;
  withdrawn?: boolean;
}

/** A probe BGP speaker (bench/e2e/probe-speaker.ts) in its own namespace. */
export class Probe {
  readonly events: ProbeEvent[] = [];
  private waiters: { pred: (e: ProbeEvent) => boolean; resolve: (e: ProbeEvent) => void }[] = [];
  constructor(readonly proc: LabProcess) {
    readline.createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let e: ProbeEvent;
      try {
        e = JSON.parse(line) as ProbeEvent;
      } catch {
        return;
      }
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(e)) return true;
        w.resolve(e);
        return false;
      });
    });
    proc.child.stderr!.resume();
  }

  /** The first event (past or future) that satisfies `pred`. */
  wait(pred: (e: ProbeEvent) => boolean, timeoutMs: number, what: string): Promise<ProbeEvent> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: ProbeEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`probe ${this.proc.name}: timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  send(o: object): void {
    this.proc.child.stdin!.write(`${JSON.stringify(o)}\n`);
  }
}

export class E2eLab {
  readonly vteps: VtepNode[] = [];
  rr!: FrrInstance;
  rrNs!: Netns;
  ops!: Netns;
  probeO!: Probe;
  probeR!: Probe;
  captureFile = '';
  private capture: LabProcess | undefined;
  private helper: NetconfHelperClient | undefined;
  /** VTEP number of each monitored host (index = host number). */
  readonly hostAt: number[] = [];
  private readonly say: (line: string) => void;

  private constructor(
    readonly lab: Lab,
    readonly opts: E2eLabOptions,
  ) {
    this.say = opts.progress ?? (() => undefined);
  }

  static async build(opts: E2eLabOptions): Promise<E2eLab> {
    if (opts.n < 1 || opts.n > 32) throw new Error('n must be 1..32 (address plan)');
    const lab = new Lab(`e2e${opts.n}`, opts.keep === undefined ? {} : { keep: opts.keep });
    const f = new E2eLab(lab, opts);
    try {
      await f.buildAll();
      return f;
    } catch (e) {
      await f.destroy().catch(() => undefined);
      throw e;
    }
  }

  get nos(): number[] {
    return this.vteps.map((v) => v.no);
  }

  vtep(no: number): VtepNode {
    const v = this.vteps[no - FIRST_VTEP];
    if (!v) throw new Error(`no VTEP${no}`);
    return v;
  }

  private async buildAll(): Promise<void> {
    const { lab, opts } = this;
    const t = Date.now();
    const ul = await lab.addNamespace('ul');
    await lab.addBridge(ul, 'ulbr');
    const toUl = async (ns: Netns, cidrs: string[], port: string) => {
      const l = await lab.link(ns, cidrs[0]!, ul, null, { aName: 'ul', bName: port });
      for (const c of cidrs.slice(1)) await lab.addAddress(ns, 'ul', c);
      await lab.attach(ul, l.b, 'ulbr');
    };
    this.rrNs = await lab.addNamespace('rr');
    await toUl(this.rrNs, [`${RR_IP}/24`], 'rr');
    this.ops = await lab.addNamespace('ops');
    await toUl(this.ops, [`${OPS_IP}/24`], 'ops');
    const po = await lab.addNamespace('probe-o');
    await toUl(po, [`${PROBE_O_IP}/24`], 'po');
    const pr = await lab.addNamespace('probe-r');
    await toUl(pr, [`${PROBE_R_IP}/24`], 'pr');

    for (let i = 0; i < opts.hosts; i++) this.hostAt.push(FIRST_VTEP + (i % opts.n));
    const passwordHash = hashPassword(NETCONF_PASSWORD);
    const buildVtep = async (no: number): Promise<VtepNode> => {
      const ns = await lab.addNamespace(`v${no}`);
      await toUl(ns, [`${vtepIp(no)}/24`, `${agentIp(no)}/24`], `v${no}`);
      await lab.addBridge(ns, 'br1', { ageingTime: 60_000 });
      await lab.addVxlan(ns, { name: 'vx1', vni: 1, local: vtepIp(no), dstport: 4789, learning: true });
      await lab.attach(ns, 'vx1', 'br1');
      const ports = no === MONITOR_VTEP ? [HOST_PORT, MONITOR_PORT] : [HOST_PORT];
      // Access ports: one end of a veth pair whose other end stays unattached in the same
      // namespace (this kernel has no dummy devices).
      for (const p of ports) {
        ns.claimIfname(p);
        ns.claimIfname(`${p}-x`);
        await ns.ip(['link', 'add', p, 'type', 'veth', 'peer', 'name', `${p}-x`]);
        await ns.ip(['link', 'set', `${p}-x`, 'up']);
        await lab.attach(ns, p, 'br1');
      }
      const dir = lab.file(`agent-v${no}`);
      fs.mkdirSync(dir, { recursive: true });
      const node: VtepNode = {
        no,
        ns,
        vtepIp: vtepIp(no),
        agentIp: agentIp(no),
        configFile: path.join(dir, 'agent.yaml'),
        stateDir: path.join(dir, 'state'),
        logFile: lab.file(`v${no}-agent.log`),
        agent: undefined,
        tail: new LogTail(lab.file(`v${no}-agent.log`)),
        nft: undefined,
      };
      let yaml = agentConfigYaml(no as VtepNo, { macMode: 'standalone', passwordHash, stateDir: node.stateDir, logLevel: 'debug' });
      yaml = yaml.replace('# evpn-mirror agent of', '# bench/e2e: fabric.ts agentConfigYaml, + log.json; agent of');
      yaml = yaml.replace(/\n {2}level: debug\n/, '\n  level: debug\n  json: true\n');
      if (opts.driver === 'memory') yaml = yaml.replace('  driver: linux', '  driver: memory');
      fs.writeFileSync(node.configFile, yaml, { mode: 0o600 });
      provisionHostKey(node.stateDir, no);
      return node;
    };
    const nos = Array.from({ length: opts.n }, (_, i) => FIRST_VTEP + i);
    const built = new Map<number, VtepNode>();
    // A few at a time: every step is an `ip` command; the lab's bookkeeping is synchronous.
    for (let i = 0; i < nos.length; i += 8) for (const v of await Promise.all(nos.slice(i, i + 8).map(buildVtep))) built.set(v.no, v);
    for (const no of nos) this.vteps.push(built.get(no)!);
    this.say(`namespaces: underlay, rr, ops, 2 probes, ${opts.n} VTEPs (br1 + vx1 VNI 1, ${opts.hosts} host MACs as static FDB entries, monitor on VTEP${MONITOR_VTEP} port ${MONITOR_PORT}) in ${Date.now() - t} ms`);

    // The RR, passive towards everyone (the clients connect), and a capture of its BGP link.
    const clients = [...nos.map(agentIp), PROBE_O_IP, PROBE_R_IP];
    this.rr = await startFrr(lab, this.rrNs, {
      name: 'rr',
      bgpdConf: rrBgpdConf({ asn: ASN, routerId: RR_IP, hostname: 'rr', clients, timers: { keepalive: 3, hold: 9 }, extra: clients.map((c) => `neighbor ${c} passive`) }),
    });
    this.captureFile = lab.file('rr-bgp.pcap');
    const cap = this.rrNs.spawn(['tcpdump', '-i', 'ul', '-nn', '--immediate-mode', '-U', '-s', '0', '-B', '16384', '-w', this.captureFile, 'tcp', 'port', '179'], { name: 'tcpdump', log: 'pipe' });
    this.capture = cap;
    let capErr = '';
    cap.child.stderr!.on('data', (b: Buffer) => (capErr += b.toString()));
    cap.child.stdout!.resume();
    await waitUntil(() => capErr.includes('listening on') || !cap.running, { timeoutMs: 10_000, intervalMs: 20, what: 'tcpdump on the RR link' });
    if (!cap.running) throw new Error(`tcpdump on the RR link exited: ${capErr}`);
    this.say(`FRR 8.4 route reflector up (${clients.length} clients configured), tcpdump on its link`);

    // Agents: all at once, then wait for 'ready'.
    const t1 = Date.now();
    for (const v of this.vteps) this.startAgent(v);
    await this.waitReady(opts.n * 8000 + 30_000);
    this.say(`${opts.n} agents ready in ${Date.now() - t1} ms (driver ${opts.driver})`);
    if (opts.driver === 'linux')
      for (const v of this.vteps) {
        v.nft = new NftMonitor(v.ns.spawn(['/usr/bin/python3', path.join(NFT_EVENTS_DIR, 'nft-events.py')], { name: 'nft-events', log: 'pipe' }));
        boost(v.nft.proc.pid);
      }
    await Promise.all(this.vteps.map((v) => v.nft && Promise.race([v.nft.ready, sleep(10_000).then(() => {
      throw new Error(`nft-events.py in VTEP${v.no} did not start`);
    })])));
    // The hosts appear now, after the agents started: an agent in standalone mode does not
    // advertise the MACs its bridge FDB already holds when it starts (Agent.start() applies
    // the FDB dump before it listens for MAC moves; see the benchmark's notes).
    await Promise.all(
      this.vteps.map(async (v) => {
        const lines: string[] = [];
        if (v.no === MONITOR_VTEP) lines.push(`fdb add ${MONITOR_MAC} dev ${MONITOR_PORT} master static`);
        for (let i = 0; i < opts.hosts; i++) if (this.hostAt[i] === v.no) lines.push(`fdb add ${hostMac(i)} dev ${HOST_PORT} master static`);
        const file = lab.file(`fdb-v${v.no}.batch`);
        fs.writeFileSync(file, `${lines.join('\n')}\n`);
        await v.ns.exec(['bridge', '-batch', file]);
      }),
    );

    const probeScript = path.join(__dirname, 'probe-speaker.js');
    const mk = (ns: Netns, name: string, ip: string) =>
      new Probe(ns.spawn([process.execPath, '--enable-source-maps', probeScript, JSON.stringify({ routerId: ip, neighbor: RR_IP, asn: ASN })], { name, log: 'pipe' }));
    this.probeO = mk(po, 'probe-o', PROBE_O_IP);
    this.probeR = mk(pr, 'probe-r', PROBE_R_IP);
    await Promise.all([this.probeO, this.probeR].map((p) => p.wait((e) => e.event === 'established', 60_000, 'BGP Established')));

    await this.rr.waitFor(
      async (rr) => {
        const s = await rr.evpnSummary();
        return clients.every((a) => s.peers?.[a]?.state === 'Established');
      },
      120_000,
      `all ${clients.length} clients Established`,
    );
    this.say(`BGP: all ${clients.length} RR clients Established`);
    // Open every NETCONF session now: no SSH handshake inside a timed step.
    await Promise.all(this.vteps.map((v) => this.helperCall({ op: 'connect', ...this.target(v.no) }, 60_000).then((r) => {
      if (!r.ok) throw new Error(`NETCONF connect to VTEP${v.no}: ${r.error}`);
    })));
    const t2 = Date.now();
    await this.waitMacsKnown(120_000);
    this.say(`every agent knows all ${opts.hosts + 1} host MACs (NETCONF state/mac) after ${Date.now() - t2} ms`);
  }

  private startAgent(v: VtepNode): void {
    v.agent = v.ns.spawn([process.execPath, '--enable-source-maps', Fabric.agentScript(), '--config', v.configFile], { name: 'agent', log: v.logFile });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    await waitUntil(
      () => {
        for (const v of this.vteps) {
          v.tail.poll();
          if (!v.agent!.running) throw new Error(`the agent of VTEP${v.no} exited: ${v.agent!.logTail(3000)}`);
        }
        return this.vteps.every((v) => v.tail.ready);
      },
      { timeoutMs, intervalMs: 200, what: 'every agent to log ready' },
    );
  }

  /** Every agent knows a location for every host MAC and the monitor MAC. */
  async waitMacsKnown(timeoutMs: number): Promise<void> {
    const want = [MONITOR_MAC, ...this.hostAt.map((_, i) => hostMac(i))];
    let last = '';
    await waitUntil(
      async () => {
        const sts = await Promise.all(this.vteps.map((v) => this.state(v.no, '<mac/>')));
        const missing = sts.map((st, i) => [this.vteps[i]!.no, want.filter((m) => !st.macs.some((x) => x.mac === m && x.location.kind !== 'unknown')).length] as const).filter(([, n]) => n > 0);
        last = missing.map(([no, n]) => `VTEP${no}: ${n} unknown`).join(', ');
        return missing.length === 0;
      },
      { timeoutMs, intervalMs: 500, what: 'every agent to know every host MAC' },
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${last}`);
    });
  }

  // ----- NETCONF (through the helper in the ops namespace)

  /** A VTEP agent's NETCONF address; sessions get 30 s to open (32 agents start at once). */
  target(no: number): HelperTarget & { timeoutMs: number } {
    return { host: agentIp(no), port: NETCONF_PORT, user: NETCONF_USER, password: NETCONF_PASSWORD, timeoutMs: 30_000 };
  }

  helperCall(req: Parameters<NetconfHelperClient['call']>[0], timeoutMs = 30_000): Promise<HelperReply> {
    // Raised priority: the helper stamps the start of every timed edit.
    return (this.helper ??= new NetconfHelperClient(this.ops, (p) => boost(p.pid))).call(req, timeoutMs);
  }

  /** <edit-config> on running of a VTEP's agent: the helper's stamps around the RPC. */
  async edit(no: number, configXml: string): Promise<{ t0: number; t1: number }> {
    const r = await this.helperCall({ op: 'edit', ...this.target(no), config: configXml });
    if (!r.ok) throw new Error(`NETCONF <edit-config> on VTEP${no}: ${r.error}`);
    return { t0: r.t0!, t1: r.t1! };
  }

  async state(no: number, what: string): Promise<AgentStateView> {
    const r = await this.helperCall({ op: 'get', ...this.target(no), filter: `<evpn-mirror xmlns="${EM_NS}"><state>${what}</state></evpn-mirror>` });
    if (!r.ok || !r.data) throw new Error(`NETCONF <get> on VTEP${no}: ${r.error ?? 'no data'}`);
    return parseState(r.data);
  }

  // ----- hosts

  /**
   * Moves host i to VTEP `to`: the static FDB entry is written on `to` through a
   * `bridge -batch -` already running in that namespace, so the stamp t0 (taken just before the
   * line is written to its stdin) is not delayed by a process start. The old entry stays (a
   * stale FDB entry, as after a live migration); removeStale() deletes it afterwards.
   */
  async moveHost(i: number, to: number): Promise<{ t0: number; from: number }> {
    const from = this.hostAt[i]!;
    if (from === to) throw new Error(`host ${i} is already on VTEP${to}`);
    const ns = this.vtep(to).ns;
    const p = ns.spawn(['bridge', '-batch', '-'], { name: 'bridge-batch', log: 'pipe' });
    let err = '';
    p.child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    p.child.stdout!.resume();
    await sleep(300);
    const t0 = Date.now();
    p.child.stdin!.write(`fdb add ${hostMac(i)} dev ${HOST_PORT} master static\n`);
    p.child.stdin!.end();
    const x = await p.exited;
    if (x.code !== 0) throw new Error(`bridge fdb add on VTEP${to} failed: ${err}`);
    this.hostAt[i] = to;
    return { t0, from };
  }

  async removeStale(i: number, from: number): Promise<void> {
    await this.vtep(from).ns.exec(['bridge', 'fdb', 'del', hostMac(i), 'dev', HOST_PORT, 'master']);
  }

  /**
   * How late the commit notifications are stamped here: `samples` one-counter transactions written
   * through a running `nft -i` in VTEP101's namespace (a table of its own, removed afterwards);
   * each figure = arrival of its first notification line - the time the command was written.
   * An upper bound of the detection delay (it includes nft parsing and committing the line).
   */
  async calibrateCommitStamps(samples: number): Promise<number[]> {
    const v = this.vtep(MONITOR_VTEP);
    if (!v.nft) return [];
    await v.ns.exec(['nft', 'add', 'table', 'netdev', 'e2e_cal']);
    const p = v.ns.spawn(['nft', '-i'], { name: 'nft-cal', log: 'pipe' });
    p.child.stdout!.resume();
    p.child.stderr!.resume();
    await sleep(300);
    const out: number[] = [];
    try {
      for (let k = 0; k < samples; k++) {
        const mark = v.nft.transactions.length;
        const t = Date.now();
        p.child.stdin!.write(`add counter netdev e2e_cal k${k}\n`);
        await waitUntil(() => v.nft!.transactions.length > mark, { timeoutMs: 5000, intervalMs: 1, what: 'the calibration transaction to be seen' });
        out.push(v.nft.transactions[mark]!.first - t);
        await sleep(50);
      }
    } finally {
      p.child.stdin!.end();
      await p.exited;
      await v.ns.exec(['nft', 'delete', 'table', 'netdev', 'e2e_cal']);
    }
    return out;
  }

  /** CPU times of the fabric's processes and of the whole machine (for per-event costs). */
  cpu(): CpuSnapshot {
    let agents = 0;
    let agentChildren = 0;
    for (const v of this.vteps) {
      const t = procTimes(v.agent?.pid);
      agents += t.self;
      agentChildren += t.children;
    }
    const frr = procTimes(this.rr.bgpd.pid).self + procTimes(this.rr.zebra.pid).self;
    let harness = 0;
    for (const p of [this.capture, this.helper?.process, this.probeO?.proc, this.probeR?.proc, ...this.vteps.map((v) => v.nft?.proc)]) harness += procTimes(p?.pid).self;
    const u = process.cpuUsage();
    harness += (u.user + u.system) / 1000;
    const c = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const busy = (c[0]! + c[1]! + c[2]! + c[5]! + c[6]! + c[7]!) * TICK_MS;
    const total = busy + (c[3]! + c[4]!) * TICK_MS;
    return { agents, agentChildren, frr, harness, machineBusy: busy, machineTotal: total };
  }

  pollLogs(): void {
    for (const v of this.vteps) v.tail.poll();
  }

  /** Stops tcpdump (its file is complete once this resolves). */
  async stopCapture(): Promise<void> {
    const c = this.capture;
    if (!c?.running) return;
    await sleep(300);
    c.signal('SIGINT');
    const t = setTimeout(() => c.signal('SIGKILL'), 5000);
    await c.exited;
    clearTimeout(t);
  }

  async destroy(): Promise<void> {
    for (const v of this.vteps) v.tail.close();
    await this.lab.destroy();
  }
}

/**
 * The measuring processes (commit listeners, the NETCONF helper, the benchmark itself) run at nice
 * -10: when the agents saturate the CPUs, the stamps must not wait for a time slice. They use
 * about 2% of the CPU the agents use (see the CPU line of the report).
 */
export function boost(pid: number): void {
  try {
    os.setPriority(pid, -10);
  } catch {
    /* not root: stamps may lag under load */
  }
}

/**
 * The agent's NETCONF SSH host key, written before it starts (as src/lab/fabric.ts does: ssh2
 * 1.17's ed25519 generator makes an unparseable key about once in 256, mscdex/ssh2 #1390).
 */
function provisionHostKey(stateDir: string, no: number): void {
  const file = path.join(stateDir, 'netconf', 'ssh_host_ed25519_key');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let i = 0; i < 20; i++) {
    const kp = sshUtils.generateKeyPairSync('ed25519', { comment: `e2e VTEP${no} netconf host key` });
    if (sshUtils.parseKey(kp.private) instanceof Error || sshUtils.parseKey(kp.public) instanceof Error) continue;
    fs.writeFileSync(file, kp.private, { mode: 0o600 });
    return;
  }
  throw new Error('could not generate a parseable ed25519 host key');
}
