// Runs our BGP speaker (src/bgp/tools/speaker-child) inside a lab namespace and drives it
// over its JSON-lines stdin/stdout: what interop tests and the demo use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { SpeakerConfig } from '../bgp/config';
import type { OriginateOptions, PeerStatus } from '../bgp/speaker';
import type { PathJson } from '../bgp/tools/speaker-child';
import { Nlri } from '../bgp/packet/attributes';
import { LabProcess, Netns } from './netns';
import { waitUntil } from './exec';

const CHILD = path.join(__dirname, '..', 'bgp', 'tools', 'speaker-child.js');

export interface SpeakerEventLine {
  event: string;
  [k: string]: unknown;
}

export type WireOriginateOptions = Omit<OriginateOptions, 'unknown'> & { unknown?: { flags: number; type: number; value: string }[] };

export class SpeakerProcess {
  readonly events: SpeakerEventLine[] = [];
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private started: Promise<void>;

  private constructor(
    readonly ns: Netns,
    readonly name: string,
    readonly proc: LabProcess,
  ) {
    const rl = createInterface({ input: proc.child.stdout! });
    let startedResolve!: () => void;
    this.started = new Promise((r) => (startedResolve = r));
    rl.on('line', (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.event) {
        this.events.push(msg as SpeakerEventLine);
        if (msg.event === 'started') startedResolve();
        return;
      }
      const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${this.name}: ${msg.error}`));
    });
    void proc.exited.then((info) => {
      for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (${JSON.stringify(info)}): ${proc.logTail(2000)}`));
      this.pending.clear();
    });
  }

  /** Starts a speaker in `ns` with `config`; resolves once it listens and its neighbors started. */
  static async start(ns: Netns, name: string, config: SpeakerConfig & { logLevel?: string }): Promise<SpeakerProcess> {
    const file = ns.lab.file(`${name}-speaker.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    const proc = ns.spawn([process.execPath, '--enable-source-maps', CHILD, file], { name, log: 'pipe' });
    // stderr (winston logs) goes to a file for post-mortems.
    const logFile = ns.lab.file(`${name}-speaker.log`);
    const log = fs.createWriteStream(logFile, { flags: 'a' });
    proc.child.stderr!.pipe(log);
    const sp = new SpeakerProcess(ns, name, proc);
    await Promise.race([
      sp.started,
      proc.exited.then((info) => {
        throw new Error(`${name} exited at start (${JSON.stringify(info)}): ${safeRead(logFile)}`);
      }),
    ]);
    return sp;
  }

  get logFile(): string {
    return this.ns.lab.file(`${this.name}-speaker.log`);
  }

  private call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (!this.proc.running) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  }

  originate(route: Nlri, options: WireOriginateOptions = {}): Promise<string> {
    return this.call('originate', { route, options });
  }

  withdraw(route: Nlri): Promise<boolean> {
    return this.call('withdraw', { route });
  }

  status(): Promise<PeerStatus[]> {
    return this.call('status');
  }

  rib(): Promise<PathJson[]> {
    return this.call('rib');
  }

  adjRibIn(address: string): Promise<PathJson[]> {
    return this.call('adj-rib-in', { address });
  }

  refresh(address: string): Promise<boolean> {
    return this.call('refresh', { address });
  }

  /** Waits until every configured neighbor (or the one given) is Established. */
  async waitEstablished(address?: string, timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      async () => {
        const st = await this.status();
        return st.length > 0 && st.filter((s) => !address || s.address === address).every((s) => s.state === 'Established');
      },
      { timeoutMs, intervalMs: 100, what: `${this.name} sessions Established` },
    );
  }

  /** Waits until the Loc-RIB satisfies `pred`; returns the RIB that did. */
  async waitRib(pred: (rib: PathJson[]) => boolean, timeoutMs = 15_000, what = 'RIB condition'): Promise<PathJson[]> {
    let last: PathJson[] = [];
    try {
      await waitUntil(
        async () => {
          last = await this.rib();
          return pred(last);
        },
        { timeoutMs, intervalMs: 100, what: `${this.name}: ${what}` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last RIB: ${JSON.stringify(last).slice(0, 2000)}`);
    }
    return last;
  }

  /** Stops with Cease (default) or, `graceful`, closes sessions without NOTIFICATION. */
  async stop(graceful = false): Promise<void> {
    if (!this.proc.running) return;
    await this.call('stop', { graceful }).catch(() => undefined);
    await Promise.race([this.proc.exited, new Promise((r) => setTimeout(r, 3000))]);
    if (this.proc.running) await this.proc.stop();
  }

  /** kill -9: no NOTIFICATION, no FIN handshake by us (the kernel resets the sockets). */
  async kill(): Promise<void> {
    this.proc.signal('SIGKILL');
    await this.proc.exited;
  }
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-3000);
  } catch {
    return '';
  }
}
