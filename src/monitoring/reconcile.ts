// From desired entries to driver batches.
//
// reconcile() is the pure diff: (desired, installed) -> the minimal add/modify/delete list
// (an id in both with the same content is left alone; same id, other content is one modify).
// Running it again after the batch is applied gives an empty list, and it needs nothing but
// the two maps, so after a restart the agent reads back what the driver holds and diffs
// against that: no duplicates, no leftovers.
//
// The Reconciler keeps one driver in step with an EntryEngine: it applies the engine's
// changes one batch at a time; when a batch fails it keeps everything, backs off (100 ms
// doubling to 30 s) and then resynchronises from what the driver reads back, since after a
// failure nobody can be sure what is installed.
import { DriverError, EntryOps, MirrorDriver, opsSize } from '../dataplane/driver';
import { Clock, TimerHandle, systemClock } from '../util/clock';
import { Logger, silentLogger } from '../util/log';
import { MirrorEntry, sameEntry } from './entries';
import { EntryChanges } from './engine';

export function reconcile(desired: ReadonlyMap<string, MirrorEntry>, installed: ReadonlyMap<string, MirrorEntry>): EntryOps {
  const ops: EntryOps = { add: [], modify: [], remove: [] };
  for (const [id, want] of desired) {
    const have = installed.get(id);
    if (!have) ops.add.push(want);
    else if (!sameEntry(have, want)) ops.modify.push(want);
  }
  for (const [id, have] of installed) if (!desired.has(id)) ops.remove.push(have);
  return ops;
}

/** The same diff restricted to the ids in `touched` (what changed since the last batch). */
export function reconcileTouched(
  touched: Iterable<string>,
  desired: ReadonlyMap<string, MirrorEntry>,
  installed: ReadonlyMap<string, MirrorEntry>,
): EntryOps {
  const ops: EntryOps = { add: [], modify: [], remove: [] };
  for (const id of touched) {
    const want = desired.get(id);
    const have = installed.get(id);
    if (want && !have) ops.add.push(want);
    else if (want && have && !sameEntry(have, want)) ops.modify.push(want);
    else if (!want && have) ops.remove.push(have);
  }
  return ops;
}

/** Applies a batch to a map of installed entries (what a successful driver apply did). */
export function applyOps(installed: Map<string, MirrorEntry>, ops: EntryOps): void {
  for (const e of ops.remove) installed.delete(e.id);
  for (const e of ops.add) installed.set(e.id, e);
  for (const e of ops.modify) installed.set(e.id, e);
}

export interface ReconcilerOptions {
  clock?: Clock;
  logger?: Logger;
  /** First retry delay and cap, ms. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface ReconcilerStatus {
  installed: number;
  /** Entries whose desired state is not (known to be) installed. */
  pending: number;
  batches: number;
  failures: number;
  lastError?: string;
  /** True while a resync from the driver's read-back is due. */
  resyncDue: boolean;
}

export class Reconciler {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  /** What the driver holds, as far as we know (exact after a resync or a good batch). */
  private readonly installedMap = new Map<string, MirrorEntry>();
  private readonly dirty = new Set<string>();
  private resyncDue = true;
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer: TimerHandle | undefined;
  private retryDelay: number;
  private closed = false;
  private batches = 0;
  private failures = 0;
  private lastError: string | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly driver: MirrorDriver,
    private readonly desired: () => ReadonlyMap<string, MirrorEntry>,
    opts: ReconcilerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.retryMinMs = opts.retryMinMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.retryDelay = this.retryMinMs;
  }

  installed(): ReadonlyMap<string, MirrorEntry> {
    return this.installedMap;
  }

  status(): ReconcilerStatus {
    const s: ReconcilerStatus = {
      installed: this.installedMap.size,
      pending: this.dirty.size,
      batches: this.batches,
      failures: this.failures,
      resyncDue: this.resyncDue,
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  /** Schedules the entries in `changes` (ids) to be brought in line; returns when idle. */
  update(changes: EntryChanges | Iterable<string>): Promise<void> {
    for (const id of changes instanceof Map ? changes.keys() : changes) this.dirty.add(id);
    return this.kick();
  }

  /** Forces a full read-back and diff (start-up, or after the data plane was touched). */
  resync(): Promise<void> {
    this.resyncDue = true;
    return this.kick();
  }

  /** Resolves when no batch is running or waiting for a retry with nothing left to do. */
  idle(): Promise<void> {
    if (!this.running && !this.retryTimer && !this.dirty.size && !this.resyncDue) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.wakeIdle();
  }

  private kick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.retryTimer) return this.idle(); // the retry will take these too
    if (this.running) {
      this.again = true;
      return this.idle();
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      this.wakeIdle();
    });
    return this.idle();
  }

  private wakeIdle(): void {
    if (this.running || this.retryTimer) return;
    if (!this.closed && (this.dirty.size || this.resyncDue)) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.step();
        this.retryDelay = this.retryMinMs;
      } catch (err) {
        this.failures++;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.resyncDue = true;
        const delay = this.retryDelay;
        this.retryDelay = Math.min(this.retryMaxMs, this.retryDelay * 2);
        this.log.error('data plane update failed; will resync and retry', { driver: this.driver.name, error: this.lastError, retryInMs: delay });
        this.retryTimer = this.clock.after(delay, () => {
          this.retryTimer = undefined;
          void this.kick();
        });
        return;
      }
    } while ((this.again || this.dirty.size || this.resyncDue) && !this.closed);
  }

  private async step(): Promise<void> {
    const desired = this.desired();
    let ops: EntryOps;
    if (this.resyncDue) {
      const read = await this.driver.installed();
      this.installedMap.clear();
      for (const e of read) {
        if (this.installedMap.has(e.id)) throw new DriverError('driver read-back has a duplicate entry', e.id);
        this.installedMap.set(e.id, e);
      }
      this.dirty.clear();
      this.resyncDue = false;
      ops = reconcile(this.desired(), this.installedMap);
    } else {
      const touched = [...this.dirty];
      this.dirty.clear();
      ops = reconcileTouched(touched, desired, this.installedMap);
    }
    if (opsSize(ops) === 0) return;
    try {
      await this.driver.apply(ops);
    } catch (err) {
      // Nothing is known to have changed: the ids go back to dirty and a resync is due.
      for (const e of [...ops.add, ...ops.modify, ...ops.remove]) this.dirty.add(e.id);
      throw err;
    }
    this.batches++;
    applyOps(this.installedMap, ops);
    this.log.debug('data plane batch applied', { add: ops.add.length, modify: ops.modify.length, remove: ops.remove.length });
  }
}
