// Where every MAC of every VNI is, as this VTEP knows it: on a local access port (bridge
// FDB) or behind a remote VTEP (EVPN Type-2 best paths), with MAC Mobility deciding between
// them (RFC 7432 section 15) and FRR-style duplicate detection.
//
// Inputs per (VNI, MAC):
//  - remote adverts, one per Type-2 route key (RD + Ethernet Tag + MAC + IP): the VTEP
//    (next hop), MAC Mobility sequence and sticky bit of the route's best path;
//  - the local learn from the bridge FDB: the access port.
// The winner (section 15 as FRR applies it): a sticky (static) MAC first; then the higher
// sequence number; equal sequence: the lower VTEP IP (section 15.1). A local learn while a
// remote route exists takes that route's sequence + 1 (section 15.1: the PE that learns a
// moved MAC advertises with a higher sequence), so a host that moves in wins at once, and a
// remote route with a higher sequence than ours means the host has left, even if the FDB has
// not forgotten it yet. Routes whose next hop is this VTEP (our own FRR's advertisement, in
// the alongside-FRR mode) only lend their sequence to the local learn: where a local MAC is
// comes from the FDB alone.
//
// Duplicate detection as FRR zebra does it (zebra_evpn_dup_addr_detect_for_mac): moves
// between VTEPs are counted in a window that starts at the first move; the move that reaches
// maxMoves within windowSeconds is not applied, the MAC stays frozen where it was and a
// warning is logged, until freezeSeconds pass (FRR's auto-recovery) or clearDuplicate().
// A move often passes through "unknown": the old VTEP withdraws its route before the new one
// advertises. Where a MAC was when it went unknown is kept for one window (`gone`), so such a
// move counts too, and its count survives the MAC's absence from the table.
//
// Everything is indexed by "VNI|MAC": no input scans the table.
import { compareIp } from '../bgp/rib';
import { Clock, TimerHandle, systemClock } from '../util/clock';
import { TypedEmitter } from '../util/events';
import { Logger, silentLogger } from '../util/log';
import { MacLocation, locationText, sameLocation } from './entries';

export interface RemoteAdvert {
  vtep: string;
  sequence: number;
  sticky: boolean;
}

export interface LocalLearn {
  port: string;
  sequence: number;
  sticky: boolean;
}

export interface DuplicateDetectionConfig {
  enabled: boolean;
  /** N: moves within the window that make a MAC a duplicate (FRR: 2..1000, default 5). */
  maxMoves: number;
  /** M: the detection window in seconds (FRR: 2..1800, default 180). */
  windowSeconds: number;
  /** How long a duplicate stays frozen; 0 = until cleared by hand (FRR: 30..3600 or permanent). */
  freezeSeconds: number;
}

export const DEFAULT_DUPLICATE_DETECTION: DuplicateDetectionConfig = {
  enabled: true,
  maxMoves: 5,
  windowSeconds: 180,
  freezeSeconds: 1800, // FRR's EVPN_DAD_DEFAULT_AUTO_RECOVERY_TIME
};

export function validateDuplicateDetection(c: DuplicateDetectionConfig): void {
  const int = (v: number, lo: number, hi: number, what: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`duplicate detection ${what} must be ${lo}..${hi}, got ${v}`);
  };
  int(c.maxMoves, 2, 1000, 'max-moves');
  int(c.windowSeconds, 2, 1800, 'time');
  if (c.freezeSeconds !== 0) int(c.freezeSeconds, 30, 3600, 'freeze time (0 = permanent)');
}

export interface MacMove {
  vni: number;
  mac: string;
  from: MacLocation | undefined;
  to: MacLocation | undefined;
}

export interface DuplicateEvent {
  vni: number;
  mac: string;
  moves: number;
  frozenAt: MacLocation | undefined;
}

export interface MacTableEvents {
  /** The location of a MAC changed (learned, moved, forgotten). */
  move: (m: MacMove) => void;
  duplicate: (d: DuplicateEvent) => void;
}

export interface MacStatus {
  vni: number;
  mac: string;
  location: MacLocation | undefined;
  /** MAC Mobility sequence of the winning advertisement or learn. */
  sequence: number;
  sticky: boolean;
  duplicate: boolean;
  /** Moves counted in the current detection window. */
  moves: number;
}

/**
 * The Type-2 adverts of one MAC, by route key. Nearly always one (two for a moment during a
 * move), so one is kept without a Map until a second comes: a Map costs some 200 bytes, and the
 * table holds one record per MAC of the fabric.
 */
class Adverts {
  // The single advert, inline (no object of its own); `more` once there are two or more.
  private key: string | undefined;
  private vtep = '';
  private sequence = 0;
  private sticky = false;
  private more: Map<string, RemoteAdvert> | undefined;

  get size(): number {
    return this.more ? this.more.size : this.key !== undefined ? 1 : 0;
  }

  set(key: string, a: RemoteAdvert): void {
    if (this.more) this.more.set(key, { vtep: a.vtep, sequence: a.sequence, sticky: a.sticky });
    else if (this.key === undefined || this.key === key) this.setOne(key, a);
    else {
      this.more = new Map([
        [this.key, { vtep: this.vtep, sequence: this.sequence, sticky: this.sticky }],
        [key, { vtep: a.vtep, sequence: a.sequence, sticky: a.sticky }],
      ]);
      this.key = undefined;
    }
  }

  delete(key: string): boolean {
    if (this.more) {
      if (!this.more.delete(key)) return false;
      if (this.more.size === 1) {
        const [[k, a]] = this.more;
        this.setOne(k, a);
        this.more = undefined;
      }
      return true;
    }
    if (this.key === undefined || this.key !== key) return false;
    this.key = undefined;
    return true;
  }

  forEach(fn: (vtep: string, sequence: number, sticky: boolean) => void): void {
    if (this.more) for (const a of this.more.values()) fn(a.vtep, a.sequence, a.sticky);
    else if (this.key !== undefined) fn(this.vtep, this.sequence, this.sticky);
  }

  private setOne(key: string, a: RemoteAdvert): void {
    this.key = key;
    this.vtep = a.vtep;
    this.sequence = a.sequence;
    this.sticky = a.sticky;
  }
}

interface MacRecord {
  readonly vni: number;
  readonly mac: string;
  remote: Adverts | undefined;
  local: LocalLearn | undefined;
  /** What the table publishes. */
  location: MacLocation | undefined;
  sequence: number;
  sticky: boolean;
  moves: number;
  windowStart: number;
  frozen: boolean;
  unfreeze: TimerHandle | undefined;
}

interface Winner {
  location: MacLocation | undefined;
  sequence: number;
  sticky: boolean;
}

export interface MacTableOptions {
  /** This VTEP's tunnel address: adverts with this next hop are our own. */
  selfVtep: string;
  duplicateDetection?: Partial<DuplicateDetectionConfig>;
  clock?: Clock;
  logger?: Logger;
}

const macKey = (vni: number, mac: string): string => `${vni}|${mac}`;

/** The VTEP a location is at, for counting moves (a port change on one VTEP is not a move). */
function vtepOf(l: MacLocation, self: string): string {
  return l.kind === 'local' ? self : l.vtep;
}

export class MacTable extends TypedEmitter<MacTableEvents> {
  readonly selfVtep: string;
  readonly dad: DuplicateDetectionConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly records = new Map<string, MacRecord>();
  private readonly frozen = new Set<MacRecord>();
  /** MACs whose location went unknown within the last window, oldest first: where they were. */
  private readonly gone = new Map<string, { at: MacLocation; time: number; moves: number; windowStart: number }>();
  /** Moves applied (not counting frozen ones), for metrics. */
  movesApplied = 0;

  constructor(opts: MacTableOptions) {
    super();
    this.selfVtep = opts.selfVtep;
    this.dad = { ...DEFAULT_DUPLICATE_DETECTION, ...opts.duplicateDetection };
    validateDuplicateDetection(this.dad);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
  }

  get size(): number {
    return this.records.size;
  }

  location(vni: number, mac: string): MacLocation | undefined {
    return this.records.get(macKey(vni, mac))?.location;
  }

  /** The locate function the entry computation takes. */
  readonly locate = (vni: number, mac: string): MacLocation | undefined => this.records.get(macKey(vni, mac))?.location;

  status(vni: number, mac: string): MacStatus | undefined {
    const r = this.records.get(macKey(vni, mac));
    return r && this.statusOf(r);
  }

  *all(): IterableIterator<MacStatus> {
    for (const r of this.records.values()) yield this.statusOf(r);
  }

  duplicates(): MacStatus[] {
    return [...this.frozen].map((r) => this.statusOf(r));
  }

  /** The sequence number to advertise for a locally learned MAC (standalone mode). */
  localSequence(vni: number, mac: string): number | undefined {
    const r = this.records.get(macKey(vni, mac));
    return r?.local ? this.localCandidate(r).sequence : undefined;
  }

  /** A Type-2 best path for (vni, mac) under route key `key` appeared or changed. */
  remoteUpdate(vni: number, mac: string, key: string, advert: RemoteAdvert): MacMove | undefined {
    const r = this.record(vni, mac);
    (r.remote ??= new Adverts()).set(key, advert);
    return this.settle(r);
  }

  /** The Type-2 route `key` for (vni, mac) has no best path any more. */
  remoteWithdraw(vni: number, mac: string, key: string): MacMove | undefined {
    const r = this.records.get(macKey(vni, mac));
    if (!r?.remote?.delete(key)) return undefined;
    if (r.remote.size === 0) r.remote = undefined;
    return this.settle(r);
  }

  /** The bridge learned `mac` on local access port `port` (static FDB entries are sticky). */
  localLearn(vni: number, mac: string, port: string, opts: { sticky?: boolean } = {}): MacMove | undefined {
    const r = this.record(vni, mac);
    const sticky = opts.sticky ?? false;
    const winningHere = r.local !== undefined && r.location?.kind === 'local';
    if (r.local && winningHere) {
      if (r.local.port === port && r.local.sticky === sticky) return undefined;
      r.local = { port, sequence: r.local.sequence, sticky };
    } else {
      // A new learn (or a re-learn of a MAC a remote route had taken away): one above the
      // highest sequence any other VTEP advertises (RFC 7432 section 15.1).
      let highest = -1;
      r.remote?.forEach((vtep, sequence) => {
        if (vtep !== this.selfVtep && sequence > highest) highest = sequence;
      });
      r.local = { port, sequence: highest + 1, sticky };
    }
    return this.settle(r);
  }

  /** The bridge no longer has `mac` on a local port (aged out, deleted, now behind a tunnel). */
  localForget(vni: number, mac: string): MacMove | undefined {
    const r = this.records.get(macKey(vni, mac));
    if (!r?.local) return undefined;
    r.local = undefined;
    return this.settle(r);
  }

  /** Ends the freeze of a duplicate MAC and applies where it is now. */
  clearDuplicate(vni: number, mac: string): MacMove | undefined {
    const r = this.records.get(macKey(vni, mac));
    if (!r?.frozen) return undefined;
    return this.unfreeze(r, 'cleared');
  }

  /** Stops the freeze timers (agent shutdown). */
  close(): void {
    for (const r of this.frozen) r.unfreeze?.cancel();
  }

  private record(vni: number, mac: string): MacRecord {
    const k = macKey(vni, mac);
    let r = this.records.get(k);
    if (!r) {
      r = {
        vni,
        mac,
        remote: undefined,
        local: undefined,
        location: undefined,
        sequence: 0,
        sticky: false,
        moves: 0,
        windowStart: 0,
        frozen: false,
        unfreeze: undefined,
      };
      this.records.set(k, r);
    }
    return r;
  }

  private statusOf(r: MacRecord): MacStatus {
    return { vni: r.vni, mac: r.mac, location: r.location, sequence: r.sequence, sticky: r.sticky, duplicate: r.frozen, moves: r.moves };
  }

  private localCandidate(r: MacRecord): { sequence: number; sticky: boolean } {
    let sequence = r.local!.sequence;
    let sticky = r.local!.sticky;
    r.remote?.forEach((vtep, seq, st) => {
      if (vtep === this.selfVtep) {
        if (seq > sequence) sequence = seq;
        sticky ||= st;
      }
    });
    return { sequence, sticky };
  }

  // One location object per port and per VTEP, shared by every MAC there (never changed: a
  // move replaces a record's location): some 30 bytes less per MAC of the fabric.
  private readonly locations = new Map<string, MacLocation>();
  private localAt(port: string): MacLocation {
    const k = `l|${port}`;
    let l = this.locations.get(k);
    if (!l) this.locations.set(k, (l = { kind: 'local', port }));
    return l;
  }
  private remoteAt(vtep: string): MacLocation {
    let l = this.locations.get(vtep);
    if (!l) this.locations.set(vtep, (l = { kind: 'remote', vtep }));
    return l;
  }

  /** RFC 7432 section 15 between everything known for one MAC. */
  private winner(r: MacRecord): Winner {
    let best: Winner | undefined;
    let bestVtep = '';
    const better = (seq: number, sticky: boolean, vtep: string): boolean => {
      if (!best) return true;
      if (sticky !== best.sticky) return sticky;
      if (seq !== best.sequence) return seq > best.sequence;
      return compareIp(vtep, bestVtep) < 0;
    };
    if (r.local) {
      const c = this.localCandidate(r);
      best = { location: this.localAt(r.local.port), sequence: c.sequence, sticky: c.sticky };
      bestVtep = this.selfVtep;
    }
    r.remote?.forEach((vtep, sequence, sticky) => {
      if (vtep === this.selfVtep) return;
      if (better(sequence, sticky, vtep)) {
        best = { location: this.remoteAt(vtep), sequence, sticky };
        bestVtep = vtep;
      }
    });
    return best ?? { location: undefined, sequence: 0, sticky: false };
  }

  /** Recomputes one MAC after an input and publishes the result (unless it is frozen). */
  private settle(r: MacRecord): MacMove | undefined {
    const w = this.winner(r);
    if (r.frozen) return undefined;
    const from = r.location;
    const to = w.location;
    r.sequence = w.sequence;
    r.sticky = w.sticky;
    if (sameLocation(from, to)) {
      this.dropIfEmpty(r);
      return undefined;
    }
    let before = from;
    if (!from && to && this.dad.enabled) {
      const g = this.takeGone(macKey(r.vni, r.mac));
      if (g) {
        before = g.at;
        if (r.moves === 0) {
          r.moves = g.moves;
          r.windowStart = g.windowStart;
        }
      }
    }
    if (before && to && this.dad.enabled && vtepOf(before, this.selfVtep) !== vtepOf(to, this.selfVtep) && this.detectDuplicate(r, before)) return undefined;
    if (from && !to && this.dad.enabled) {
      const k = macKey(r.vni, r.mac);
      this.pruneGone();
      this.gone.delete(k); // re-inserted last: the map stays oldest first
      this.gone.set(k, { at: from, time: this.clock.now(), moves: r.moves, windowStart: r.windowStart });
    }
    r.location = to;
    this.dropIfEmpty(r);
    return this.publish(r, from, to);
  }

  /** Where the MAC was before it went unknown, if that was within the detection window. */
  private takeGone(key: string): { at: MacLocation; moves: number; windowStart: number } | undefined {
    this.pruneGone();
    const g = this.gone.get(key);
    if (g) this.gone.delete(key);
    return g;
  }

  /** Forgets the MACs that went unknown more than a window ago (the oldest come first). */
  private pruneGone(): void {
    const oldest = this.clock.now() - this.dad.windowSeconds * 1000;
    for (const [k, g] of this.gone) {
      if (g.time >= oldest) break;
      this.gone.delete(k);
    }
  }

  /** Counts a move between VTEPs; true when it makes the MAC a duplicate (then frozen). */
  private detectDuplicate(r: MacRecord, at: MacLocation): boolean {
    const now = this.clock.now();
    if (r.moves === 0 || now - r.windowStart > this.dad.windowSeconds * 1000) {
      r.moves = 0;
      r.windowStart = now;
    }
    r.moves++;
    if (r.moves < this.dad.maxMoves) return false;
    r.frozen = true;
    this.frozen.add(r);
    if (this.dad.freezeSeconds > 0) r.unfreeze = this.clock.after(this.dad.freezeSeconds * 1000, () => this.unfreeze(r, 'freeze time over'));
    this.log.warn('duplicate MAC detected: frozen', {
      vni: r.vni,
      mac: r.mac,
      moves: r.moves,
      windowSeconds: this.dad.windowSeconds,
      frozenAt: locationText(at),
      freezeSeconds: this.dad.freezeSeconds || 'until cleared',
    });
    this.emit('duplicate', { vni: r.vni, mac: r.mac, moves: r.moves, frozenAt: at });
    return true;
  }

  private unfreeze(r: MacRecord, why: string): MacMove | undefined {
    r.unfreeze?.cancel();
    r.unfreeze = undefined;
    r.frozen = false;
    r.moves = 0;
    this.frozen.delete(r);
    this.log.info('duplicate MAC unfrozen', { vni: r.vni, mac: r.mac, reason: why });
    const w = this.winner(r);
    const from = r.location;
    r.location = w.location;
    r.sequence = w.sequence;
    r.sticky = w.sticky;
    this.dropIfEmpty(r);
    return sameLocation(from, w.location) ? undefined : this.publish(r, from, w.location);
  }

  private dropIfEmpty(r: MacRecord): void {
    if (!r.local && !r.remote && !r.frozen && !r.location) this.records.delete(macKey(r.vni, r.mac));
  }

  private publish(r: MacRecord, from: MacLocation | undefined, to: MacLocation | undefined): MacMove {
    this.movesApplied++;
    const m: MacMove = { vni: r.vni, mac: r.mac, from, to };
    this.emit('move', m);
    return m;
  }
}
