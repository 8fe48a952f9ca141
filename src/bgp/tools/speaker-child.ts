#!/usr/bin/env node
// A BGP speaker driven over stdin/stdout with JSON lines: what interop tests and the lab run
// inside a network namespace (Node cannot enter one itself).
//
//   node speaker-child.js <config.json>
//   stdin:  {"id":1,"op":"originate","route":{...},"options":{...}}   -> {"id":1,"ok":true,"result":...}
//           ops: originate, withdraw, status, rib, adj-rib-in, local, refresh, stop, ping
//   stdout: {"event":"best-changes"|"peer-state"|"end-of-rib"|"update-error", ...}
//   config extras: "logLevel"; "events": false (no best-changes lines, for bulk loads);
//   "notifyRoutes": N (one {"event":"routes-reached","n":N,"t":<epoch ms>} when the
//   Loc-RIB first holds N routes: how the benchmark times ingestion)
// Logs go to stderr. SIGTERM stops with Cease; {"op":"stop","graceful":true} closes the
// sessions without NOTIFICATION (graceful restart).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BgpSpeaker, OriginateOptions } from '../speaker';
import { SpeakerConfig } from '../config';
import { createLogger } from '../../util/log';
import { Nlri } from '../packet/attributes';
import { Path } from '../rib';

export interface ChildRequest {
  id: number;
  op: 'originate' | 'withdraw' | 'status' | 'rib' | 'adj-rib-in' | 'local' | 'refresh' | 'stop' | 'ping' | 'count';
  route?: Nlri;
  options?: Omit<OriginateOptions, 'unknown'> & { unknown?: { flags: number; type: number; value: string }[] };
  address?: string;
  graceful?: boolean;
}

/** A path as JSON: what tests compare. */
export interface PathJson {
  key: string;
  family: string;
  route: Nlri;
  nextHop: string;
  attrs: Record<string, unknown>;
  source: string;
  stale: boolean;
}

export function pathToJson(p: Path): PathJson {
  return {
    key: p.key,
    family: p.family,
    route: p.route,
    nextHop: p.attrSet.nextHop,
    attrs: JSON.parse(JSON.stringify(p.attrSet.attrs, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v))),
    source: p.source.address,
    stale: p.stale,
  };
}

function main(): void {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: speaker-child <config.json>\n');
    process.exit(2);
  }
  const config = JSON.parse(readFileSync(file, 'utf8')) as SpeakerConfig & { logLevel?: string; events?: boolean; notifyRoutes?: number };
  const logger = createLogger({ level: config.logLevel ?? process.env.EM_LOG_LEVEL ?? 'info' });
  const speaker = new BgpSpeaker(config, { logger });
  const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

  if (config.events !== false)
    speaker.on('best-changes', (changes) =>
      out({ event: 'best-changes', changes: changes.map((c) => ({ key: c.key, best: c.best ? pathToJson(c.best) : null })) }),
    );
  const target = config.notifyRoutes;
  if (target !== undefined) {
    const check = () => {
      if (speaker.locRib.size < target) return;
      speaker.off('best-changes', check);
      out({ event: 'routes-reached', n: speaker.locRib.size, t: Date.now() });
    };
    speaker.on('best-changes', check);
  }
  speaker.on('peer-state', (e) => out({ event: 'peer-state', ...e }));
  speaker.on('end-of-rib', (e) => out({ event: 'end-of-rib', ...e }));
  speaker.on('update-error', (e) => out({ event: 'update-error', ...e }));

  const handle = async (req: ChildRequest): Promise<unknown> => {
    switch (req.op) {
      case 'ping':
        return 'pong';
      case 'originate': {
        const { unknown, ...rest } = req.options ?? {};
        const opts: OriginateOptions = rest;
        if (unknown) opts.unknown = unknown.map((u) => ({ ...u, value: Buffer.from(u.value, 'hex') }));
        return speaker.originate(req.route!, opts);
      }
      case 'withdraw':
        return speaker.withdraw(req.route!);
      case 'status':
        return speaker.neighborStatus();
      case 'rib':
        return [...speaker.locRib.bestPaths()].map(pathToJson);
      case 'count':
        return { locRib: speaker.locRib.size, memory: process.memoryUsage() };
      case 'adj-rib-in':
        return speaker.adjRibIn(req.address!).map(pathToJson);
      case 'local':
        return speaker.localRouteList();
      case 'refresh':
        return speaker.requestRefresh(req.address!);
      case 'stop':
        await speaker.stop({ graceful: req.graceful ?? false });
        setImmediate(() => process.exit(0));
        return true;
    }
    throw new Error(`unknown op '${String((req as { op: unknown }).op)}'`);
  };

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let req: ChildRequest;
    try {
      req = JSON.parse(line) as ChildRequest;
    } catch {
      out({ id: null, ok: false, error: 'request is not JSON' });
      return;
    }
    handle(req).then(
      (result) => out({ id: req.id, ok: true, result }),
      (err: unknown) => out({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  // Parent gone: stop like an operator's Ctrl-C would.
  rl.on('close', () => void speaker.stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void speaker.stop().then(() => process.exit(0)));

  speaker.start().then(
    () => out({ event: 'started', listenPort: speaker.listenPort ?? null }),
    (err: unknown) => {
      logger.error('cannot start', { error: String(err) });
      process.exit(1);
    },
  );
}

if (require.main === module) main();
