// Promise helpers around child_process for the lab harness.
//
// Every command is an argv array handed to spawn() without a shell, so values never go
// through shell interpolation. A command that exits non-zero rejects with a CommandError
// that names the command and carries its stderr, unless `allowFail` is set.

import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  /** Resolve (instead of reject) when the command exits non-zero or is killed. */
  allowFail?: boolean;
  /** Written to the command's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Kill the command (SIGKILL) after this many milliseconds; default 60 s. 0 disables. */
  timeoutMs?: number;
  /** Environment for the command; default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Working directory for the command. */
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when the command was ended by a signal (see `signal`). */
  code: number;
  signal: NodeJS.Signals | null;
  /** True when the command was killed because it exceeded `timeoutMs`. */
  timedOut: boolean;
}

/** Thrown by run() when a command fails and `allowFail` is not set. */
export class CommandError extends Error {
  readonly cmd: readonly string[];
  readonly result: RunResult;
  constructor(cmd: readonly string[], result: RunResult) {
    const how = result.timedOut
      ? 'timed out'
      : result.signal !== null
        ? `was killed by ${result.signal}`
        : `exited with code ${result.code}`;
    const err = result.stderr.trim();
    const out = result.stdout.trim();
    const detail = err !== '' ? `\nstderr: ${truncate(err, 2000)}` : out !== '' ? `\nstdout: ${truncate(out, 2000)}` : '';
    super(`command ${how}: ${formatCommand(cmd)}${detail}`);
    this.name = 'CommandError';
    this.cmd = cmd;
    this.result = result;
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length - max} more characters)`;
}

/** Quotes an argv for display in messages and logs (never executed). */
export function formatCommand(cmd: readonly string[]): string {
  return cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs argv[0] with argv[1..] (no shell) and collects its output. */
export function run(cmd: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (cmd.length === 0) return Promise.reject(new Error('run: empty command'));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs)
        : undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      spawnError = e;
    });
    child.stdin.on('error', () => {
      /* the command may exit before reading its input */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (spawnError !== undefined && code === null && signal === null) {
        reject(new Error(`cannot run ${formatCommand(cmd)}: ${spawnError.message}`));
        return;
      }
      const result: RunResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? -1,
        signal,
        timedOut,
      };
      if ((result.code !== 0 || timedOut) && opts.allowFail !== true) reject(new CommandError(cmd, result));
      else resolve(result);
    });
  });
}

/**
 * Synchronous variant, for process 'exit' handlers where no promise can run.
 * Never throws; `code` is -1 on a signal or a spawn failure.
 */
export function runSyncQuiet(cmd: readonly string[], timeoutMs = 10_000): { code: number; stdout: string } {
  if (cmd.length === 0) return { code: -1, stdout: '' };
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: typeof r.stdout === 'string' ? r.stdout : '' };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  timeoutMs: number;
  /** Delay between two polls; default 200 ms. */
  intervalMs?: number;
  /** Shown in the timeout error: what was being waited for. */
  what?: string;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false, and
 * resolves with that value. A probe that throws counts as "not yet" (the last error is
 * reported on timeout). Rejects after `timeoutMs`.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 200;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'a condition'}${why}`);
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
}

/** True when a process with this PID exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
