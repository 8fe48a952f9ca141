// Reachability probes between lab namespaces.
//
// ping(): ICMP echo with iputils `ping` (Debian package iputils-ping, which is not part of a
// minimal Debian image). udpEcho(): a round trip of UDP datagrams between two namespaces
// using this Node binary only, for machines without ping.

import * as fs from 'node:fs';
import { run } from './exec';
import { Netns } from './netns';

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

let pingPath: string | null | undefined;

/** Absolute path of `ping`, or null when it is not installed. */
export function findPing(): string | null {
  if (pingPath === undefined) {
    pingPath = ['/usr/bin/ping', '/bin/ping', '/usr/sbin/ping', '/sbin/ping'].find((p) => fs.existsSync(p)) ?? null;
  }
  return pingPath;
}

/** ICMP echo from `ns` to `address`; never throws on loss (check `received`). */
export async function ping(ns: Netns, address: string, opts: { count?: number; intervalS?: number; waitS?: number } = {}): Promise<PingResult> {
  const bin = findPing();
  if (bin === null) throw new Error('ping is not installed (Debian package iputils-ping)');
  const count = opts.count ?? 3;
  const r = await ns.exec(
    [bin, '-n', '-c', String(count), '-i', String(opts.intervalS ?? 0.2), '-W', String(opts.waitS ?? 2), address],
    { allowFail: true, timeoutMs: 30_000 },
  );
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { transmitted: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, output: r.stdout + r.stderr };
}

const ECHO_SERVER = `
const dgram = require('node:dgram');
const [addr, port, n] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let left = Number(n);
s.on('message', (m, r) => { s.send(m, r.port, r.address, () => { if (--left <= 0) s.close(); }); });
s.bind(Number(port), addr, () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 20000).unref();
`;

const ECHO_CLIENT = `
const dgram = require('node:dgram');
const [addr, port, n] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let got = 0; const want = Number(n);
s.on('message', () => { if (++got >= want) { process.stdout.write(String(got)); process.exit(0); } });
let i = 0;
const t = setInterval(() => { if (i++ < want) s.send(Buffer.from('probe ' + i), Number(port), addr); }, 50);
setTimeout(() => { clearInterval(t); process.stdout.write(String(got)); process.exit(0); }, 5000);
`;

/**
 * Sends `count` UDP datagrams from `from` to `address:port` where an echo server runs in
 * `to`; resolves with the number of echoes received back.
 */
export async function udpEcho(from: Netns, to: Netns, address: string, opts: { count?: number; port?: number } = {}): Promise<number> {
  const count = opts.count ?? 3;
  const port = opts.port ?? 47_999;
  const server = to.spawn([process.execPath, '-e', ECHO_SERVER, address, String(port), String(count)], {
    name: 'udp-echo',
    log: 'pipe',
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('udp echo server did not start')), 10_000);
      server.child.stdout?.on('data', () => {
        clearTimeout(timer);
        resolve();
      });
      void server.exited.then(() => reject(new Error('udp echo server exited')));
    });
    const r = await run(['ip', 'netns', 'exec', from.name, process.execPath, '-e', ECHO_CLIENT, address, String(port), String(count)], {
      timeoutMs: 15_000,
    });
    return Number(r.stdout.trim()) || 0;
  } finally {
    await server.stop(1000);
  }
}
