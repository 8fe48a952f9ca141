// A NETCONF helper process for labs: Node cannot enter a network namespace itself, so the lab
// runs this file inside its operator namespace and talks to it in JSON lines. It keeps one
// session per agent (the project's NetconfClient), opened on first use or by "connect" (so
// that an SSH handshake is never part of a timed edit); a transport failure drops the
// session and the next call reopens it. Used by the namespace lab (src/lab/fabric.ts) and the
// end-to-end benchmark (bench/e2e/lab.ts).
//
//   stdin:  {"id":1,"op":"connect","host":"192.0.2.201","port":830,"user":"admin","password":"...","timeoutMs":10000}
//           {"id":2,"op":"edit","host":...,"config":"<evpn-mirror ...>...</evpn-mirror>"}
//           {"id":3,"op":"get","host":...,"filter":"<evpn-mirror ...><state><entry/></state></evpn-mirror>"}
//   stdout: {"id":2,"ok":true,"t0":<epoch ms>,"t1":<epoch ms>}   (edit: t0 = just before the
//           <edit-config> is handed to the SSH channel, t1 = its <rpc-reply> has been parsed)
//           {"id":3,"ok":true,"data":<the <data> element as JSON>}
//           {"id":n,"ok":false,"error":"...","kind":"rpc"|<NetconfTransportError kind>}
import * as readline from 'node:readline';
import type { XmlElement } from '../netconf/xml';
import { LabProcess, Netns } from './netns';

export interface HelperReply {
  id: number;
  ok: boolean;
  data?: XmlElement;
  error?: string;
  /** Failures: 'rpc' (an rpc-error), a transport error kind, 'helper' (it died) or 'timeout'. */
  kind?: string;
  t0?: number;
  t1?: number;
}

export interface HelperTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The lab side: starts the helper in `ns` on first use and matches replies to requests. */
export class NetconfHelperClient {
  private proc: LabProcess | undefined;
  private seq = 0;
  private readonly waiters = new Map<number, (r: HelperReply) => void>();
  private stderr = '';

  constructor(
    private readonly ns: Netns,
    /** Called with each new helper process (e.g. to raise its priority for timestamps). */
    private readonly onSpawn?: (p: LabProcess) => void,
  ) {}

  /** The running helper process, if any (for CPU accounting). */
  get process(): LabProcess | undefined {
    return this.proc;
  }

  private ensure(): LabProcess {
    if (this.proc?.running) return this.proc;
    const p = this.ns.spawn([process.execPath, '--enable-source-maps', __filename, '--netconf-helper'], { name: 'netconf-helper', log: 'pipe' });
    this.proc = p;
    this.onSpawn?.(p);
    readline.createInterface({ input: p.child.stdout! }).on('line', (line) => {
      let r: HelperReply;
      try {
        r = JSON.parse(line) as HelperReply;
      } catch {
        return;
      }
      const w = this.waiters.get(r.id);
      if (w) {
        this.waiters.delete(r.id);
        w(r);
      }
    });
    p.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
    void p.exited.then(() => {
      for (const [id, w] of this.waiters) w({ id, ok: false, error: `netconf helper exited: ${this.stderr}`, kind: 'helper' });
      this.waiters.clear();
    });
    return p;
  }

  call(req: { op: 'connect' | 'edit' | 'get'; config?: string; filter?: string; timeoutMs?: number } & HelperTarget, timeoutMs: number): Promise<HelperReply> {
    const p = this.ensure();
    const id = ++this.seq;
    return new Promise<HelperReply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve({ id, ok: false, error: `no answer from the netconf helper within ${timeoutMs} ms`, kind: 'timeout' });
      }, timeoutMs);
      this.waiters.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      p.child.stdin!.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }
}

interface Req extends HelperTarget {
  id: number;
  op: string;
  config?: string;
  filter?: string;
  /** Connection timeout of a new session (default 10 s). */
  timeoutMs?: number;
}

/** The helper process itself. */
async function main(): Promise<void> {
  const { NetconfClient, NetconfTransportError } = await import('../netconf/client');
  type Client = InstanceType<typeof NetconfClient>;
  const clients = new Map<string, Promise<Client>>();
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const keyOf = (r: Req) => `${r.host}:${r.port}:${r.user}`;
  const client = (r: Req): Promise<Client> => {
    let cp = clients.get(keyOf(r));
    if (!cp) {
      cp = NetconfClient.connect({ host: r.host, port: r.port, username: r.user, password: r.password, timeoutMs: r.timeoutMs ?? 10_000 });
      clients.set(keyOf(r), cp);
      cp.catch(() => clients.delete(keyOf(r)));
    }
    return cp;
  };
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('close', () => {
    void Promise.allSettled([...clients.values()].map(async (c) => (await c).close())).then(() => process.exit(0));
  });
  rl.on('line', (line) => {
    let req: Req;
    try {
      req = JSON.parse(line) as Req;
    } catch {
      return;
    }
    void (async () => {
      try {
        const c = await client(req);
        if (req.op === 'connect') out({ id: req.id, ok: true });
        else if (req.op === 'edit') {
          const t0 = Date.now();
          await c.editConfig('running', req.config ?? '');
          out({ id: req.id, ok: true, t0, t1: Date.now() });
        } else if (req.op === 'get') out({ id: req.id, ok: true, data: await c.get(req.filter) });
        else out({ id: req.id, ok: false, error: `unknown op ${String(req.op)}` });
      } catch (e) {
        const err = e as Error;
        if (err instanceof NetconfTransportError) {
          const cp = clients.get(keyOf(req));
          clients.delete(keyOf(req));
          void cp?.then((c) => c.close()).catch(() => undefined);
        }
        out({ id: req.id, ok: false, error: err.message, kind: err instanceof NetconfTransportError ? err.kind : 'rpc' });
      }
    })();
  });
}

if (require.main === module && process.argv[2] === '--netconf-helper') void main();
