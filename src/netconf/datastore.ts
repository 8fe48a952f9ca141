// The three datastores and the rules between them (RFC 6241 sections 7.5, 8.3, 8.4, 8.7):
//  - running: always valid; every change (a commit, an edit of running, a rollback) is saved
//    to the startup file atomically (temp file, fsync, rename, fsync of the directory), so a
//    crash at any moment leaves the old file or the new one, never a broken one; and is then
//    delivered to the agent as a typed 'commit' event;
//  - candidate: shared by all sessions; 'dirty' once edited until commit/discard;
//  - startup: the file the agent starts from (evpn-mirror also saves running into it on every
//    change, so a restart comes back with exactly the committed configuration).
// Locks are per datastore and die with their session; a confirmed commit rolls back on
// timeout, on cancel-commit, or when its (non-persist) session ends.
//
// A tree given to set() belongs to the datastores from then on and is never changed in place
// (edits work on a clone(), tree.ts): running, candidate and a pending rollback can all be
// one and the same tree, so a commit or a discard copies nothing.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Clock, TimerHandle, systemClock } from '../util/clock';
import { TypedEmitter } from '../util/events';
import { Logger, silentLogger } from '../util/log';
import { BASE_NS, RpcError, rpcError } from './errors';
import { ConfigNode, fromXml, writeXml } from './tree';
import { NorthboundConfig, validateDatastore } from './validate';
import { child, parseXml } from './xml';

export type DatastoreName = 'running' | 'candidate' | 'startup';

export interface DatastoreEvents {
  /** running changed: the new configuration, already validated and saved. */
  commit: (config: NorthboundConfig, reason: string) => void;
}

interface PendingConfirm {
  session: number;
  persistId: string | undefined;
  rollbackTo: ConfigNode;
  timer: TimerHandle;
}

/**
 * Writes a file so that a crash leaves either the old or the new content. `content` is the
 * text, or a function handing its pieces to `write` in order (a large file is then never one
 * string in memory: they are written in blocks as they come).
 */
export function writeFileAtomic(path: string, content: string | ((write: (piece: string) => void) => void)): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    if (typeof content === 'string') writeSync(fd, content);
    else {
      let block: string[] = [];
      let size = 0;
      const flush = () => {
        if (size) writeSync(fd, block.join(''));
        block = [];
        size = 0;
      };
      content((piece) => {
        block.push(piece);
        size += piece.length;
        if (size >= 1 << 16) flush();
      });
      flush();
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class Datastores extends TypedEmitter<DatastoreEvents> {
  running = new ConfigNode();
  private candidate = new ConfigNode();
  private candidateDirty = false;
  private readonly locks = new Map<DatastoreName, number>();
  private confirm: PendingConfirm | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly startupPath: string | undefined;

  constructor(opts: { stateDir?: string; clock?: Clock; logger?: Logger } = {}) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.startupPath = opts.stateDir ? join(opts.stateDir, 'startup.xml') : undefined;
  }

  /** Loads the startup file into running (and candidate). Throws when it does not parse or validate. */
  load(): NorthboundConfig {
    const root = this.readStartup();
    const v = validateDatastore(root);
    if (!v.ok) throw new Error(`startup configuration ${this.startupPath} is invalid: ${v.errors.map((e) => `${e.message} (${e.path})`).join('; ')}`);
    this.running = root;
    this.candidate = root;
    this.candidateDirty = false;
    return v.config;
  }

  private readStartup(): ConfigNode {
    if (!this.startupPath || !existsSync(this.startupPath)) return new ConfigNode();
    const doc = parseXml(readFileSync(this.startupPath, 'utf8'));
    if (doc.local !== 'config' || doc.ns !== BASE_NS) throw new Error(`${this.startupPath}: root element is not <config>`);
    if (doc.children.length > 1) throw new Error(`${this.startupPath}: more than one top-level element`);
    return fromXml(child(doc, 'evpn-mirror'));
  }

  private writeStartup(root: ConfigNode): void {
    if (!this.startupPath) return;
    writeFileAtomic(this.startupPath, (write) => {
      write(`<config xmlns="${BASE_NS}">`);
      writeXml(root, write);
      write('</config>\n');
    });
  }

  get(name: DatastoreName): ConfigNode {
    if (name === 'running') return this.running;
    if (name === 'candidate') return this.candidate;
    return this.readStartup();
  }

  isCandidateDirty(): boolean {
    return this.candidateDirty;
  }

  lockHolder(name: DatastoreName): number | undefined {
    return this.locks.get(name);
  }

  /** Throws in-use when another session holds the lock on `name` (writes need this). */
  checkWritable(name: DatastoreName, session: number): void {
    const holder = this.locks.get(name);
    if (holder !== undefined && holder !== session)
      throw rpcError('protocol', 'in-use', `the ${name} datastore is locked by session ${holder}`, { info: [['session-id', String(holder)]] });
  }

  lock(name: DatastoreName, session: number): void {
    const holder = this.locks.get(name);
    if (holder !== undefined)
      throw rpcError('protocol', 'lock-denied', `the ${name} datastore is already locked by session ${holder}`, { info: [['session-id', String(holder)]] });
    // RFC 6241 7.5: no lock on a candidate holding changes nobody has committed or discarded.
    if (name === 'candidate' && this.candidateDirty)
      throw rpcError('protocol', 'lock-denied', 'the candidate datastore has uncommitted changes (commit or discard-changes first)', { info: [['session-id', '0']] });
    this.locks.set(name, session);
  }

  unlock(name: DatastoreName, session: number): void {
    const holder = this.locks.get(name);
    if (holder !== session)
      throw rpcError('protocol', 'operation-failed', holder === undefined ? `the ${name} datastore is not locked` : `the ${name} datastore is locked by session ${holder}, not by this session`);
    this.locks.delete(name);
    // RFC 6241 8.3.5.2: unlocking a candidate with changes discards them.
    if (name === 'candidate' && this.candidateDirty) this.discard();
  }

  /** Replaces a datastore with a validated new content (edit-config/copy-config results). */
  set(name: DatastoreName, root: ConfigNode, reason: string, validated?: NorthboundConfig): void {
    if (name === 'candidate') {
      this.candidate = root;
      this.candidateDirty = true;
      return;
    }
    if (name === 'startup') {
      this.writeStartup(root);
      return;
    }
    this.applyRunning(root, reason, validated);
    if (!this.candidateDirty) this.candidate = root;
  }

  /** `validated`: the caller already validated exactly this tree (a whole-datastore pass saved). */
  private applyRunning(root: ConfigNode, reason: string, validated?: NorthboundConfig): void {
    let config = validated;
    if (!config) {
      const v = validateDatastore(root);
      if (!v.ok) throw new RpcError(v.errors);
      config = v.config;
    }
    this.writeStartup(root);
    this.running = root;
    this.log.info('configuration committed', { reason });
    this.emit('commit', config, reason);
  }

  discard(): void {
    this.candidate = this.running;
    this.candidateDirty = false;
  }

  /**
   * <commit> (RFC 6241 8.3.4.1, 8.4.5.1). `confirmed` starts or extends a confirmed commit;
   * a plain commit confirms a pending one (same session, or the right persist-id).
   */
  commit(session: number, opts: { confirmed?: boolean; timeoutSeconds?: number; persist?: string; persistId?: string } = {}): void {
    this.checkWritable('running', session);
    this.checkWritable('candidate', session);
    const pending = this.confirm;
    if (pending) {
      if (pending.persistId !== undefined) {
        if (opts.persistId !== pending.persistId)
          throw rpcError('protocol', 'invalid-value', 'a persistent confirmed commit is pending: give its persist-id', { info: [['bad-element', 'persist-id']] });
      } else if (pending.session !== session)
        throw rpcError('application', 'operation-failed', `a confirmed commit of session ${pending.session} is pending: only that session can confirm it`);
    } else if (opts.persistId !== undefined)
      throw rpcError('protocol', 'invalid-value', 'no persistent confirmed commit is pending', { info: [['bad-element', 'persist-id']] });
    const before = this.running;
    this.applyRunning(this.candidate, opts.confirmed ? 'confirmed commit' : 'commit');
    this.candidateDirty = false;
    this.candidate = this.running;
    if (pending) pending.timer.cancel();
    if (opts.confirmed) {
      const seconds = opts.timeoutSeconds ?? 600;
      this.confirm = {
        session,
        persistId: opts.persist,
        rollbackTo: pending?.rollbackTo ?? before,
        timer: this.clock.after(seconds * 1000, () => this.rollback('confirm-timeout expired')),
      };
    } else this.confirm = undefined;
  }

  confirmPending(): { session: number; persistId: string | undefined } | undefined {
    return this.confirm && { session: this.confirm.session, persistId: this.confirm.persistId };
  }

  /** <cancel-commit> (RFC 6241 8.4.4.1). */
  cancelCommit(session: number, persistId?: string): void {
    const p = this.confirm;
    if (!p) throw rpcError('application', 'operation-failed', 'no confirmed commit is pending');
    if (p.persistId !== undefined ? persistId !== p.persistId : p.session !== session || persistId !== undefined)
      throw rpcError('protocol', 'invalid-value', p.persistId !== undefined ? 'wrong or missing persist-id' : `the confirmed commit belongs to session ${p.session}`);
    this.rollback('cancel-commit');
  }

  private rollback(reason: string): void {
    const p = this.confirm;
    if (!p) return;
    p.timer.cancel();
    this.confirm = undefined;
    this.log.warn('confirmed commit rolled back', { reason });
    this.applyRunning(p.rollbackTo, `rollback: ${reason}`);
    this.candidate = this.running;
    this.candidateDirty = false;
  }

  /** A session ended: its locks go, a candidate it had locked is discarded, its confirmed commit rolls back. */
  sessionClosed(session: number): void {
    for (const [name, holder] of this.locks)
      if (holder === session) {
        this.locks.delete(name);
        if (name === 'candidate' && this.candidateDirty) this.discard();
      }
    if (this.confirm && this.confirm.persistId === undefined && this.confirm.session === session) this.rollback(`session ${session} closed`);
  }

  close(): void {
    this.confirm?.timer.cancel();
  }
}
