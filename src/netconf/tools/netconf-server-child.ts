// A NETCONF server process on its own (no BGP, no data plane), for tests and benchmarks of
// the northbound: `node netconf-server-child.js <stateDir> <port> <usersJson>`. It prints
// one JSON line {"ready":true,"port":N} when listening and one {"commit":...} line per commit.
import { createLogger } from '../../util/log';
import { NetconfService } from '../service';
import { NetconfUser } from '../users';

async function main(): Promise<void> {
  const [stateDir, port, usersJson] = process.argv.slice(2);
  if (!stateDir || port === undefined || !usersJson) {
    process.stderr.write('usage: netconf-server-child <stateDir> <port> <usersJson>\n');
    process.exit(2);
  }
  const users = JSON.parse(usersJson) as NetconfUser[];
  const logger = createLogger({ level: process.env.EM_LOG_LEVEL ?? 'warn' });
  const svc = new NetconfService({ stateDir, port: Number(port), host: '127.0.0.1', users, logger });
  const startup = svc.load();
  svc.server.on('commit', (c, reason) => process.stdout.write(`${JSON.stringify({ commit: c.monitoring.sessions.map((s) => s.name), reason })}\n`));
  const { port: bound } = await svc.start();
  process.stdout.write(`${JSON.stringify({ ready: true, port: bound, startupSessions: startup.monitoring.sessions.length })}\n`);
  const stop = () => void svc.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`netconf-server-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
