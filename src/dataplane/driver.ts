// The switch driver interface: what the reconciler asks of a data plane. A driver holds the
// three kinds of mirror entry (src/monitoring/entries.ts) and applies a batch of changes as
// one transaction: all of it or none of it, so a failure never leaves half a batch.
import { MirrorEntry, sameEntry } from '../monitoring/entries';

/** One batch. Ids are entry ids; `modify` replaces the entry with the same id. */
export interface EntryOps {
  add: MirrorEntry[];
  modify: MirrorEntry[];
  remove: MirrorEntry[];
}

export function opsSize(ops: EntryOps): number {
  return ops.add.length + ops.modify.length + ops.remove.length;
}

export interface EntryCounters {
  packets: number;
  bytes: number;
}

export interface DriverHealth {
  ok: boolean;
  /** The last failure, with the underlying command's own message. */
  lastError?: string;
  /** Failed applies since the last success. */
  consecutiveFailures: number;
}

export interface MirrorDriver {
  readonly name: string;
  /** Applies one batch atomically; rejects (and changes nothing) on failure. */
  apply(ops: EntryOps): Promise<void>;
  /** What is installed now, read back from the data plane. */
  installed(): Promise<MirrorEntry[]>;
  /** Packet/byte counters per entry id, where the data plane gives them. */
  counters(): Promise<Map<string, EntryCounters>>;
  health(): DriverHealth;
}

/** A driver failure: `detail` is the message of the command or call that failed. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(detail ? `${message}: ${detail}` : message);
    this.name = 'DriverError';
  }
}

/**
 * The consistency rules every driver enforces on a batch against what it holds (`current`):
 * an id once per batch, no add of an existing entry, no modify or remove of a missing one,
 * no modify that changes nothing. Returns why the batch is refused, or undefined.
 */
export function batchProblem(ops: EntryOps, current: (id: string) => MirrorEntry | undefined): string | undefined {
  const ids = new Set<string>();
  for (const e of [...ops.add, ...ops.modify, ...ops.remove]) {
    if (ids.has(e.id)) return `entry ${e.id} appears twice in one batch`;
    ids.add(e.id);
  }
  for (const e of ops.add) if (current(e.id)) return `add of existing entry ${e.id}`;
  for (const e of ops.modify) {
    const cur = current(e.id);
    if (!cur) return `modify of missing entry ${e.id}`;
    if (sameEntry(cur, e)) return `modify of ${e.id} changes nothing`;
  }
  for (const e of ops.remove) if (!current(e.id)) return `remove of missing entry ${e.id}`;
  return undefined;
}
