// The in-memory twin of a switch driver, for unit tests of the layers above. It is strict
// where a real data plane is: adding an id that exists, or modifying/removing one that does
// not, fails the whole batch (so a reconciler that sends a wrong diff is caught), and a
// failure can be injected to test retries.
import { MirrorEntry } from '../monitoring/entries';
import { DriverError, DriverHealth, EntryCounters, EntryOps, MirrorDriver, batchProblem } from './driver';

export class MemoryDriver implements MirrorDriver {
  readonly name = 'memory';
  readonly entries = new Map<string, MirrorEntry>();
  /** Every batch applied, in order (tests look at their sizes). */
  readonly batches: EntryOps[] = [];
  private failures: string[] = [];
  private healthState: DriverHealth = { ok: true, consecutiveFailures: 0 };

  /** Makes the next `count` applies fail with `message`. */
  failNext(message: string, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push(message);
  }

  async apply(ops: EntryOps): Promise<void> {
    const injected = this.failures.shift();
    if (injected !== undefined) return this.fail(new DriverError('apply failed', injected));
    const problem = batchProblem(ops, (id) => this.entries.get(id));
    if (problem) return this.fail(new DriverError('batch refused', problem));
    for (const e of ops.remove) this.entries.delete(e.id);
    for (const e of [...ops.add, ...ops.modify]) this.entries.set(e.id, e);
    this.batches.push(ops);
    this.healthState = { ok: true, consecutiveFailures: 0 };
  }

  async installed(): Promise<MirrorEntry[]> {
    return [...this.entries.values()];
  }

  async counters(): Promise<Map<string, EntryCounters>> {
    return new Map([...this.entries.keys()].map((id) => [id, { packets: 0, bytes: 0 }]));
  }

  health(): DriverHealth {
    return this.healthState;
  }

  private fail(err: DriverError): never {
    this.healthState = { ok: false, lastError: err.message, consecutiveFailures: this.healthState.consecutiveFailures + 1 };
    throw err;
  }
}
