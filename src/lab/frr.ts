// FRR 8.4 (zebra + bgpd) inside a lab namespace.
//
// What it takes to run FRR here (measured on Debian 12, FRR 8.4.4):
// - The daemons run in the foreground straight from /usr/lib/frr (no systemd, no -d), so the
//   PID the lab records is the daemon itself: `ip netns exec` and `sh -c 'exec ...'` both
//   exec in place.
// - Every path is private to the instance: config (-f), pid file (-i), zserv socket (-z),
//   vty sockets (--vty_socket), no TCP vty (-P 0). vtysh reaches the daemons through
//   `vtysh --vty_socket <dir>`, from the root namespace (unix sockets are file paths).
// - FRR drops privileges to user `frr` right after start. `-u root -g root` fails
//   ("user(root) is not part of vty group specified(frrvty)") and zebra has no `-S`; so the
//   instance directory is chowned to frr:frr and the lab temp dir is made world-traversable
//   (0755) so that frr can create its pid files and sockets and read its configs.
// - FRR 8.4 keeps crash/log buffers under /var/tmp/frr/<daemon>.<pid>/. Each daemon gets a
//   private /var/tmp: `ip netns exec` already gives the command its own mount namespace,
//   and `mount --bind <dir>/vartmp /var/tmp` inside `sh -c` stays private to it (nothing is
//   created or mounted in the root mount namespace).
// - zebra must run too: without it bgpd cannot resolve next hops (routes are stored, never
//   reflected) and an EVPN VTEP learns nothing.
// - Neighbors need `timers connect 2`: the default connect retry waits up to 120 s.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, RunResult, waitUntil } from './exec';
import { Lab, LabProcess, Netns } from './netns';

export const FRR_DIR = '/usr/lib/frr';

export type FrrDaemon = 'zebra' | 'bgpd';

export interface FrrOptions {
  /** Instance name (directory and log names); letters, digits, '-', '_'. */
  name: string;
  /** Full bgpd configuration text. */
  bgpdConf: string;
  /** zebra configuration text; default: just a hostname. */
  zebraConf?: string;
  /** FRR log level for both daemons (e.g. 'debugging'); default 'informational'. */
  logLevel?: string;
  /** How long to wait for both vtys to answer; default 20 s. */
  startTimeoutMs?: number;
}

/** One BGP neighbor entry of `show bgp l2vpn evpn summary json`. */
export interface FrrSummaryPeer {
  remoteAs?: number;
  state?: string;
  peerState?: string;
  pfxRcd?: number;
  pfxSnt?: number;
  msgRcvd?: number;
  msgSent?: number;
  [k: string]: unknown;
}

export interface FrrSummary {
  routerId?: string;
  as?: number;
  peers?: Record<string, FrrSummaryPeer>;
  [k: string]: unknown;
}

let frrIds: { uid: number; gid: number } | undefined;

async function frrUser(): Promise<{ uid: number; gid: number }> {
  if (frrIds === undefined) {
    const uid = Number((await run(['id', '-u', 'frr'])).stdout.trim());
    const gid = Number((await run(['id', '-g', 'frr'])).stdout.trim());
    frrIds = { uid, gid };
  }
  return frrIds;
}

export class FrrInstance {
  readonly lab: Lab;
  readonly ns: Netns;
  readonly name: string;
  /** Private directory: configs, pid files, vty and zserv sockets, private /var/tmp. */
  readonly dir: string;
  readonly zebra: LabProcess;
  private bgpdProc: LabProcess;
  private readonly spawnBgpd: () => LabProcess;
  private stopped: Promise<void> | undefined;

  constructor(lab: Lab, ns: Netns, name: string, dir: string, zebra: LabProcess, spawnBgpd: () => LabProcess) {
    this.lab = lab;
    this.ns = ns;
    this.name = name;
    this.dir = dir;
    this.zebra = zebra;
    this.spawnBgpd = spawnBgpd;
    this.bgpdProc = spawnBgpd();
  }

  /** The current bgpd process (a new one after restartBgpd()). */
  get bgpd(): LabProcess {
    return this.bgpdProc;
  }

  /**
   * Stops bgpd if it still runs (SIGTERM, then SIGKILL) and starts it again with the same
   * configuration file; resolves once its vty answers. zebra keeps running.
   */
  async restartBgpd(timeoutMs = 20_000): Promise<void> {
    if (this.stopped !== undefined) throw new Error(`FRR ${this.name} is stopped`);
    await this.bgpdProc.stop();
    this.bgpdProc = this.spawnBgpd();
    await this.waitVty('bgpd', timeoutMs);
  }

  /** Waits until a daemon's vty answers `show version`. */
  async waitVty(daemon: FrrDaemon, timeoutMs = 20_000): Promise<void> {
    await this.waitFor(async (f) => (await f.vtyshRaw('show version', daemon, true)).code === 0, timeoutMs, `${daemon} vty`);
  }

  /** Raw vtysh call; several commands run in sequence (e.g. 'configure terminal', ...). */
  vtyshRaw(cmd: string | readonly string[], daemon?: FrrDaemon, allowFail = false): Promise<RunResult> {
    const cmds = typeof cmd === 'string' ? [cmd] : cmd;
    const argv = ['vtysh', '--vty_socket', this.dir];
    if (daemon !== undefined) argv.push('-d', daemon);
    for (const c of cmds) argv.push('-c', c);
    return run(argv, { allowFail, timeoutMs: 30_000 });
  }

  /** vtysh output of one command (or a sequence); throws on failure. */
  async vtysh(cmd: string | readonly string[], daemon?: FrrDaemon): Promise<string> {
    return (await this.vtyshRaw(cmd, daemon)).stdout;
  }

  /** vtysh output parsed as JSON (the command should end in `json`); default daemon bgpd. */
  async vtyshJson<T>(cmd: string, daemon: FrrDaemon = 'bgpd'): Promise<T> {
    const out = await this.vtysh(cmd, daemon);
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new Error(`vtysh ${JSON.stringify(cmd)} on ${this.name}: not JSON: ${out.slice(0, 500)}`);
    }
  }

  /** Configuration commands (wrapped in `configure terminal`). */
  async configure(lines: readonly string[]): Promise<string> {
    return this.vtysh(['configure terminal', ...lines]);
  }

  /**
   * Polls `probe(this)` until it returns a value other than undefined/null/false.
   * Fails early, with the log tail, if a daemon has died.
   */
  waitFor<T>(probe: (frr: FrrInstance) => Promise<T | undefined | null | false>, timeoutMs: number, what?: string): Promise<T> {
    return waitUntil(
      async () => {
        this.assertRunning();
        return probe(this);
      },
      { timeoutMs, intervalMs: 250, what: `${what ?? 'condition'} on FRR ${this.name}` },
    ).catch((e: Error) => {
      throw this.withLogs(e);
    });
  }

  /** `show bgp l2vpn evpn summary json`. */
  evpnSummary(): Promise<FrrSummary> {
    return this.vtyshJson<FrrSummary>('show bgp l2vpn evpn summary json');
  }

  /** The FSM state of one l2vpn-evpn neighbor ('Established', 'Active', ...), if listed. */
  async peerState(address: string): Promise<string | undefined> {
    const s = await this.evpnSummary();
    return s.peers?.[address]?.state;
  }

  /** Waits until the l2vpn-evpn session with `address` is Established. */
  async waitEstablished(address: string, timeoutMs = 30_000): Promise<void> {
    await this.waitFor(async (f) => (await f.peerState(address)) === 'Established', timeoutMs, `session to ${address} Established`);
  }

  assertRunning(): void {
    for (const p of [this.zebra, this.bgpd]) {
      if (!p.running) {
        throw this.withLogs(new Error(`FRR ${this.name}: ${p.name} exited (${JSON.stringify(p.exitStatus)})`));
      }
    }
  }

  private withLogs(e: Error): Error {
    const tails = [this.zebra, this.bgpd].map((p) => `--- ${p.name} log (${p.logFile ?? 'none'}) ---\n${p.logTail(2000)}`);
    e.message += `\n${tails.join('\n')}`;
    return e;
  }

  /** Stops bgpd then zebra (SIGTERM, SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void> {
    if (this.stopped === undefined) {
      this.stopped = (async () => {
        await this.bgpd.stop();
        await this.zebra.stop();
      })();
    }
    return this.stopped;
  }
}

/** Starts zebra and bgpd in `ns`; resolves once both vtys answer. */
export async function startFrr(lab: Lab, ns: Netns, opts: FrrOptions): Promise<FrrInstance> {
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(opts.name)) throw new Error(`bad FRR instance name ${JSON.stringify(opts.name)}`);
  const dir = lab.file(`frr-${opts.name}`);
  const vartmp = path.join(dir, 'vartmp');
  fs.mkdirSync(vartmp, { recursive: true });
  const zebraConf = path.join(dir, 'zebra.conf');
  const bgpdConf = path.join(dir, 'bgpd.conf');
  fs.writeFileSync(zebraConf, opts.zebraConf ?? `hostname ${opts.name}\n`, { mode: 0o644 });
  fs.writeFileSync(bgpdConf, opts.bgpdConf, { mode: 0o644 });
  const { uid, gid } = await frrUser();
  for (const p of [dir, vartmp, zebraConf, bgpdConf]) fs.chownSync(p, uid, gid);
  fs.chmodSync(dir, 0o755);

  const level = opts.logLevel ?? 'informational';
  // $1 = private /var/tmp, the rest is the daemon's argv: no value is interpolated by sh.
  const wrap = (daemon: FrrDaemon, args: string[]): string[] => [
    'sh',
    '-c',
    'd="$1"; shift; mount --bind "$d" /var/tmp && exec "$@"',
    'sh',
    vartmp,
    path.join(FRR_DIR, daemon),
    '-f',
    daemon === 'zebra' ? zebraConf : bgpdConf,
    '-i',
    path.join(dir, `${daemon}.pid`),
    '-z',
    path.join(dir, 'zserv.api'),
    '--vty_socket',
    dir,
    '-P',
    '0',
    '--log',
    'stdout',
    '--log-level',
    level,
    ...args,
  ];

  const zebra = ns.spawn(wrap('zebra', ['-s', '90000000']), { name: 'zebra', log: `${opts.name}-zebra.log` });
  // bgpd retries its zserv connection, but starting it once zebra's socket exists avoids a
  // first failed attempt in the logs.
  await waitUntil(() => fs.existsSync(path.join(dir, 'zserv.api')) || !zebra.running, {
    timeoutMs: opts.startTimeoutMs ?? 20_000,
    intervalMs: 50,
    what: `zebra ${opts.name} zserv socket`,
  });
  const frr = new FrrInstance(lab, ns, opts.name, dir, zebra, () => ns.spawn(wrap('bgpd', []), { name: 'bgpd', log: `${opts.name}-bgpd.log` }));
  lab.onDestroy(() => frr.stop());
  for (const d of ['zebra', 'bgpd'] as const) await frr.waitVty(d, opts.startTimeoutMs ?? 20_000);
  return frr;
}

export interface FrrTimers {
  keepalive: number;
  hold: number;
}

export interface RrConfOptions {
  asn: number;
  routerId: string;
  /** Addresses of the route-reflector clients (iBGP, same ASN). */
  clients?: readonly string[];
  /** Also accept any client from this range (`bgp listen range <cidr> peer-group RRC`). */
  listenRange?: string;
  hostname?: string;
  clusterId?: string;
  /** `timers bgp <keepalive> <hold>`. */
  timers?: FrrTimers;
  /** Extra lines inside `router bgp` (before the address family). */
  extra?: readonly string[];
}

/**
 * bgpd.conf for an EVPN route reflector: every client is in peer-group RRC (iBGP,
 * `timers connect 2`), activated in l2vpn evpn as `route-reflector-client`.
 */
export function rrBgpdConf(o: RrConfOptions): string {
  const l: string[] = [];
  l.push(`hostname ${o.hostname ?? 'rr'}`, '!', `router bgp ${o.asn}`, ` bgp router-id ${o.routerId}`);
  l.push(' no bgp default ipv4-unicast', ' no bgp network import-check');
  if (o.clusterId !== undefined) l.push(` bgp cluster-id ${o.clusterId}`);
  if (o.timers !== undefined) l.push(` timers bgp ${o.timers.keepalive} ${o.timers.hold}`);
  l.push(' neighbor RRC peer-group', ` neighbor RRC remote-as ${o.asn}`, ' neighbor RRC timers connect 2');
  for (const c of o.clients ?? []) l.push(` neighbor ${c} peer-group RRC`);
  if (o.listenRange !== undefined) l.push(` bgp listen range ${o.listenRange} peer-group RRC`);
  for (const e of o.extra ?? []) l.push(` ${e}`);
  l.push(' !', ' address-family l2vpn evpn', '  neighbor RRC activate', '  neighbor RRC route-reflector-client', ' exit-address-family');
  l.push('exit', '!', '');
  return l.join('\n');
}

export interface VtepNeighbor {
  address: string;
  /** Default: the local ASN (iBGP). */
  asn?: number;
}

export interface VtepConfOptions {
  asn: number;
  routerId: string;
  neighbors: readonly (string | VtepNeighbor)[];
  hostname?: string;
  /** `advertise-all-vni` (default true). */
  advertiseAllVni?: boolean;
  /** `advertise-svi-ip`. */
  advertiseSviIp?: boolean;
  /** `advertise-default-gw`. */
  advertiseDefaultGw?: boolean;
  timers?: FrrTimers;
  /** Extra lines inside `router bgp` (before the address family). */
  extra?: readonly string[];
  /** Extra lines inside `address-family l2vpn evpn`. */
  evpnExtra?: readonly string[];
}

/** bgpd.conf for an EVPN VTEP leaf (`advertise-all-vni`), neighbors with `timers connect 2`. */
export function vtepBgpdConf(o: VtepConfOptions): string {
  const l: string[] = [];
  l.push(`hostname ${o.hostname ?? 'leaf'}`, '!', `router bgp ${o.asn}`, ` bgp router-id ${o.routerId}`);
  l.push(' no bgp default ipv4-unicast', ' no bgp ebgp-requires-policy', ' no bgp network import-check');
  if (o.timers !== undefined) l.push(` timers bgp ${o.timers.keepalive} ${o.timers.hold}`);
  const ns = o.neighbors.map((n) => (typeof n === 'string' ? { address: n } : n));
  for (const n of ns) {
    l.push(` neighbor ${n.address} remote-as ${n.asn ?? o.asn}`, ` neighbor ${n.address} timers connect 2`);
  }
  for (const e of o.extra ?? []) l.push(` ${e}`);
  l.push(' !', ' address-family l2vpn evpn');
  for (const n of ns) l.push(`  neighbor ${n.address} activate`);
  if (o.advertiseAllVni !== false) l.push('  advertise-all-vni');
  if (o.advertiseSviIp === true) l.push('  advertise-svi-ip');
  if (o.advertiseDefaultGw === true) l.push('  advertise-default-gw');
  for (const e of o.evpnExtra ?? []) l.push(`  ${e}`);
  l.push(' exit-address-family', 'exit', '!', '');
  return l.join('\n');
}
