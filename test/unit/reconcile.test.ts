// The reconciler: the pure diff is minimal and idempotent; the Reconciler brings a driver in
// line after a restart (leftovers removed, nothing duplicated), retries failed batches with
// backoff and resynchronises from the driver's read-back.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { MemoryDriver } from '../../src/dataplane/memory';
import { AccessEntry, DeliveryEntry, MirrorEntry, entryText } from '../../src/monitoring/entries';
import { Reconciler, applyOps, reconcile } from '../../src/monitoring/reconcile';
import { ManualClock } from '../../src/util/clock';
import { RecordingLogger } from '../../src/util/log';

function access(session: string, vtep: string, kind: 'first' | 'second' = 'second'): AccessEntry {
  return {
    id: `${session}|${kind}`,
    kind,
    session,
    vni: 1,
    match: { field: kind === 'first' ? 'source' : 'destination', mac: '02:00:00:00:00:01', exceptPorts: [] },
    action: { kind: 'tunnel', vtep, hostId: 1, mirrorVni: 4000 },
  };
}

function delivery(hostId: number, port: string): DeliveryEntry {
  return { id: `third|4000|${hostId}`, kind: 'third', sessions: ['10.0.0.1:1'], match: { hostId, mirrorVni: 4000 }, action: { kind: 'local-port', port } };
}

const asMap = (list: MirrorEntry[]) => new Map(list.map((e) => [e.id, e]));
const sortedTexts = (it: Iterable<MirrorEntry>) => [...it].map(entryText).sort();

describe('reconcile(): the minimal, idempotent diff', () => {
  it('adds, modifies and removes only what differs', () => {
    const installed = asMap([access('a', '10.0.0.4'), access('b', '10.0.0.4'), delivery(1, 'p1')]);
    const desired = asMap([access('a', '10.0.0.4'), access('b', '10.0.0.3'), access('c', '10.0.0.4')]);
    const ops = reconcile(desired, installed);
    assert.deepEqual(ops.add.map((e) => e.id), ['c|second']);
    assert.deepEqual(ops.modify.map((e) => e.id), ['b|second']);
    assert.deepEqual(ops.remove.map((e) => e.id), ['third|4000|1']);
  });

  it('property: applying the diff gives the desired state, and the diff is then empty', () => {
    const entry = fc.record({ s: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), v: fc.constantFrom('10.0.0.2', '10.0.0.3'), k: fc.constantFrom('first' as const, 'second' as const) });
    const list = fc.array(entry, { maxLength: 8 }).map((xs) => asMap(xs.map((x) => access(x.s, x.v, x.k))));
    fc.assert(
      fc.property(list, list, (desired, installedIn) => {
        const installed = new Map(installedIn);
        const ops = reconcile(desired, installed);
        // Minimal: each op touches an id whose state differs, each such id exactly once.
        const differs = new Set([...desired.keys(), ...installed.keys()].filter((id) => entryText(desired.get(id) ?? delivery(9, 'x')) !== entryText(installed.get(id) ?? delivery(9, 'x'))));
        const touched = [...ops.add, ...ops.modify, ...ops.remove].map((e) => e.id);
        assert.deepEqual(touched.sort(), [...differs].sort());
        applyOps(installed, ops);
        assert.deepEqual(sortedTexts(installed.values()), sortedTexts(desired.values()));
        const again = reconcile(desired, installed);
        assert.equal(again.add.length + again.modify.length + again.remove.length, 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Reconciler with a driver', () => {
  it('after a restart: leftovers from before the crash are removed, present entries are kept, nothing is added twice', async () => {
    const driver = new MemoryDriver();
    // What a crashed agent left behind: one entry still wanted, one stale, one outdated.
    await driver.apply({ add: [access('keep', '10.0.0.4'), access('stale', '10.0.0.4'), access('moved', '10.0.0.4')], modify: [], remove: [] });
    const desired = asMap([access('keep', '10.0.0.4'), access('moved', '10.0.0.3'), delivery(1, 'p1')]);
    const r = new Reconciler(driver, () => desired, { clock: new ManualClock() });
    await r.resync();
    assert.deepEqual(sortedTexts(driver.entries.values()), sortedTexts(desired.values()));
    const last = driver.batches.at(-1)!;
    assert.deepEqual([last.add.length, last.modify.length, last.remove.length], [1, 1, 1]);
    // Re-running (a second restart) finds nothing to do.
    const batches = driver.batches.length;
    await new Reconciler(driver, () => desired, { clock: new ManualClock() }).resync();
    assert.equal(driver.batches.length, batches);
  });

  it('a failed batch is reported, retried with backoff after a resync, and heals', async () => {
    const clock = new ManualClock();
    const logger = new RecordingLogger();
    const driver = new MemoryDriver();
    const desired = new Map<string, MirrorEntry>();
    const r = new Reconciler(driver, () => desired, { clock, logger, retryMinMs: 100, retryMaxMs: 1000 });
    await r.resync();
    desired.set('a|second', access('a', '10.0.0.4'));
    driver.failNext('nft: Error: Could not process rule: No such file or directory', 3);
    const done = r.update(['a|second']);
    await new Promise((res) => setImmediate(res));
    assert.equal(r.status().failures, 1);
    assert.match(r.status().lastError ?? '', /No such file or directory/, 'the command message is kept');
    assert.equal(driver.health().ok, false);
    assert.match(logger.records.find((x) => x.level === 'error')?.message ?? '', /data plane update failed/);
    // Backoff: 100 ms, then 200, then 400; the fourth attempt succeeds.
    for (const ms of [100, 200, 400]) {
      clock.advance(ms - 1);
      await new Promise((res) => setImmediate(res));
      assert.equal(driver.entries.size, 0, `not retried before ${ms} ms`);
      clock.advance(1);
      await new Promise((res) => setImmediate(res));
    }
    await done;
    assert.equal(r.status().failures, 3);
    assert.deepEqual([...driver.entries.keys()], ['a|second']);
    assert.equal(driver.health().ok, true);
    assert.equal(r.status().pending, 0);
  });

  it('changes made while a batch is in flight are applied after it, in order', async () => {
    const driver = new MemoryDriver();
    const desired = new Map<string, MirrorEntry>();
    const r = new Reconciler(driver, () => desired, { clock: new ManualClock() });
    await r.resync();
    desired.set('a|second', access('a', '10.0.0.4'));
    const p1 = r.update(['a|second']);
    desired.set('a|second', access('a', '10.0.0.3'));
    desired.set('b|second', access('b', '10.0.0.3'));
    const p2 = r.update(['a|second', 'b|second']);
    await Promise.all([p1, p2]);
    assert.deepEqual(sortedTexts(driver.entries.values()), sortedTexts(desired.values()));
    desired.delete('a|second');
    await r.update(['a|second']);
    assert.deepEqual([...driver.entries.keys()], ['b|second']);
  });
});
