// Network-namespace lab: namespaces, veth links, bridges, VXLAN devices and long-running
// processes, all recorded so that destroy() (or a Ctrl-C / process exit) removes exactly
// what this Lab created and nothing else.
//
// Conventions:
// - Namespace names are `em<pid base36><lab seq>-<name>`, unique per process and lab.
// - Every link is created inside a lab namespace (`ip -n <ns> link add ... peer ... netns
//   <other>`), so no interface or address ever appears in the root namespace.
// - IPv6 is disabled in every namespace (DAD/MLD frames would otherwise teach bridges MACs
//   and add noise to captures).
// - The temp dir is made traversable (0755) because FRR daemons drop privileges to user
//   `frr` and must reach their private directory below it.

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatCommand, pidAlive, run, RunOptions, RunResult, runSyncQuiet } from './exec';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$/;
const IFNAME_MAX = 15;

export interface SpawnOptions {
  /**
   * Name of the process in the lab (for logs and errors). Default: basename of argv[0].
   */
  name?: string;
  /**
   * Send stdout+stderr to `<lab tmpDir>/<log>` (appended). Default: `<ns>-<name>.log`.
   * `false` discards the output; `'pipe'` leaves `child.stdin`/`child.stdout`/`child.stderr` as pipes.
   */
  log?: string | false | 'pipe';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running process started by a Lab (directly or inside one of its namespaces). */
export class LabProcess {
  readonly name: string;
  readonly argv: readonly string[];
  readonly pid: number;
  readonly child: ChildProcess;
  /** Absolute path of the log file, when output goes to one. */
  readonly logFile: string | undefined;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  constructor(name: string, argv: readonly string[], child: ChildProcess, logFile: string | undefined) {
    if (child.pid === undefined) throw new Error(`spawn failed: ${formatCommand(argv)}`);
    this.name = name;
    this.argv = argv;
    this.child = child;
    this.pid = child.pid;
    this.logFile = logFile;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Exit status once exited, else undefined. */
  get exitStatus(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Sends a signal if the process is still running (never to a reaped, possibly reused PID). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* already gone */
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 3000): Promise<ExitInfo> {
    if (!this.running) return this.exitInfo!;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last `maxChars` characters of the log file ('' when there is none). */
  logTail(maxChars = 4000): string {
    if (this.logFile === undefined) return '';
    try {
      const s = fs.readFileSync(this.logFile, 'utf8');
      return s.length <= maxChars ? s : s.slice(s.length - maxChars);
    } catch {
      return '';
    }
  }
}

/** One network namespace created by a Lab. */
export class Netns {
  readonly lab: Lab;
  /** The short name given to addNamespace(). */
  readonly short: string;
  /** The real namespace name (as in `ip netns list`). */
  readonly name: string;
  /** Interface names created in this namespace by the lab. */
  readonly ifnames = new Set<string>(['lo']);

  constructor(lab: Lab, short: string, name: string) {
    this.lab = lab;
    this.short = short;
    this.name = name;
  }

  /** `ip netns exec <ns> argv...` */
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  /** `ip -n <ns> args...` (iproute2 inside this namespace, without a full exec). */
  ip(args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(['ip', '-n', this.name, ...args], opts);
  }

  /** `ip netns exec <ns> sysctl -q -w key=value...` */
  async sysctl(settings: Record<string, string | number>): Promise<void> {
    const kv = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
    if (kv.length > 0) await this.exec(['sysctl', '-q', '-w', ...kv]);
  }

  /** Starts a long-running process inside this namespace; its PID is recorded by the lab. */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): LabProcess {
    const name = opts.name ?? path.basename(argv[0] ?? 'proc');
    const log = opts.log === undefined ? `${this.short}-${name}.log` : opts.log;
    return this.lab.spawnRaw(['ip', 'netns', 'exec', this.name, ...argv], { ...opts, name, log });
  }

  /** Picks an interface name not yet used in this namespace (<= 15 characters). */
  freshIfname(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_-]/g, '').slice(0, IFNAME_MAX) || 'if';
    if (!this.ifnames.has(clean)) return clean;
    for (let i = 1; ; i++) {
      const suffix = String(i);
      const cand = clean.slice(0, IFNAME_MAX - suffix.length) + suffix;
      if (!this.ifnames.has(cand)) return cand;
    }
  }

  /** Records an interface name as used (creation helpers call this). */
  claimIfname(ifname: string): void {
    if (ifname.length > IFNAME_MAX) throw new Error(`interface name too long (max ${IFNAME_MAX}): ${ifname}`);
    if (this.ifnames.has(ifname)) throw new Error(`interface ${ifname} already exists in ${this.name}`);
    this.ifnames.add(ifname);
  }

  /** The MAC address of an interface in this namespace. */
  async mac(ifname: string): Promise<string> {
    const r = await this.ip(['-j', 'link', 'show', 'dev', ifname]);
    const parsed = JSON.parse(r.stdout) as Array<{ address?: string }>;
    const mac = parsed[0]?.address;
    if (mac === undefined) throw new Error(`no MAC for ${ifname} in ${this.name}`);
    return mac;
  }
}

export interface LinkOptions {
  /** Interface name in `a` (default: generated from b's short name). */
  aName?: string;
  /** Interface name in `b` (default: generated from a's short name). */
  bName?: string;
  aMac?: string;
  bMac?: string;
  mtu?: number;
}

export interface LinkResult {
  /** Interface name in namespace a. */
  a: string;
  /** Interface name in namespace b. */
  b: string;
}

export interface BridgeOptions {
  mac?: string;
  /** Bridge FDB ageing time in centiseconds (ip-link `ageing_time`). */
  ageingTime?: number;
}

export interface VxlanOptions {
  name: string;
  vni: number;
  /** Local VTEP address (must be configured in the namespace, e.g. on lo or a link). */
  local: string;
  /** UDP port; default 4789. */
  dstport?: number;
  /** MAC learning from received packets; default false (`nolearning`, as EVPN wants). */
  learning?: boolean;
  /** VXLAN-GBP extension (Group Policy ID carried from/to the packet mark). */
  gbp?: boolean;
  /** Underlay device. */
  dev?: string;
  /** Add `noudpcsum` when false. */
  udpcsum?: boolean;
  mac?: string;
  ttl?: number;
}

export interface LabOptions {
  /** Keep the temp dir after destroy(); default: env EM_KEEP_LAB=1. */
  keep?: boolean;
  /** SIGTERM-to-SIGKILL grace period for recorded processes in destroy(); default 3000 ms. */
  graceMs?: number;
}

type CleanupHook = () => Promise<void> | void;

let labSeq = 0;
const liveLabs = new Set<Lab>();
let handlersInstalled = false;

function onExit(): void {
  for (const lab of [...liveLabs]) lab.destroySync();
}

function onSignal(sig: NodeJS.Signals): void {
  const code = sig === 'SIGINT' ? 130 : 143;
  process.stderr.write(`\nlab: ${sig} received, destroying ${liveLabs.size} lab(s)\n`);
  const all = [...liveLabs].map((l) => l.destroy().catch(() => l.destroySync()));
  // Bounded: never hang on the way out.
  const guard = setTimeout(() => process.exit(code), 15_000);
  void Promise.all(all).then(() => {
    clearTimeout(guard);
    process.exit(code);
  });
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function removeHandlersIfIdle(): void {
  if (!handlersInstalled || liveLabs.size > 0) return;
  handlersInstalled = false;
  process.removeListener('exit', onExit);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}

export class Lab {
  /** The short name given to the constructor. */
  readonly name: string;
  /** Prefix of every namespace name of this lab, e.g. `em1a2b3-`. */
  readonly prefix: string;
  /** Per-lab temp directory (logs, configs, sockets, captures). */
  readonly tmpDir: string;
  readonly keep: boolean;
  private readonly graceMs: number;
  private readonly namespaces: Netns[] = [];
  private readonly processes: LabProcess[] = [];
  private readonly hooks: CleanupHook[] = [];
  private destroying: Promise<void> | undefined;
  private destroyedSync = false;

  constructor(name: string, opts: LabOptions = {}) {
    if (!NAME_RE.test(name)) throw new Error(`bad lab name ${JSON.stringify(name)}`);
    this.name = name;
    labSeq += 1;
    this.prefix = `em${process.pid.toString(36)}${labSeq.toString(36)}-`;
    this.keep = opts.keep ?? process.env['EM_KEEP_LAB'] === '1';
    this.graceMs = opts.graceMs ?? 3000;
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `em-${name}-`));
    fs.chmodSync(this.tmpDir, 0o755);
    liveLabs.add(this);
    installHandlers();
  }

  /** Names of the namespaces this lab created and has not deleted yet. */
  get namespaceNames(): string[] {
    return this.namespaces.map((n) => n.name);
  }

  /** PIDs of every process this lab started (running or not). */
  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Every process this lab started. */
  get allProcesses(): readonly LabProcess[] {
    return this.processes;
  }

  get destroyed(): boolean {
    return this.destroying !== undefined || this.destroyedSync;
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error(`lab ${this.name} is destroyed`);
  }

  /** Path inside the lab temp dir. */
  file(...parts: string[]): string {
    return path.join(this.tmpDir, ...parts);
  }

  /** Registers a cleanup step run at the start of destroy() (in reverse order). */
  onDestroy(hook: CleanupHook): void {
    this.hooks.push(hook);
  }

  /** Creates a namespace `<prefix><name>`, brings up lo and disables IPv6 in it. */
  async addNamespace(name: string): Promise<Netns> {
    this.checkAlive();
    if (!NAME_RE.test(name)) throw new Error(`bad namespace name ${JSON.stringify(name)}`);
    if (this.namespaces.some((n) => n.short === name)) throw new Error(`namespace ${name} already in lab ${this.name}`);
    const full = this.prefix + name;
    await run(['ip', 'netns', 'add', full]);
    const ns = new Netns(this, name, full);
    this.namespaces.push(ns);
    await ns.ip(['link', 'set', 'lo', 'up']);
    await ns.sysctl({ 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    return ns;
  }

  /** Looks up a namespace of this lab by its short name. */
  ns(name: string): Netns {
    const n = this.namespaces.find((x) => x.short === name);
    if (n === undefined) throw new Error(`no namespace ${name} in lab ${this.name}`);
    return n;
  }

  /**
   * A veth pair between two namespaces of this lab. Each end gets its address (CIDR, or
   * null for none, e.g. a bridge port) and is brought up.
   */
  async link(a: Netns, aAddrCidr: string | null, b: Netns, bAddrCidr: string | null, opts: LinkOptions = {}): Promise<LinkResult> {
    this.checkAlive();
    this.own(a);
    this.own(b);
    if (a === b) throw new Error('link: both ends in the same namespace');
    const aName = opts.aName ?? a.freshIfname(`to-${b.short}`);
    const bName = opts.bName ?? b.freshIfname(`to-${a.short}`);
    a.claimIfname(aName);
    b.claimIfname(bName);
    const cmd = ['link', 'add', aName];
    if (opts.aMac !== undefined) cmd.push('address', opts.aMac);
    if (opts.mtu !== undefined) cmd.push('mtu', String(opts.mtu));
    cmd.push('type', 'veth', 'peer', 'name', bName);
    if (opts.bMac !== undefined) cmd.push('address', opts.bMac);
    if (opts.mtu !== undefined) cmd.push('mtu', String(opts.mtu));
    cmd.push('netns', b.name);
    await a.ip(cmd);
    if (aAddrCidr !== null) await a.ip(['addr', 'add', aAddrCidr, 'dev', aName]);
    if (bAddrCidr !== null) await b.ip(['addr', 'add', bAddrCidr, 'dev', bName]);
    await a.ip(['link', 'set', aName, 'up']);
    await b.ip(['link', 'set', bName, 'up']);
    return { a: aName, b: bName };
  }

  /** Adds an address to an interface of a namespace (e.g. a /32 on lo). */
  async addAddress(ns: Netns, ifname: string, cidr: string): Promise<void> {
    this.own(ns);
    await ns.ip(['addr', 'add', cidr, 'dev', ifname]);
  }

  /** A Linux bridge (VLAN-unaware; `vlan_filtering 0` is refused by this kernel), up. */
  async addBridge(ns: Netns, name: string, opts: BridgeOptions = {}): Promise<string> {
    this.checkAlive();
    this.own(ns);
    ns.claimIfname(name);
    const cmd = ['link', 'add', name];
    if (opts.mac !== undefined) cmd.push('address', opts.mac);
    cmd.push('type', 'bridge');
    if (opts.ageingTime !== undefined) cmd.push('ageing_time', String(opts.ageingTime));
    await ns.ip(cmd);
    await ns.ip(['link', 'set', name, 'up']);
    return name;
  }

  /** A VXLAN device (default `nolearning`, dstport 4789), up. */
  async addVxlan(ns: Netns, o: VxlanOptions): Promise<string> {
    this.checkAlive();
    this.own(ns);
    ns.claimIfname(o.name);
    const cmd = ['link', 'add', o.name];
    if (o.mac !== undefined) cmd.push('address', o.mac);
    cmd.push('type', 'vxlan', 'id', String(o.vni), 'local', o.local, 'dstport', String(o.dstport ?? 4789));
    if (o.dev !== undefined) cmd.push('dev', o.dev);
    if (o.ttl !== undefined) cmd.push('ttl', String(o.ttl));
    if (o.learning !== true) cmd.push('nolearning');
    if (o.gbp === true) cmd.push('gbp');
    if (o.udpcsum === false) cmd.push('noudpcsum');
    await ns.ip(cmd);
    await ns.ip(['link', 'set', o.name, 'up']);
    return o.name;
  }

  /** Makes `ifname` a port of `bridge` and brings it up. */
  async attach(ns: Netns, ifname: string, bridge: string): Promise<void> {
    this.own(ns);
    await ns.ip(['link', 'set', ifname, 'master', bridge]);
    await ns.ip(['link', 'set', ifname, 'up']);
  }

  /** Starts a process in the root namespace (e.g. a tool that needs no namespace); recorded. */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): LabProcess {
    const name = opts.name ?? path.basename(argv[0] ?? 'proc');
    return this.spawnRaw(argv, { ...opts, name, log: opts.log === undefined ? `${name}.log` : opts.log });
  }

  /** @internal Spawns and records a process (Netns.spawn goes through here). */
  spawnRaw(argv: readonly string[], opts: SpawnOptions & { name: string }): LabProcess {
    this.checkAlive();
    if (argv.length === 0) throw new Error('spawn: empty command');
    let logFile: string | undefined;
    let fd: number | undefined;
    let stdio: 'pipe' | 'ignore' | number = 'ignore';
    if (opts.log === 'pipe') stdio = 'pipe';
    else if (typeof opts.log === 'string') {
      logFile = path.isAbsolute(opts.log) ? opts.log : this.file(opts.log);
      fd = fs.openSync(logFile, 'a');
      stdio = fd;
    }
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: [opts.log === 'pipe' ? 'pipe' : 'ignore', stdio, stdio], env: opts.env ?? process.env, cwd: opts.cwd });
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    child.on('error', () => {
      /* reported through exit / missing pid */
    });
    // A forgotten lab must not keep the process alive: on exit, the 'exit' handler kills it.
    child.unref();
    const p = new LabProcess(opts.name, argv, child, logFile);
    this.processes.push(p);
    return p;
  }

  /**
   * Kills every recorded process (SIGTERM, SIGKILL after the grace period), then any
   * process still inside one of this lab's namespaces, deletes the namespaces, and removes
   * the temp dir unless kept. Idempotent; safe to call concurrently.
   */
  destroy(): Promise<void> {
    if (this.destroying === undefined) this.destroying = this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<void> {
    const errors: string[] = [];
    for (const hook of [...this.hooks].reverse()) {
      try {
        // A hook that hangs must not stop the cleanup; the timer must not keep the process alive.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([hook(), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.graceMs + 2000)))]).finally(() => clearTimeout(timer));
      } catch (e) {
        errors.push(`cleanup hook: ${(e as Error).message}`);
      }
    }
    await Promise.all(this.processes.map((p) => p.stop(this.graceMs)));
    for (const ns of [...this.namespaces].reverse()) {
      // Anything still running inside a namespace we created was started by us (e.g. by an
      // exec() whose caller gave up): it must not outlive the namespace.
      killPids((await run(['ip', 'netns', 'pids', ns.name], { allowFail: true })).stdout);
      const del = await run(['ip', 'netns', 'del', ns.name], { allowFail: true });
      if (del.code !== 0 && !/No such file/.test(del.stderr)) errors.push(`ip netns del ${ns.name}: ${del.stderr.trim()}`);
      this.namespaces.splice(this.namespaces.indexOf(ns), 1);
    }
    this.removeTmp();
    liveLabs.delete(this);
    removeHandlersIfIdle();
    if (errors.length > 0) throw new Error(`lab ${this.name} destroy: ${errors.join('; ')}`);
  }

  /** Synchronous best-effort cleanup for process 'exit': SIGKILL, delete namespaces, rm. */
  destroySync(): void {
    if (this.destroyedSync) return;
    this.destroyedSync = true;
    for (const p of this.processes) p.signal('SIGKILL');
    for (const ns of this.namespaces) {
      killPids(runSyncQuiet(['ip', 'netns', 'pids', ns.name]).stdout);
      runSyncQuiet(['ip', 'netns', 'del', ns.name]);
    }
    this.namespaces.length = 0;
    this.removeTmp();
    liveLabs.delete(this);
  }

  private removeTmp(): void {
    if (this.keep) {
      process.stderr.write(`lab ${this.name}: kept ${this.tmpDir} (EM_KEEP_LAB=1)\n`);
      return;
    }
    try {
      fs.rmSync(this.tmpDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }

  private own(ns: Netns): void {
    if (ns.lab !== this || !this.namespaces.includes(ns)) throw new Error(`namespace ${ns.name} is not part of lab ${this.name}`);
  }
}

function killPids(pidList: string): void {
  for (const pid of pidList.split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** True while a recorded process is alive (helper for tests). */
export function anyAlive(pids: readonly number[]): number[] {
  return pids.filter((p) => pidAlive(p));
}
