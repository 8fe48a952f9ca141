#!/usr/bin/env node
// A minimal BGP peer that streams pre-encoded UPDATEs: the benchmark's route source.
//   node feeder.js <json-options>
//   options: { host, port, localAddress, as, routerId, file }   (file: concatenated UPDATEs)
// Prints JSON lines: {"event":"established","t":ms} {"event":"sent","t":ms,"bytes":n}
// then stays up, answering keepalives, until stdin closes or SIGTERM.
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MessageFramer, decodeMessage, encodeKeepalive, encodeOpen } from '../src/bgp/packet/message';

interface Options {
  host: string;
  port: number;
  localAddress?: string;
  as: number;
  routerId: string;
  file: string;
  holdTime?: number;
}

function main(): void {
  const o = JSON.parse(process.argv[2] ?? '{}') as Options;
  const data = readFileSync(o.file);
  const out = (x: object) => process.stdout.write(JSON.stringify(x) + '\n');
  const framer = new MessageFramer();
  let established = false;
  let keepalive: NodeJS.Timeout | undefined;
  const hold = o.holdTime ?? 180;
  const connectOpts: net.TcpNetConnectOpts = { host: o.host, port: o.port };
  if (o.localAddress) connectOpts.localAddress = o.localAddress;

  const connect = () => {
    const s = net.connect(connectOpts);
    s.setNoDelay(true);
    s.on('connect', () => {
      s.write(
        encodeOpen({
          myAs: o.as,
          holdTime: hold,
          bgpId: o.routerId,
          capabilities: [
            { kind: 'multiprotocol', afi: 25, safi: 70 },
            { kind: 'route-refresh' },
            { kind: 'four-octet-as', asn: o.as },
          ],
        }),
      );
    });
    s.on('data', (chunk) => {
      for (const raw of framer.push(chunk)) {
        const m = decodeMessage(Buffer.from(raw));
        if (m.type === 'open') s.write(encodeKeepalive());
        else if (m.type === 'notification') {
          out({ event: 'notification', code: m.code, subcode: m.subcode });
          process.exit(3);
        } else if (m.type === 'keepalive' && !established) {
          established = true;
          out({ event: 'established', t: Date.now() });
          keepalive = setInterval(() => s.write(encodeKeepalive()), (hold / 3) * 1000);
          stream(s);
        }
      }
    });
    s.on('error', (err) => {
      if (!established) setTimeout(connect, 200);
      else {
        out({ event: 'error', message: err.message });
        process.exit(4);
      }
    });
  };

  const stream = (s: net.Socket) => {
    const t0 = Date.now();
    out({ event: 'sending', t: t0 });
    let at = 0;
    const CHUNK = 1 << 16;
    const pump = () => {
      while (at < data.length) {
        const end = Math.min(at + CHUNK, data.length);
        const ok = s.write(data.subarray(at, end));
        at = end;
        if (!ok) {
          s.once('drain', pump);
          return;
        }
      }
      out({ event: 'sent', t: Date.now(), bytes: data.length });
    };
    pump();
  };

  createInterface({ input: process.stdin }).on('close', () => {
    if (keepalive) clearInterval(keepalive);
    process.exit(0);
  });
  process.on('SIGTERM', () => process.exit(0));
  connect();
}

main();
