// Acceptance 3 of the monitoring core: MAC Mobility in the MAC location table (RFC 7432
// section 15), duplicate detection and freeze as FRR zebra does it, and withdraw of the best
// path falling back to the next.
import { strict as assert } from 'node:assert';
import { ManualClock } from '../../src/util/clock';
import { RecordingLogger } from '../../src/util/log';
import { MacMove, MacTable } from '../../src/monitoring/mac-table';

const SELF = '192.0.2.1';
const A = '192.0.2.10';
const B = '192.0.2.20';
const C = '192.0.2.30';
const MAC = '02:00:00:00:00:01';
const VNI = 100;
const key = (vtep: string) => `2|${vtep}:1|0|${MAC}|`;
const remote = (vtep: string) => ({ kind: 'remote', vtep });
const local = (port: string) => ({ kind: 'local', port });

function table(opts: { clock?: ManualClock; logger?: RecordingLogger; dad?: Partial<MacTable['dad']> } = {}) {
  const t = new MacTable({
    selfVtep: SELF,
    clock: opts.clock ?? new ManualClock(),
    logger: opts.logger ?? new RecordingLogger(),
    duplicateDetection: opts.dad ?? {},
  });
  const moves: MacMove[] = [];
  t.on('move', (m) => moves.push(m));
  return { t, moves };
}

describe('MAC location table: MAC Mobility (RFC 7432 section 15)', () => {
  it('the higher sequence number wins, whatever the order of arrival', () => {
    const { t } = table();
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 3, sticky: false });
    t.remoteUpdate(VNI, MAC, key(B), { vtep: B, sequence: 2, sticky: false });
    assert.deepEqual(t.location(VNI, MAC), remote(A));
    t.remoteUpdate(VNI, MAC, key(C), { vtep: C, sequence: 4, sticky: false });
    assert.deepEqual(t.location(VNI, MAC), remote(C));
    assert.equal(t.status(VNI, MAC)?.sequence, 4);
  });

  it('equal sequence numbers: the lowest VTEP IP wins (section 15.1), compared as numbers not text', () => {
    const { t } = table();
    t.remoteUpdate(VNI, MAC, key('10.0.0.9'), { vtep: '10.0.0.9', sequence: 1, sticky: false });
    t.remoteUpdate(VNI, MAC, key('10.0.0.10'), { vtep: '10.0.0.10', sequence: 1, sticky: false });
    assert.deepEqual(t.location(VNI, MAC), remote('10.0.0.9'), '10.0.0.9 < 10.0.0.10 numerically');
  });

  it('a sticky (static) MAC wins over any sequence number', () => {
    const { t } = table();
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 100, sticky: false });
    t.remoteUpdate(VNI, MAC, key(B), { vtep: B, sequence: 0, sticky: true });
    assert.deepEqual(t.location(VNI, MAC), remote(B));
    // A local learn cannot take a sticky MAC away either...
    t.localLearn(VNI, MAC, 'p1');
    assert.deepEqual(t.location(VNI, MAC), remote(B));
    // ...unless it is a static entry itself and this VTEP's IP is the lower one.
    t.localLearn(VNI, MAC, 'p1', { sticky: true });
    assert.deepEqual(t.location(VNI, MAC), local('p1'));
  });

  it('a local learn takes the highest remote sequence + 1 and wins at once', () => {
    const { t, moves } = table();
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 5, sticky: false });
    t.localLearn(VNI, MAC, 'p7');
    assert.deepEqual(t.location(VNI, MAC), local('p7'));
    assert.equal(t.localSequence(VNI, MAC), 6);
    assert.deepEqual(
      moves.map((m) => [m.from, m.to]),
      [
        [undefined, remote(A)],
        [remote(A), local('p7')],
      ],
    );
  });

  it('a remote route with a higher sequence takes a local MAC away before the FDB forgets it', () => {
    const { t } = table();
    t.localLearn(VNI, MAC, 'p1');
    assert.equal(t.localSequence(VNI, MAC), 0);
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 1, sticky: false });
    assert.deepEqual(t.location(VNI, MAC), remote(A));
    t.localForget(VNI, MAC);
    assert.deepEqual(t.location(VNI, MAC), remote(A));
    // The host comes back: a new learn outbids the remote route.
    t.localLearn(VNI, MAC, 'p2');
    assert.deepEqual(t.location(VNI, MAC), local('p2'));
    assert.equal(t.localSequence(VNI, MAC), 2);
  });

  it("our own FRR's advertisement (next hop = this VTEP) lends its sequence to the local learn but never locates the MAC", () => {
    const { t } = table();
    t.remoteUpdate(VNI, MAC, key(SELF), { vtep: SELF, sequence: 4, sticky: false });
    assert.equal(t.location(VNI, MAC), undefined, 'no FDB entry: the port is unknown');
    t.localLearn(VNI, MAC, 'p1');
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 4, sticky: false });
    // Local is at sequence max(0, 4) = 4, equal to A's: the lower IP (ours, 192.0.2.1) wins.
    assert.deepEqual(t.location(VNI, MAC), local('p1'));
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 5, sticky: false });
    assert.deepEqual(t.location(VNI, MAC), remote(A));
  });

  it('withdraw of the best path falls back to the next best; the last withdraw forgets the MAC', () => {
    const { t, moves } = table();
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 2, sticky: false });
    t.remoteUpdate(VNI, MAC, key(B), { vtep: B, sequence: 1, sticky: false });
    t.remoteWithdraw(VNI, MAC, key(A));
    assert.deepEqual(t.location(VNI, MAC), remote(B));
    t.remoteWithdraw(VNI, MAC, key(B));
    assert.equal(t.location(VNI, MAC), undefined);
    assert.equal(t.size, 0, 'no record is left behind');
    assert.deepEqual(moves.at(-1), { vni: VNI, mac: MAC, from: remote(B), to: undefined });
    assert.equal(t.remoteWithdraw(VNI, MAC, key(B)), undefined, 'a repeated withdraw is harmless');
  });

  it('MACs are per VNI: the same MAC in two VNIs has two locations', () => {
    const { t } = table();
    t.remoteUpdate(1, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    t.localLearn(2, MAC, 'p3');
    assert.deepEqual(t.location(1, MAC), remote(A));
    assert.deepEqual(t.location(2, MAC), local('p3'));
  });

  it('a port change on this VTEP is reported as a move but a repeated learn is not', () => {
    const { t, moves } = table();
    t.localLearn(VNI, MAC, 'p1');
    t.localLearn(VNI, MAC, 'p1');
    t.localLearn(VNI, MAC, 'p2');
    assert.deepEqual(
      moves.map((m) => m.to),
      [local('p1'), local('p2')],
    );
  });
});

describe('MAC location table: duplicate detection (FRR: 5 moves in 180 s, freeze)', () => {
  /** Moves the MAC between A and B `n` times, `gapMs` apart, with rising sequence numbers. */
  function flap(t: MacTable, clock: ManualClock, n: number, gapMs: number, startSeq = 1): void {
    for (let i = 0; i < n; i++) {
      const vtep = i % 2 === 0 ? B : A;
      t.remoteUpdate(VNI, MAC, key(vtep), { vtep, sequence: startSeq + i, sticky: false });
      clock.advance(gapMs);
    }
  }

  it('the 5th move within 180 s is not applied: the MAC is frozen where it was and a warning logged', () => {
    const clock = new ManualClock();
    const logger = new RecordingLogger();
    const { t, moves } = table({ clock, logger });
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false }); // first learn: not a move
    flap(t, clock, 4, 10_000);
    assert.deepEqual(t.location(VNI, MAC), remote(A), 'four moves: B, A, B, A');
    assert.equal(t.status(VNI, MAC)?.duplicate, false);
    const dups: unknown[] = [];
    t.on('duplicate', (d) => dups.push(d));
    t.remoteUpdate(VNI, MAC, key(B), { vtep: B, sequence: 5, sticky: false });
    assert.deepEqual(t.location(VNI, MAC), remote(A), 'the fifth move is not applied');
    assert.equal(t.status(VNI, MAC)?.duplicate, true);
    assert.equal(dups.length, 1);
    const warn = logger.records.find((r) => r.level === 'warn');
    assert.ok(warn, 'a warning is logged');
    assert.match(warn.message, /duplicate MAC/);
    assert.equal(warn.meta?.mac, MAC);
    // Frozen: further updates change nothing and emit no moves.
    const before = moves.length;
    t.remoteUpdate(VNI, MAC, key(C), { vtep: C, sequence: 9, sticky: false });
    t.localLearn(VNI, MAC, 'p1');
    assert.deepEqual(t.location(VNI, MAC), remote(A));
    assert.equal(moves.length, before);
    assert.deepEqual(t.duplicates().map((d) => d.mac), [MAC]);
  });

  it('moves spread over more than the window are never a duplicate', () => {
    const clock = new ManualClock();
    const { t } = table({ clock });
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    flap(t, clock, 20, 50_000); // 4 moves per 200 s: the window (180 s) restarts before the 5th
    assert.equal(t.status(VNI, MAC)?.duplicate, false);
    assert.deepEqual(t.location(VNI, MAC), remote(A));
  });

  it('the freeze ends after the freeze time (auto-recovery) and the current winner is applied', () => {
    const clock = new ManualClock();
    const { t, moves } = table({ clock, dad: { freezeSeconds: 60 } });
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    flap(t, clock, 5, 1_000);
    assert.equal(t.status(VNI, MAC)?.duplicate, true);
    t.remoteUpdate(VNI, MAC, key(C), { vtep: C, sequence: 50, sticky: false });
    clock.advance(58_000); // frozen at the 5th move; flap() waited 1 s after it
    assert.equal(t.status(VNI, MAC)?.duplicate, true);
    clock.advance(1_000);
    assert.equal(t.status(VNI, MAC)?.duplicate, false);
    assert.deepEqual(t.location(VNI, MAC), remote(C));
    assert.deepEqual(moves.at(-1)?.to, remote(C));
  });

  it('freeze time 0 keeps the MAC frozen until clearDuplicate()', () => {
    const clock = new ManualClock();
    const { t } = table({ clock, dad: { freezeSeconds: 0 } });
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    flap(t, clock, 5, 1_000);
    clock.advance(10 * 3600_000);
    assert.equal(t.status(VNI, MAC)?.duplicate, true);
    const m = t.clearDuplicate(VNI, MAC);
    assert.deepEqual(m?.to, remote(B), 'the winner at clear time (B, sequence 5)');
    assert.equal(t.status(VNI, MAC)?.duplicate, false);
  });

  it('moves through "unknown" (the old VTEP withdraws before the new one advertises) are counted', () => {
    const clock = new ManualClock();
    const { t, moves } = table({ clock });
    const dups: unknown[] = [];
    t.on('duplicate', (d) => dups.push(d));
    let at = A;
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    for (let i = 1; i <= 4; i++) {
      t.remoteWithdraw(VNI, MAC, key(at));
      assert.equal(t.location(VNI, MAC), undefined);
      assert.equal(t.size, 0, 'an unknown MAC is not in the table (nor in all())');
      clock.advance(5_000);
      at = at === A ? B : A;
      t.remoteUpdate(VNI, MAC, key(at), { vtep: at, sequence: i, sticky: false });
      assert.deepEqual(t.location(VNI, MAC), remote(at));
      assert.equal(t.status(VNI, MAC)?.moves, i, `move ${i} counted`);
    }
    t.remoteWithdraw(VNI, MAC, key(at));
    t.remoteUpdate(VNI, MAC, key(B), { vtep: B, sequence: 5, sticky: false });
    assert.equal(dups.length, 1, 'the fifth move makes it a duplicate');
    assert.equal(t.status(VNI, MAC)?.duplicate, true);
    assert.equal(t.location(VNI, MAC), undefined, 'frozen where it was: unknown');
    assert.deepEqual(moves.at(-1)?.to, undefined);
  });

  it('through "unknown": back to the same VTEP is no move, and a return after the window starts afresh', () => {
    const clock = new ManualClock();
    const { t } = table({ clock });
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    t.remoteWithdraw(VNI, MAC, key(A));
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    assert.equal(t.status(VNI, MAC)?.moves, 0, 'A, unknown, A: not a move');
    t.remoteWithdraw(VNI, MAC, key(A));
    clock.advance(181_000); // more than the window
    t.remoteUpdate(VNI, MAC, key(B), { vtep: B, sequence: 1, sticky: false });
    assert.equal(t.status(VNI, MAC)?.moves, 0, 'where it was is forgotten after a window');
    // A local learn after a remote location went away counts as well (VTEP B -> this VTEP).
    t.remoteWithdraw(VNI, MAC, key(B));
    clock.advance(1_000);
    t.localLearn(VNI, MAC, 'p1');
    assert.deepEqual(t.location(VNI, MAC), local('p1'));
    assert.equal(t.status(VNI, MAC)?.moves, 1);
  });

  it('port changes on this VTEP are not counted as moves', () => {
    const clock = new ManualClock();
    const { t } = table({ clock });
    for (let i = 0; i < 10; i++) t.localLearn(VNI, MAC, `p${i}`);
    assert.equal(t.status(VNI, MAC)?.duplicate, false);
    assert.deepEqual(t.location(VNI, MAC), local('p9'));
  });

  it('detection can be disabled, and bad settings are refused with the setting named', () => {
    const clock = new ManualClock();
    const { t } = table({ clock, dad: { enabled: false } });
    t.remoteUpdate(VNI, MAC, key(A), { vtep: A, sequence: 0, sticky: false });
    flap(t, clock, 12, 1);
    assert.equal(t.status(VNI, MAC)?.duplicate, false);
    assert.throws(() => table({ dad: { maxMoves: 1 } }), /max-moves must be 2\.\.1000/);
    assert.throws(() => table({ dad: { windowSeconds: 0 } }), /time must be 2\.\.1800/);
    assert.throws(() => table({ dad: { freezeSeconds: 5 } }), /freeze time/);
  });
});
