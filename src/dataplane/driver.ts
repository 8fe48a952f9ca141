// The switch driver interface: what the reconciler asks of a data plane. A driver holds the
// three kinds of mirror entry (src/monitoring/entries.ts) and applies a batch of changes as
// one transaction: all of it or none of it, so a failure never leaves half a batch.
import { MirrorEntry } from '../monitoring/entries';

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
