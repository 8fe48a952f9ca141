// The Linux switch driver: mirror entries as one nftables table (netdev evpn_mirror) plus the
// VXLAN-GBP mirror tunnel devices. See docs/dataplane.md for the design and measurements.
//
// - apply(): one `nft -f <file>` transaction per batch (all or nothing); the mirror transmit
//   devices a batch needs are made first (a leftover device is collected later).
// - installed(): read back from the kernel (nft list table), each entry checked against
//   the rules really there; inconsistent leftovers (e.g. after a crash or a hand edit) are
//   removed in one repair transaction and not reported, so the reconciler re-adds them.
// - heal(): periodic and on demand: the receive/transmit devices (recreated if deleted or
//   changed), the access-port chains (bridge members come and go), copy rules whose target
//   device was deleted and came back (nft binds a device by ifindex), a table deleted under
//   us (restored from what was applied). Failures are reported with the command's message in
//   health() and retried with backoff.
// - close({ keep: true }) leaves everything in place (graceful restart); otherwise removes
//   the table and the mirror devices.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorEntry, sameEntry } from '../../monitoring/entries';
import { Clock, TimerHandle, systemClock } from '../../util/clock';
import { Logger, silentLogger } from '../../util/log';
import { DriverError, DriverHealth, EntryCounters, EntryOps, MirrorDriver, batchProblem } from '../driver';
import { MirrorTunnels } from './devices';
import {
  DEFAULT_TABLE,
  EntryIndex,
  NftContext,
  NumberedEntry,
  catalogChunks,
  copyTarget,

  entryProblem,
  fullScript,
  portChain,
  portScript,
  skeletonScript,
  transitionScript,
  txDeviceName,
} from './nft-gen';
import { TableState, indexOf, parseTableText, verifyTable } from './readback';
import { CommandRunner, mustRun } from './runner';

/** Time limit of one `nft -f` batch or table listing: at 100,000 entries either takes tens of
 * seconds (docs/dataplane.md), more on a loaded machine. */
const NFT_TIMEOUT_MS = 600_000;

/** The default UDP port of the mirror tunnels (must differ from the tenant VXLAN port). */
export const DEFAULT_MIRROR_PORT = 4792;

export interface LinuxDriverOptions {
  runner: CommandRunner;
  /** This VTEP's underlay address. */
  vtepIp: string;
  mirrorVni: number;
  mirrorPort?: number;
  /** Tenant VNI -> its bridge; access ports are the bridge's members except vxlan devices. */
  bridges: ReadonlyMap<number, string> | Record<number, string>;
  rxDevice?: string;
  table?: string;
  txVniBase?: number;
  underlayDev?: string;
  logger?: Logger;
  clock?: Clock;
  /** Period of the check-and-heal loop, ms (0: only when heal() is called). Default 5000. */
  healIntervalMs?: number;
  /** Every n-th periodic pass reads the whole table back (default 12)... */
  fullCheckEvery?: number;
  /** ...but not before `fullCheckSpacing` times the last full read-back's duration has passed
   * since it ended (default 20: full read-backs take at most ~5% of the time; at 100,000
   * entries one takes tens of seconds, see docs/dataplane.md). */
  fullCheckSpacing?: number;
  /** Retry backoff of a failed heal, ms: first delay and cap. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface LinuxDriverHealth extends DriverHealth {
  /** Standing problems found by the last check (e.g. a copy target device missing). */
  problems: string[];
  /** What the last heal did (devices recreated, chains rewritten, ...). */
  lastRepairs: string[];
  repairsTotal: number;
}

export class LinuxMirrorDriver implements MirrorDriver {
  readonly name: string;
  readonly tunnels: MirrorTunnels;
  private readonly runner: CommandRunner;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly table: string;
  private readonly bridges: Map<number, string>;
  private readonly mirrorVni: number;
  private readonly healIntervalMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private index: EntryIndex | undefined;
  /** The last batch failed: the next checks every transmit device it needs. */
  private checkAllTx = false;
  /** Access ports that have a chain, per VNI (as last written). */
  private ports = new Map<number, string[]>();
  private lock: Promise<unknown> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private retryDelay: number;
  private closed = false;
  private passes = 0;
  private readonly fullEvery: number;
  private readonly fullSpacing: number;
  /** The last full read-back: when it ended and how long it took (clock ms). */
  private lastRead = { at: -Infinity, ms: 0 };
  private state: LinuxDriverHealth = { ok: true, consecutiveFailures: 0, problems: [], lastRepairs: [], repairsTotal: 0 };

  constructor(opts: LinuxDriverOptions) {
    this.runner = opts.runner;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.table = opts.table ?? DEFAULT_TABLE;
    this.mirrorVni = opts.mirrorVni;
    this.bridges = opts.bridges instanceof Map ? new Map(opts.bridges) : new Map(Object.entries(opts.bridges).map(([k, v]) => [Number(k), v]));
    this.healIntervalMs = opts.healIntervalMs ?? 5000;
    this.fullEvery = Math.max(1, opts.fullCheckEvery ?? 12);
    this.fullSpacing = Math.max(0, opts.fullCheckSpacing ?? 20);
    this.retryMinMs = opts.retryMinMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.retryDelay = this.retryMinMs;
    this.name = `linux-nft(${this.runner.where})`;
    const tc: ConstructorParameters<typeof MirrorTunnels>[1] = {
      vtepIp: opts.vtepIp,
      mirrorVni: opts.mirrorVni,
      mirrorPort: opts.mirrorPort ?? DEFAULT_MIRROR_PORT,
      rxDevice: opts.rxDevice ?? 'emrx',
      txVniBase: opts.txVniBase ?? (opts.mirrorVni % 0xffffff) + 1,
    };
    if (opts.underlayDev !== undefined) tc.underlayDev = opts.underlayDev;
    this.tunnels = new MirrorTunnels(this.runner, tc, this.log);
  }

  private ctx(ports: ReadonlyMap<number, readonly string[]> = this.ports): NftContext {
    return { table: this.table, rxDevice: this.tunnels.cfg.rxDevice, ports, txDevice: txDeviceName };
  }

  /** Serialises every operation on the kernel state. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn, fn);
    this.lock = p.catch(() => undefined);
    return p;
  }

  /** Creates what is missing, reads back what is installed (repairing leftovers), starts the heal loop. */
  async start(): Promise<void> {
    await this.locked(async () => {
      try {
        await this.tunnels.ensureRx();
        const ports = await this.discoverPorts();
        const st = await this.readTable();
        const removed = [...st.baseChains].filter((c) => c.startsWith('port_')).map((c) => c.slice(5)).filter((p) => !flat(ports).includes(p));
        await this.nft(skeletonScript(this.ctx(ports), removed), 'install skeleton');
        this.ports = ports;
        await this.loadLocked();
        await this.collectTx();
        this.succeeded();
      } catch (err) {
        throw this.failed(err);
      }
    });
    this.scheduleHeal(this.healIntervalMs);
  }

  async apply(ops: EntryOps): Promise<void> {
    return this.locked(async () => {
      try {
        await this.applyLocked(ops);
        this.succeeded();
      } catch (err) {
        throw this.failed(err);
      }
    });
  }

  async installed(): Promise<MirrorEntry[]> {
    return this.locked(async () => {
      try {
        const ix = await this.loadLocked();
        return [...ix.byId.values()].sort((a, b) => a.n - b.n).map((ne) => ne.entry);
      } catch (err) {
        throw this.failed(err);
      }
    });
  }

  async counters(): Promise<Map<string, EntryCounters>> {
    return this.locked(async () => {
      const st = await this.readTable();
      const ix = this.index ?? indexOf(verifyTable(st, this.ctx()));
      const out = new Map<string, EntryCounters>();
      for (const ne of ix.byId.values()) {
        const c = st.counters.get(`c${ne.n}`);
        if (c) out.set(ne.entry.id, { packets: c.packets, bytes: c.bytes });
      }
      return out;
    });
  }

  /** Table-wide counters: copies that reached rx with an unknown HOST-ID, frames with a foreign mark. */
  async globalCounters(): Promise<{ rxUndelivered: EntryCounters; foreignMark: EntryCounters }> {
    const st = await this.readTable();
    const z = { packets: 0, bytes: 0 };
    return { rxUndelivered: st.counters.get('rx_undelivered') ?? z, foreignMark: st.counters.get('foreign_mark') ?? z };
  }

  health(): LinuxDriverHealth {
    return { ...this.state, problems: [...this.state.problems], lastRepairs: [...this.state.lastRepairs] };
  }

  /** One check-and-heal pass now; resolves with what it repaired (rejects on failure).
   * `full: false` (the periodic default but every `fullEvery`-th pass, spaced by
   * `fullCheckSpacing` times the last read-back's duration) checks devices, access
   * ports and that the table exists, and reads the whole table back only when one of those
   * changed: a full read-back costs about 1.1 s at 10,000 entries and 25 s at 100,000 here. */
  heal(opts: { full?: boolean } = {}): Promise<string[]> {
    return this.locked(async () => {
      try {
        const repairs = await this.healLocked(opts.full ?? true);
        this.succeeded();
        return repairs;
      } catch (err) {
        throw this.failed(err);
      }
    });
  }

  /** Stops the heal loop; `keep` leaves entries and devices in place (graceful restart). */
  async close(opts: { keep: boolean }): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.locked(async () => {
      if (opts.keep) return;
      const st = await this.readTable();
      if (st.exists) await this.nft(`delete table netdev ${this.table}\n`, 'remove table');
      for (const tx of await this.tunnels.listTx()) await this.tunnels.removeTx(tx.dev);
      await this.tunnels.removeRx();
      this.index = new EntryIndex();
    });
  }

  // ---- internals -------------------------------------------------------------------------

  private succeeded(): void {
    this.retryDelay = this.retryMinMs;
    this.state = { ...this.state, ok: this.state.problems.length === 0, consecutiveFailures: 0 };
    delete this.state.lastError;
  }

  private failed(err: unknown): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    this.state = { ...this.state, ok: false, lastError: e.message, consecutiveFailures: this.state.consecutiveFailures + 1 };
    this.log.error('linux mirror driver: operation failed', { driver: this.name, error: e.message });
    return e;
  }

  private scheduleHeal(ms: number): void {
    if (this.closed || ms <= 0) return;
    this.timer?.cancel();
    this.timer = this.clock.after(ms, () => {
      this.timer = undefined;
      this.passes++;
      const full = this.passes >= this.fullEvery && this.clock.now() - this.lastRead.at >= this.fullSpacing * this.lastRead.ms;
      if (full) this.passes = 0;
      this.heal({ full }).then(
        () => this.scheduleHeal(this.healIntervalMs),
        () => {
          const d = this.retryDelay;
          this.retryDelay = Math.min(this.retryMaxMs, this.retryDelay * 2);
          this.scheduleHeal(d);
        },
      );
    });
  }

  /**
   * One nft transaction. The script goes through a file, not stdin: nft commits what it has
   * parsed when its input ends, so a driver killed while writing to a pipe could leave half
   * a batch; a file is complete before nft starts (it is written, then nft is run).
   */
  private async nft(script: string, what: string): Promise<void> {
    if (script.trim() === '') return;
    const dir = mkdtempSync(join(tmpdir(), 'evpn-mirror-nft-'));
    const file = join(dir, 'batch.nft');
    try {
      writeFileSync(file, script, { mode: 0o600 });
      await mustRun(this.runner, `nft ${what}`, ['nft', '-f', file], undefined, NFT_TIMEOUT_MS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The whole table as the kernel holds it. Text, not JSON: nft 1.0.6 prints it with less
   * CPU; and into a file, not a pipe: nft writes its text unbuffered (about 90 write calls per
   * entry), which through a pipe to this process costs more than the listing itself
   * (docs/dataplane.md, read-back). The shell only redirects; table and file are arguments. */
  private async readTable(): Promise<TableState> {
    const dir = mkdtempSync(join(tmpdir(), 'evpn-mirror-list-'));
    const file = join(dir, 'table.txt');
    try {
      const t0 = this.clock.now();
      const r = await this.runner.run(['sh', '-c', 'exec nft list table netdev "$1" > "$2"', 'sh', this.table, file], { timeoutMs: NFT_TIMEOUT_MS });
      this.lastRead = { at: this.clock.now(), ms: this.clock.now() - t0 };
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) return parseTableText('');
        throw new DriverError(`nft read-back failed (nft list table netdev ${this.table} in ${this.runner.where})`, r.stderr.trim() || `exit code ${r.code}`);
      }
      return parseTableText(readFileSync(file, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private async discoverPorts(): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const [vni, br] of [...this.bridges].sort((a, b) => a[0] - b[0])) out.set(vni, (await this.tunnels.bridgePorts(br)).sort());
    return out;
  }

  private async deviceNames(): Promise<Set<string>> {
    const out = await mustRun(this.runner, 'list devices', ['ip', '-j', 'link', 'show']);
    return new Set((JSON.parse(out || '[]') as { ifname: string }[]).map((l) => l.ifname));
  }

  /** Reads the table, drops what is inconsistent (one transaction), rewrites chains whose copy
   * target device came back with a new ifindex; the result becomes the index. */
  private async loadLocked(): Promise<EntryIndex> {
    const st = await this.readTable();
    const v = verifyTable(st, this.ctx());
    const good = indexOf(v);
    const problems: string[] = [];
    const chains = new Set(v.dirtyChains);
    if (v.staleTargets.size) {
      const devs = await this.deviceNames();
      for (const ch of v.staleTargets) {
        const dev = v.chainTargets.get(ch);
        if (dev !== undefined && !devs.has(dev)) problems.push(`copy target ${dev} of ${ch} is missing`);
        else chains.add(ch);
      }
    }
    if (v.broken.length) this.log.warn('linux mirror driver: dropping inconsistent entries', { broken: v.broken.map((b) => b.reason) });
    // Counters of no catalog entry: left by a batch cut short (e.g. the driver killed while
    // nft was reading its script).
    const goodNs = new Set(v.good.map((g) => g.n));
    const orphanCounters = [...st.counters.keys()].filter((c) => /^c\d+$/.test(c) && !goodNs.has(Number(c.slice(1))) && !v.broken.some((b) => `c${b.n}` === c)).map((c) => Number(c.slice(1)));
    if (chains.size || v.broken.length || orphanCounters.length) {
      const script = transitionScript(this.ctx(), {
        before: good,
        after: good,
        chains,
        dropped: v.broken.map((b) => ({ n: b.n, chunks: b.chunks })),
        written: [],
        newCounters: [],
        goneCounters: [...v.broken.filter((b) => st.counters.has(`c${b.n}`)).map((b) => b.n), ...orphanCounters],
        kernel: st,
      });
      await this.nft(script, 'repair after read-back');
      this.noteRepairs([...v.broken.map((b) => `dropped ${b.reason}`), ...[...chains].map((c) => `rewrote ${c}`), ...orphanCounters.map((n) => `removed orphan counter c${n}`)]);
    }
    this.state = { ...this.state, problems };
    this.index = good;
    return good;
  }

  private noteRepairs(r: string[]): void {
    if (!r.length) return;
    this.state = { ...this.state, lastRepairs: r, repairsTotal: this.state.repairsTotal + r.length };
    this.log.warn('linux mirror driver: repaired', { repairs: r });
  }

  /**
   * One batch. Transmit devices already used by installed entries had their FDB entry checked
   * when they were made, and every heal pass checks it again: for those a batch only lists the
   * links (one process); devices it starts to use get the full check; it removes only the ones
   * it stops using. After a batch that failed, the next one checks every device fully and then
   * collects unused ones.
   */
  private async applyLocked(ops: EntryOps): Promise<void> {
    try {
      const afterFailure = this.checkAllTx;
      await this.applyOnce(ops, afterFailure);
      this.checkAllTx = false;
      // A failed batch may have made a device no entry came to use: collect strays once.
      if (afterFailure)
        await this.collectTx().catch((err: Error) => this.log.warn('linux mirror driver: could not remove an unused transmit device', { error: err.message }));
    } catch (err) {
      if (!(err instanceof DriverError && err.message.startsWith('batch refused'))) this.checkAllTx = true;
      throw err;
    }
  }

  private async applyOnce(ops: EntryOps, checkAllTx: boolean): Promise<void> {
    const before = this.index ?? (await this.loadLocked());
    const refuse = (why: string) => new DriverError('batch refused', why);
    const problem = batchProblem(ops, (id) => before.byId.get(id)?.entry);
    if (problem) throw refuse(problem);
    for (const e of [...ops.add, ...ops.modify]) {
      const p = entryProblem(e, { ports: this.bridges as unknown as ReadonlyMap<number, readonly string[]> }, this.mirrorVni);
      if (p) throw refuse(p);
    }

    // Access ports as they are now; transmit devices the batch needs.
    const ports = await this.discoverPorts();
    const vteps = new Set<string>();
    for (const e of [...ops.add, ...ops.modify]) if (e.kind !== 'third' && e.action.kind === 'tunnel') vteps.add(e.action.vtep);
    const usedBefore = tunnelVteps(before);
    // Devices in use already: one listing says whether they are still there (a device deleted
    // under us would leave the batch's rules pointing at a dead ifindex until the next heal).
    const inUse = [...vteps].filter((v) => usedBefore.has(v)).map(txDeviceName);
    const linksOk = !checkAllTx && inUse.length ? await this.tunnels.txLinksOk(inUse) : new Set<string>();
    const touched = new Set<string>();
    for (const vtep of [...vteps].sort()) {
      if (linksOk.has(txDeviceName(vtep))) continue;
      const act = await this.tunnels.ensureTx(vtep);
      // Created or recreated: rules of installed entries may name the old device's ifindex.
      if (act !== 'ok') for (const ch of this.chainsTargeting(before, txDeviceName(vtep))) touched.add(ch);
    }

    const after = before.clone();
    const numbers = after.freeNumbers(ops.add.length);
    const dropped: { n: number; chunks: number }[] = [];
    const written: NumberedEntry[] = [];
    const goneCounters: number[] = [];
    for (const e of [...ops.remove, ...ops.modify]) {
      const cur = before.byId.get(e.id)!;
      dropped.push({ n: cur.n, chunks: before.chunks.get(cur.n) ?? 0 });
      for (const ch of after.remove(e.id)) touched.add(ch);
    }
    for (const e of ops.remove) goneCounters.push(before.byId.get(e.id)!.n);
    for (const e of ops.modify) {
      const ne = { n: before.byId.get(e.id)!.n, entry: e };
      written.push(ne);
      for (const ch of after.add(ne, catalogChunks(e).length)) touched.add(ch);
    }
    const newCounters: number[] = [];
    ops.add.forEach((e, i) => {
      const ne = { n: numbers[i]!, entry: e };
      written.push(ne);
      newCounters.push(ne.n);
      for (const ch of after.add(ne, catalogChunks(e).length)) touched.add(ch);
    });

    const ctx = this.ctx(ports);
    let script = '';
    const gonePorts = flat(this.ports).filter((p) => !flat(ports).includes(p));
    if (!samePorts(this.ports, ports)) script += portScript(ctx, gonePorts).join('\n') + '\n';
    script += transitionScript(ctx, { before, after, chains: touched, dropped, written, newCounters, goneCounters });
    await this.nft(script, `apply batch (+${ops.add.length} ~${ops.modify.length} -${ops.remove.length})`);
    this.index = after;
    this.ports = ports;
    const usedAfter = tunnelVteps(after);
    for (const vtep of usedBefore) {
      if (usedAfter.has(vtep)) continue;
      try {
        await this.tunnels.removeTx(txDeviceName(vtep));
      } catch (err) {
        this.log.warn('linux mirror driver: could not remove an unused transmit device', { error: (err as Error).message });
      }
    }
  }

  /** Chains whose rules name device `dev`: action chains, and delivery chains (3rd entries). */
  private chainsTargeting(ix: EntryIndex, dev: string): string[] {
    const out = ix.actionsTargeting(dev);
    for (const [chain, slot] of ix.byChain)
      if (slot.key.kind === 'deliver')
        for (const id of slot.ids)
          if (copyTarget(ix.byId.get(id)!.entry, this.ctx()) === dev) {
            out.push(chain);
            break;
          }
    return out;
  }

  /** Deletes transmit devices no installed entry uses (strays included: at start). */
  private async collectTx(): Promise<void> {
    const ix = this.index;
    if (!ix) return;
    const used = new Set([...tunnelVteps(ix)].map(txDeviceName));
    for (const tx of await this.tunnels.listTx()) if (!used.has(tx.dev)) await this.tunnels.removeTx(tx.dev);
  }

  private async tableExists(): Promise<boolean> {
    const out = await mustRun(this.runner, 'list tables', ['nft', 'list', 'tables', 'netdev']);
    return out.split('\n').some((l) => l.trim() === `table netdev ${this.table}`);
  }

  private async healLocked(full: boolean): Promise<string[]> {
    const repairs: string[] = [];
    const ix = this.index ?? (await this.loadLocked());
    const touched = new Set<string>();
    let skeleton = false;
    const rx = await this.tunnels.ensureRx();
    if (rx !== 'ok') {
      repairs.push(`${rx} receive device ${this.tunnels.cfg.rxDevice}`);
      skeleton = true;
    }
    const vteps = new Set<string>();
    for (const ne of ix.byId.values()) if (ne.entry.kind !== 'third' && ne.entry.action.kind === 'tunnel') vteps.add(ne.entry.action.vtep);
    for (const vtep of [...vteps].sort()) {
      const act = await this.tunnels.ensureTx(vtep);
      if (act !== 'ok') {
        repairs.push(`${act} transmit device ${txDeviceName(vtep)} toward ${vtep}`);
        for (const ch of this.chainsTargeting(ix, txDeviceName(vtep))) touched.add(ch);
      }
    }
    const ports = await this.discoverPorts();
    if (!full && !skeleton && !touched.size && samePorts(this.ports, ports) && (await this.tableExists())) {
      this.noteRepairs(repairs);
      return repairs;
    }
    const st = await this.readTable();
    let script = '';
    if (!st.exists) {
      repairs.push(`table ${this.table} was gone: restored ${ix.byId.size} entries`);
      script = skeletonScript(this.ctx(ports)) + fullScript(this.ctx(ports), ix);
    } else {
      const have = [...st.baseChains].filter((c) => c.startsWith('port_')).map((c) => c.slice(5));
      const gone = have.filter((p) => !flat(ports).includes(p));
      const missing = flat(ports).filter((p) => !st.baseChains.has(portChain(p)));
      if (skeleton) script += skeletonScript(this.ctx(ports), gone);
      else if (gone.length || missing.length || !samePorts(this.ports, ports)) script += portScript(this.ctx(ports), gone).join('\n') + '\n';
      if (gone.length || missing.length) repairs.push(`access ports: +[${missing.join(',')}] -[${gone.join(',')}]`);
      // Copy rules whose target device was recreated (stale ifindex), or rules that differ.
      const v = verifyTable(st, this.ctx());
      const devs = await this.deviceNames();
      const problems: string[] = [];
      for (const ch of v.staleTargets) {
        const dev = v.chainTargets.get(ch);
        if (dev !== undefined && !devs.has(dev)) problems.push(`copy target ${dev} of ${ch} is missing`);
        else touched.add(ch);
      }
      const kernelByN = new Map(v.good.map((g) => [g.n, g.entry]));
      let drift = v.good.filter((g) => ix.byId.get(g.entry.id)?.n !== g.n).length;
      for (const ne of ix.byId.values()) {
        const k = kernelByN.get(ne.n);
        if (!k || !sameEntry(k, ne.entry)) drift++;
      }
      if (drift || v.broken.length || v.dirtyChains.size) {
        // Someone changed our table: put back what was applied (one transaction).
        repairs.push(`table edited under us (${drift + v.broken.length} entries differ): rewrote it`);
        script = `delete table netdev ${this.table}\n` + skeletonScript(this.ctx(ports)) + fullScript(this.ctx(ports), ix);
        touched.clear();
      }
      this.state = { ...this.state, problems };
      if (touched.size) {
        repairs.push(`rewrote ${touched.size} chains whose copy target device was recreated`);
        script += transitionScript(this.ctx(ports), { before: ix, after: ix, chains: touched, dropped: [], written: [], newCounters: [], goneCounters: [], kernel: st });
      }
    }
    await this.nft(script, 'heal');
    this.ports = ports;
    this.noteRepairs(repairs);
    return repairs;
  }
}

function flat(m: ReadonlyMap<number, readonly string[]>): string[] {
  return [...m.values()].flat();
}

function samePorts(a: ReadonlyMap<number, readonly string[]>, b: ReadonlyMap<number, readonly string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length || v.some((x, i) => x !== w[i])) return false;
  }
  return true;
}

/** The remote VTEPs the entries of an index send copies to. */
function tunnelVteps(ix: EntryIndex): Set<string> {
  const out = new Set<string>();
  for (const ne of ix.byId.values()) if (ne.entry.kind !== 'third' && ne.entry.action.kind === 'tunnel') out.add(ne.entry.action.vtep);
  return out;
}
