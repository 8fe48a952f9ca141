// The northbound as one piece: NETCONF over SSH (ssh-server.ts, RFC 6242) in front of the RPC
// layer (server.ts) and the datastores (datastore.ts). The agent makes one, listens for
// 'commit' (typed configuration) and gives it a state provider for <get>.
import { join } from 'node:path';
import { Logger, silentLogger } from '../util/log';
import { Datastores } from './datastore';
import { AgentState, NetconfServer, StateList } from './server';
import { NetconfSshServer } from './ssh-server';
import { NetconfUser } from './users';
import { NorthboundConfig } from './validate';

export interface NetconfServiceOptions {
  /** Where startup.xml and the SSH host key live. */
  stateDir: string;
  host?: string;
  /** Default 830; 0 = any free port. */
  port?: number;
  users: NetconfUser[];
  state?: (want?: ReadonlySet<StateList>) => AgentState | Promise<AgentState>;
  logger?: Logger;
  maxSessions?: number;
  maxMessageBytes?: number;
}

export class NetconfService {
  readonly datastores: Datastores;
  readonly server: NetconfServer;
  readonly ssh: NetconfSshServer;
  private startupConfig: NorthboundConfig | undefined;

  constructor(opts: NetconfServiceOptions) {
    const logger = opts.logger ?? silentLogger;
    this.datastores = new Datastores({ stateDir: opts.stateDir, logger });
    const serverOpts: ConstructorParameters<typeof NetconfServer>[0] = { datastores: this.datastores, logger };
    if (opts.state) serverOpts.state = opts.state;
    this.server = new NetconfServer(serverOpts);
    const sshOpts: ConstructorParameters<typeof NetconfSshServer>[0] = {
      hostKeyPath: join(opts.stateDir, 'ssh_host_ed25519_key'),
      users: opts.users,
      logger,
      port: opts.port ?? 830,
    };
    if (opts.host !== undefined) sshOpts.host = opts.host;
    if (opts.maxSessions !== undefined) sshOpts.maxSessions = opts.maxSessions;
    if (opts.maxMessageBytes !== undefined) sshOpts.framing = { maxMessageBytes: opts.maxMessageBytes };
    this.ssh = new NetconfSshServer(sshOpts);
    this.ssh.on('session', (t) => this.server.attach(t));
  }

  /** Loads startup (throws if it is invalid) and returns it: the agent applies it before listening. */
  load(): NorthboundConfig {
    this.startupConfig = this.datastores.load();
    return this.startupConfig;
  }

  async start(): Promise<{ port: number }> {
    if (!this.startupConfig) this.load();
    return this.ssh.start();
  }

  async stop(): Promise<void> {
    this.server.closeAll();
    await this.ssh.stop();
    this.datastores.close();
  }
}
