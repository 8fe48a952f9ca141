// Local MAC learning: watches the bridge FDB of each tenant VNI and reports where every MAC
// is: behind a local access port, or behind the VNI's vxlan port (a tunnel, with the remote
// VTEP when the vxlan device's own FDB names it). Events feed the MAC location table
// (applyFdbEvent); a MAC that goes tunnel -> local port has moved in, local -> tunnel (or
// gone) has moved out.
//
// Source: one dump (`bridge -j fdb show br <bridge>`) at start and on resync(), then
// `bridge monitor fdb` lines (iproute2 6.1 prints monitor output as text even with -j,
// measured). Ignored: `permanent` entries (the bridge's and its ports' own MACs), entries
// of the bridge device itself, and `self` entries (only used to learn a tunnel's VTEP).
import { ChildProcess, spawn } from 'node:child_process';
import { TypedEmitter } from '../../util/events';
import { Logger, silentLogger } from '../../util/log';
import type { MacTable } from '../../monitoring/mac-table';
import { CommandRunner, mustRun } from './runner';

/** `static`: an entry the operator added (`bridge fdb add ... static`): sticky, RFC 7432 section 15.2. */
export type FdbLocation = { kind: 'local'; port: string; static?: true } | { kind: 'tunnel'; device: string; vtep?: string };

export type FdbChange = 'learn' | 'forget' | 'move-in' | 'move-out' | 'port-change' | 'tunnel-change';

export interface FdbEvent {
  vni: number;
  mac: string;
  from: FdbLocation | undefined;
  to: FdbLocation | undefined;
  change: FdbChange;
}

export interface FdbWatcherEvents {
  event: (e: FdbEvent) => void;
  error: (err: Error) => void;
}

export interface FdbLine {
  deleted: boolean;
  mac: string;
  dev: string;
  master?: string;
  dst?: string;
  self: boolean;
  permanent: boolean;
  isStatic: boolean;
}

/** Parses one `bridge monitor fdb` line; undefined for lines that are not FDB entries. */
export function parseFdbLine(line: string): FdbLine | undefined {
  const t = line.trim().split(/\s+/);
  if (!t.length || t[0] === '') return undefined;
  let i = 0;
  const deleted = t[0] === 'Deleted';
  if (deleted) i++;
  const mac = t[i]?.toLowerCase();
  if (!mac || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || t[i + 1] !== 'dev' || !t[i + 2]) return undefined;
  const out: FdbLine = { deleted, mac, dev: t[i + 2]!, self: false, permanent: false, isStatic: false };
  for (let j = i + 3; j < t.length; j++) {
    const w = t[j]!;
    if (w === 'master' && t[j + 1]) out.master = t[++j]!;
    else if (w === 'dst' && t[j + 1]) out.dst = t[++j]!;
    else if (w === 'self') out.self = true;
    else if (w === 'permanent') out.permanent = true;
    else if (w === 'static') out.isStatic = true;
    else if (w === 'vlan' || w === 'port' || w === 'vni' || w === 'via' || w === 'src_vni' || w === 'nhid') j++;
  }
  return out;
}

function sameLoc(a: FdbLocation | undefined, b: FdbLocation | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind === 'local') return b.kind === 'local' && a.port === b.port && a.static === b.static;
  return b.kind === 'tunnel' && a.device === b.device && a.vtep === b.vtep;
}

export function classify(from: FdbLocation | undefined, to: FdbLocation | undefined): FdbChange {
  if (!to) return 'forget';
  if (to.kind === 'local') return !from ? 'learn' : from.kind === 'tunnel' ? 'move-in' : 'port-change';
  return from?.kind === 'local' ? 'move-out' : from ? 'tunnel-change' : 'learn';
}

/** Feeds one event to the MAC location table (local learn / forget). */
export function applyFdbEvent(table: Pick<MacTable, 'localLearn' | 'localForget'>, e: FdbEvent): void {
  if (e.to?.kind === 'local') table.localLearn(e.vni, e.mac, e.to.port, { sticky: e.to.static === true });
  else if (e.from?.kind === 'local') table.localForget(e.vni, e.mac);
}

export interface FdbWatcherOptions {
  runner: CommandRunner;
  /** Tenant VNI -> bridge. */
  bridges: ReadonlyMap<number, string> | Record<number, string>;
  /** Prefix of the monitor command (e.g. ['ip', 'netns', 'exec', ns]); default none. */
  commandPrefix?: string[];
  logger?: Logger;
}

export class FdbWatcher extends TypedEmitter<FdbWatcherEvents> {
  private readonly runner: CommandRunner;
  private readonly vniOf = new Map<string, number>();
  private readonly prefix: string[];
  private readonly log: Logger;
  /** "vni|mac" -> where. */
  private readonly table = new Map<string, FdbLocation>();
  /** vxlan device -> mac -> remote VTEP (from `self` entries). */
  private readonly remotes = new Map<string, Map<string, string>>();
  private vxlanDevs = new Set<string>();
  private child: ChildProcess | undefined;
  private buffered: string[] | undefined;
  private partial = '';
  private stopped = false;

  constructor(opts: FdbWatcherOptions) {
    super();
    this.runner = opts.runner;
    const b = opts.bridges instanceof Map ? opts.bridges : new Map(Object.entries(opts.bridges).map(([k, v]) => [Number(k), v] as const));
    for (const [vni, br] of b) this.vniOf.set(br, vni);
    this.prefix = opts.commandPrefix ?? [];
    this.log = opts.logger ?? silentLogger;
  }

  /** Where the watcher believes a MAC is. */
  location(vni: number, mac: string): FdbLocation | undefined {
    return this.table.get(`${vni}|${mac.toLowerCase()}`);
  }

  /** Starts the monitor, then reads the current FDB (events seen meanwhile are applied after). */
  async start(): Promise<void> {
    this.buffered = [];
    const argv = [...this.prefix, 'bridge', 'monitor', 'fdb'];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => this.onData(s));
    child.stderr!.setEncoding('utf8');
    let err = '';
    child.stderr!.on('data', (s: string) => (err += s));
    child.on('exit', (code, sig) => {
      if (this.stopped) return;
      this.emit('error', new Error(`bridge monitor fdb exited (${code ?? sig}): ${err.trim()}`));
    });
    child.unref();
    await this.resync();
    const pending = this.buffered;
    this.buffered = undefined;
    for (const l of pending) this.onLine(l);
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  /** Re-reads the whole FDB and reports every difference from what the watcher believed. */
  async resync(): Promise<FdbEvent[]> {
    const devs = await mustRun(this.runner, 'list vxlan devices', ['ip', '-j', '-d', 'link', 'show', 'type', 'vxlan']);
    this.vxlanDevs = new Set((JSON.parse(devs || '[]') as { ifname: string }[]).map((d) => d.ifname));
    const seen = new Map<string, FdbLocation>();
    this.remotes.clear();
    for (const dev of this.vxlanDevs) {
      const out = await this.runner.run(['bridge', '-j', 'fdb', 'show', 'dev', dev]);
      if (out.code !== 0) continue;
      for (const e of JSON.parse(out.stdout || '[]') as { mac: string; dst?: string; flags?: string[] }[])
        if (e.dst && (e.flags ?? []).includes('self')) this.remote(dev).set(e.mac.toLowerCase(), e.dst);
    }
    for (const [br, vni] of this.vniOf) {
      const out = await mustRun(this.runner, `read FDB of ${br}`, ['bridge', '-j', 'fdb', 'show', 'br', br]);
      for (const e of JSON.parse(out || '[]') as { mac: string; ifname: string; master?: string; state?: string; flags?: string[] }[]) {
        const line: FdbLine = { deleted: false, mac: e.mac.toLowerCase(), dev: e.ifname, self: (e.flags ?? []).includes('self'), permanent: e.state === 'permanent', isStatic: e.state === 'static' };
        if (e.master !== undefined) line.master = e.master;
        const loc = this.locate(line);
        if (loc && e.master === br) seen.set(`${vni}|${line.mac}`, loc);
      }
    }
    const events: FdbEvent[] = [];
    for (const [k, loc] of seen) {
      const old = this.table.get(k);
      if (!sameLoc(old, loc)) events.push(this.set(k, loc));
    }
    for (const k of [...this.table.keys()]) if (!seen.has(k)) events.push(this.set(k, undefined));
    return events;
  }

  private remote(dev: string): Map<string, string> {
    let m = this.remotes.get(dev);
    if (!m) this.remotes.set(dev, (m = new Map()));
    return m;
  }

  private locate(l: FdbLine): FdbLocation | undefined {
    if (l.self || l.permanent || !l.master || l.dev === l.master) return undefined;
    if (this.vxlanDevs.has(l.dev)) {
      const loc: FdbLocation = { kind: 'tunnel', device: l.dev };
      const vtep = this.remotes.get(l.dev)?.get(l.mac);
      if (vtep !== undefined) loc.vtep = vtep;
      return loc;
    }
    return l.isStatic ? { kind: 'local', port: l.dev, static: true } : { kind: 'local', port: l.dev };
  }

  private set(key: string, loc: FdbLocation | undefined): FdbEvent {
    const from = this.table.get(key);
    if (loc) this.table.set(key, loc);
    else this.table.delete(key);
    const bar = key.indexOf('|');
    const ev: FdbEvent = { vni: Number(key.slice(0, bar)), mac: key.slice(bar + 1), from, to: loc, change: classify(from, loc) };
    this.log.debug('fdb', { ...ev });
    this.emit('event', ev);
    return ev;
  }

  private onData(s: string): void {
    this.partial += s;
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) {
      if (this.buffered) this.buffered.push(l);
      else this.onLine(l);
    }
  }

  /** Applies one monitor line (exposed for tests). */
  onLine(text: string): void {
    const l = parseFdbLine(text);
    if (!l) return;
    if (l.self && l.dst && !l.master) {
      if (l.deleted) this.remotes.get(l.dev)?.delete(l.mac);
      else this.remote(l.dev).set(l.mac, l.dst);
      return;
    }
    if (!l.master) return;
    const vni = this.vniOf.get(l.master);
    if (vni === undefined) return;
    const key = `${vni}|${l.mac}`;
    const cur = this.table.get(key);
    if (l.deleted) {
      // Only the entry on the port we believe in is gone (a learn elsewhere may come first).
      if (cur && ((cur.kind === 'local' && cur.port === l.dev) || (cur.kind === 'tunnel' && cur.device === l.dev))) this.set(key, undefined);
      return;
    }
    const loc = this.locate(l);
    if (loc && !sameLoc(cur, loc)) this.set(key, loc);
  }
}
