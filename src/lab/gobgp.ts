// GoBGP 3.10 (gobgpd + gobgp CLI) inside a lab namespace.
//
// gobgpd runs in the foreground with a TOML config and its gRPC API on a unix socket in the
// lab temp dir (`--api-hosts unix://<dir>/api.sock`, `--pprof-disable`), so nothing listens
// on TCP besides BGP itself. The CLI talks to it from the root namespace through that
// socket (`gobgp --target unix://<dir>/api.sock ...`). Neighbors get `connect-retry` 2 s
// (GoBGP's default retry is 120 s, too slow for tests).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, waitUntil } from './exec';
import { Lab, LabProcess, Netns } from './netns';

export interface GobgpNeighbor {
  address: string;
  asn: number;
  /** AFI-SAFI names as GoBGP spells them; default ['l2vpn-evpn']. */
  families?: readonly string[];
  /** Seconds; default 2. */
  connectRetry?: number;
  holdTime?: number;
  keepaliveInterval?: number;
  passive?: boolean;
  localAddress?: string;
  routeReflectorClient?: boolean;
  /** Advertise the graceful-restart capability (GoBGP then sends End-of-RIB markers). */
  gracefulRestart?: boolean;
}

export interface GobgpOptions {
  /** Instance name (directory and log names); default 'gobgp'. */
  name?: string;
  asn: number;
  routerId: string;
  neighbors: readonly GobgpNeighbor[];
  /** BGP listen port; default 179. -1 disables listening. */
  listenPort?: number;
  /** gobgpd log level (e.g. 'debug'); default 'info'. */
  logLevel?: string;
  startTimeoutMs?: number;
}

/** The parts of `gobgp neighbor <ip> -j` used by the harness. */
export interface GobgpNeighborJson {
  conf?: { neighbor_address?: string; peer_asn?: number; [k: string]: unknown };
  state?: { session_state?: number | string; neighbor_address?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** GoBGP's session_state numbering (api.PeerState_SessionState). */
export const GOBGP_SESSION_STATES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'IDLE',
  2: 'CONNECT',
  3: 'ACTIVE',
  4: 'OPENSENT',
  5: 'OPENCONFIRM',
  6: 'ESTABLISHED',
};

function tomlString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid TOML basic string
}

/** Renders the gobgpd TOML configuration. */
export function gobgpToml(o: GobgpOptions): string {
  const l: string[] = [];
  l.push('[global.config]', `  as = ${o.asn}`, `  router-id = ${tomlString(o.routerId)}`);
  if (o.listenPort !== undefined) l.push(`  port = ${o.listenPort}`);
  for (const n of o.neighbors) {
    l.push('', '[[neighbors]]', '  [neighbors.config]', `    neighbor-address = ${tomlString(n.address)}`, `    peer-as = ${n.asn}`);
    l.push('  [neighbors.timers.config]', `    connect-retry = ${n.connectRetry ?? 2}`);
    if (n.holdTime !== undefined) l.push(`    hold-time = ${n.holdTime}`);
    if (n.keepaliveInterval !== undefined) l.push(`    keepalive-interval = ${n.keepaliveInterval}`);
    if (n.passive === true || n.localAddress !== undefined) {
      l.push('  [neighbors.transport.config]');
      if (n.passive === true) l.push('    passive-mode = true');
      if (n.localAddress !== undefined) l.push(`    local-address = ${tomlString(n.localAddress)}`);
    }
    if (n.routeReflectorClient === true) {
      l.push('  [neighbors.route-reflector.config]', '    route-reflector-client = true', `    route-reflector-cluster-id = ${tomlString(o.routerId)}`);
    }
    if (n.gracefulRestart === true) {
      l.push('  [neighbors.graceful-restart.config]', '    enabled = true', '    restart-time = 120');
    }
    for (const f of n.families ?? ['l2vpn-evpn']) {
      l.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = ${tomlString(f)}`);
      if (n.gracefulRestart === true) l.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
    }
  }
  l.push('');
  return l.join('\n');
}

export class GobgpInstance {
  readonly lab: Lab;
  readonly ns: Netns;
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  /** `unix://<dir>/api.sock` */
  readonly target: string;
  readonly process: LabProcess;
  private stopped: Promise<void> | undefined;

  constructor(lab: Lab, ns: Netns, name: string, dir: string, configFile: string, target: string, proc: LabProcess) {
    this.lab = lab;
    this.ns = ns;
    this.name = name;
    this.dir = dir;
    this.configFile = configFile;
    this.target = target;
    this.process = proc;
  }

  /** `gobgp --target <api> args...`; returns stdout, throws on a non-zero exit. */
  async cli(args: readonly string[]): Promise<string> {
    const r = await run(['gobgp', '--target', this.target, ...args], { timeoutMs: 30_000 });
    return r.stdout;
  }

  /** `gobgp --target <api> args... -j`, parsed. */
  async cliJson<T>(args: readonly string[]): Promise<T> {
    const out = await this.cli([...args, '-j']);
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new Error(`gobgp ${args.join(' ')} -j on ${this.name}: not JSON: ${out.slice(0, 500)}`);
    }
  }

  /** Session state of a neighbor, as GoBGP's name ('ESTABLISHED', 'ACTIVE', ...). */
  async neighborState(address: string): Promise<string | undefined> {
    const n = await this.cliJson<GobgpNeighborJson>(['neighbor', address]);
    const s = n.state?.session_state;
    if (s === undefined) return 'UNKNOWN'; // GoBGP omits zero-valued fields
    return typeof s === 'number' ? GOBGP_SESSION_STATES[s] ?? String(s) : s.toUpperCase();
  }

  /** Polls `probe(this)` until it returns a value other than undefined/null/false. */
  waitFor<T>(probe: (g: GobgpInstance) => Promise<T | undefined | null | false>, timeoutMs: number, what?: string): Promise<T> {
    return waitUntil(
      async () => {
        this.assertRunning();
        return probe(this);
      },
      { timeoutMs, intervalMs: 250, what: `${what ?? 'condition'} on GoBGP ${this.name}` },
    ).catch((e: Error) => {
      e.message += `\n--- gobgpd log (${this.process.logFile ?? 'none'}) ---\n${this.process.logTail(2000)}`;
      throw e;
    });
  }

  async waitEstablished(address: string, timeoutMs = 30_000): Promise<void> {
    await this.waitFor(async (g) => (await g.neighborState(address)) === 'ESTABLISHED', timeoutMs, `session to ${address} Established`);
  }

  assertRunning(): void {
    if (!this.process.running) {
      throw new Error(`gobgpd ${this.name} exited (${JSON.stringify(this.process.exitStatus)})\n${this.process.logTail(2000)}`);
    }
  }

  stop(): Promise<void> {
    if (this.stopped === undefined) this.stopped = this.process.stop().then(() => undefined);
    return this.stopped;
  }
}

/** Writes the TOML config, starts gobgpd in `ns`, resolves once its API answers. */
export async function startGobgp(lab: Lab, ns: Netns, opts: GobgpOptions): Promise<GobgpInstance> {
  const name = opts.name ?? 'gobgp';
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(name)) throw new Error(`bad GoBGP instance name ${JSON.stringify(name)}`);
  const dir = lab.file(`gobgp-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'gobgpd.toml');
  fs.writeFileSync(configFile, gobgpToml(opts));
  const sock = path.join(dir, 'api.sock');
  const target = `unix://${sock}`;
  const proc = ns.spawn(
    ['gobgpd', '-f', configFile, '-t', 'toml', '--api-hosts', target, '--pprof-disable', '-p', '-l', opts.logLevel ?? 'info'],
    { name: 'gobgpd', log: `${name}-gobgpd.log` },
  );
  const g = new GobgpInstance(lab, ns, name, dir, configFile, target, proc);
  lab.onDestroy(() => g.stop());
  await g.waitFor(
    async (x) => {
      await x.cli(['global']);
      return true;
    },
    opts.startTimeoutMs ?? 20_000,
    'API',
  );
  return g;
}
