// The one clock of the project. Everything that waits (BGP timers, retries, freezes) asks
// a Clock, so unit tests can drive time by hand with ManualClock.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms`; the handle cancels it. */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that only moves when told to: for deterministic tests of timers. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /** Advances time, firing due timers in time order (ties in creation order). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }

  get pending(): number {
    return this.timers.size;
  }
}

/** A restartable one-shot timer bound to a clock (the RFC 4271 timers are all this shape). */
export class Timer {
  private handle: TimerHandle | undefined;
  private deadline = 0;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  start(ms: number): void {
    this.stop();
    this.deadline = this.clock.now() + ms;
    this.handle = this.clock.after(ms, () => {
      this.handle = undefined;
      this.fn();
    });
  }

  stop(): void {
    this.handle?.cancel();
    this.handle = undefined;
  }

  get running(): boolean {
    return this.handle !== undefined;
  }

  /** Milliseconds left, 0 when stopped. */
  get remaining(): number {
    return this.handle ? Math.max(0, this.deadline - this.clock.now()) : 0;
  }
}
