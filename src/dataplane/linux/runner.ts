// How the Linux driver runs `nft`, `ip` and `bridge`: through a CommandRunner, so one driver
// can work inside a given network namespace (tests run one driver per VTEP namespace) and a
// test can inject failures. Commands are argv arrays, never shell text.
import { run } from '../../lab/exec';
import { formatCommand } from '../../lab/exec';
import { DriverError } from '../driver';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Where the commands run (for messages), e.g. "netns vtep101" or "host". */
  readonly where: string;
  run(argv: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
}

/** Runs commands in this process's namespace. */
export function hostRunner(): CommandRunner {
  return {
    where: 'host',
    async run(argv, opts = {}) {
      const r = await run(argv, { allowFail: true, ...(opts.input !== undefined ? { input: opts.input } : {}), timeoutMs: opts.timeoutMs ?? 120_000 });
      return { code: r.timedOut ? -1 : r.code, stdout: r.stdout, stderr: r.timedOut ? `timed out; ${r.stderr}` : r.stderr };
    },
  };
}

/** Runs commands inside network namespace `ns` (`ip netns exec ns ...`). */
export function netnsRunner(ns: string): CommandRunner {
  const host = hostRunner();
  return { where: `netns ${ns}`, run: (argv, opts) => host.run(['ip', 'netns', 'exec', ns, ...argv], opts) };
}

/** Runs a command and throws a DriverError carrying the command's own message on failure. */
export async function mustRun(r: CommandRunner, what: string, argv: readonly string[], input?: string, timeoutMs?: number): Promise<string> {
  const res = await r.run(argv, { ...(input !== undefined ? { input } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  if (res.code !== 0) {
    const msg = (res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`).slice(0, 4000);
    throw new DriverError(`${what} failed (${formatCommand(argv.slice(0, 6))}${argv.length > 6 ? ' ...' : ''} in ${r.where})`, msg);
  }
  return res.stdout;
}
