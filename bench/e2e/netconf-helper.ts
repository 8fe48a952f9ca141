// NETCONF helper of the end-to-end benchmark (bench/e2e.ts), run inside the lab's ops
// namespace (Node cannot enter a namespace itself): one NETCONF session per agent on the
// project's NetconfClient, driven by JSON lines.
//
//   stdin:  {"id":1,"op":"connect","host":"192.0.2.201","port":830,"user":"admin","password":"..."}
//           {"id":2,"op":"edit","host":...,"config":"<evpn-mirror ...>...</evpn-mirror>"}
//           {"id":3,"op":"get","host":...,"filter":"<evpn-mirror ...><state><entry/></state></evpn-mirror>"}
//   stdout: {"id":2,"ok":true,"t0":<epoch ms>,"t1":<epoch ms>}   (edit: t0 = just before the
//           <edit-config> is handed to the SSH channel, t1 = its <rpc-reply> has been parsed)
//           {"id":3,"ok":true,"data":<the <data> element as JSON>}
//           {"id":n,"ok":false,"error":"..."}
// Sessions are opened on first use (or by "connect", so that the SSH handshake is never part
// of a timed edit) and kept; a transport failure drops the session, the next call reopens it.
import * as readline from 'node:readline';
import { NetconfClient, NetconfTransportError } from '../../src/netconf/client';

interface Req {
  id: number;
  op: 'connect' | 'edit' | 'get';
  host: string;
  port: number;
  user: string;
  password: string;
  config?: string;
  filter?: string;
}

function main(): void {
  const clients = new Map<string, Promise<NetconfClient>>();
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const client = (r: Req): Promise<NetconfClient> => {
    const key = `${r.host}:${r.port}:${r.user}`;
    let cp = clients.get(key);
    if (!cp) {
      cp = NetconfClient.connect({ host: r.host, port: r.port, username: r.user, password: r.password, timeoutMs: 30_000 });
      clients.set(key, cp);
      cp.catch(() => clients.delete(key));
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
          const t1 = Date.now();
          out({ id: req.id, ok: true, t0, t1 });
        } else if (req.op === 'get') out({ id: req.id, ok: true, data: await c.get(req.filter) });
        else out({ id: req.id, ok: false, error: `unknown op ${String(req.op)}` });
      } catch (e) {
        const err = e as Error;
        if (err instanceof NetconfTransportError) {
          const key = `${req.host}:${req.port}:${req.user}`;
          const cp = clients.get(key);
          clients.delete(key);
          void cp?.then((c) => c.close()).catch(() => undefined);
        }
        out({ id: req.id, ok: false, error: err.message });
      }
    })();
  });
}

if (require.main === module) main();
