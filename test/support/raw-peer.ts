// A scripted BGP peer for tests: sends exactly the bytes a test wants and records what the
// speaker sends back, decoded. Real TCP on loopback.
import * as net from 'node:net';
import { BgpMessage, MessageFramer, decodeMessage, encodeKeepalive, encodeOpen } from '../../src/bgp/packet/message';
import { Capability } from '../../src/bgp/packet/capability';

export class RawPeer {
  readonly received: BgpMessage[] = [];
  closed = false;
  private framer = new MessageFramer();
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      for (const m of this.framer.push(d)) this.received.push(decodeMessage(Buffer.from(m)));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host: string, localAddress: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, localAddress }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** Waits for the speaker to connect to us. */
  static listen(port: number, host: string): Promise<{ server: net.Server; peer: Promise<RawPeer> }> {
    return new Promise((resolve) => {
      let accept!: (p: RawPeer) => void;
      const peer = new Promise<RawPeer>((r) => (accept = r));
      const server = net.createServer((s) => accept(new RawPeer(s)));
      server.listen(port, host, () => resolve({ server, peer }));
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  send(buf: Buffer): void {
    this.socket.write(buf);
  }

  sendOpen(opts: { as: number; id: string; hold?: number; caps?: Capability[] }): void {
    const caps: Capability[] = opts.caps ?? [
      { kind: 'multiprotocol', afi: 25, safi: 70 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', asn: opts.as },
    ];
    this.send(encodeOpen({ myAs: opts.as > 0xffff ? 23456 : opts.as, holdTime: opts.hold ?? 90, bgpId: opts.id, capabilities: caps }));
  }

  sendKeepalive(): void {
    this.send(encodeKeepalive());
  }

  /** Resolves with the first received message matching `pred` (waiting if needed). */
  async waitFor<T extends BgpMessage>(pred: (m: BgpMessage) => m is T, timeoutMs?: number): Promise<T>;
  async waitFor(pred: (m: BgpMessage) => boolean, timeoutMs?: number): Promise<BgpMessage>;
  async waitFor(pred: (m: BgpMessage) => boolean, timeoutMs = 5000): Promise<BgpMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find(pred);
      if (m) return m;
      if (this.closed) throw new Error(`connection closed; received: ${this.received.map((x) => x.type).join(',')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; received: ${this.received.map((x) => x.type).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Completes the OPEN exchange as the passive side of a connection the speaker made, or
   * after connecting to the speaker. */
  async handshake(opts: { as: number; id: string; hold?: number; caps?: Capability[] }): Promise<void> {
    this.sendOpen(opts);
    await this.waitFor((m) => m.type === 'open');
    this.sendKeepalive();
    await this.waitFor((m) => m.type === 'keepalive');
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
