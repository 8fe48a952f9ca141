#!/usr/bin/env node
// evpn-mirror-agent: the per-VTEP daemon.
//   evpn-mirror-agent --config /etc/evpn-mirror/agent.yaml [--check] [--log-level L] [--log-json]
// Exit codes: 0 clean stop (or --check passed), 1 runtime failure, 2 usage or config error.
// Signals: SIGTERM/SIGINT stop (with --graceful-restart the data plane entries stay and BGP
// peers keep our routes, RFC 4724); SIGHUP re-reads the config file.
import { Command, CommanderError } from 'commander';
import { Agent } from '../agent/agent';
import { AgentConfigError, loadAgentConfig } from '../agent/config';
import { createLogger } from '../util/log';

async function main(argv: string[]): Promise<number> {
  const program = new Command('evpn-mirror-agent')
    .usage('--config <agent.yaml> [options]')
    .description('The evpn-mirror agent of one VTEP: NETCONF northbound, BGP EVPN speaker, Linux switch driver.')
    .requiredOption('-c, --config <file>', 'agent configuration file (YAML)')
    .option('--check', 'check the configuration file and exit')
    .option('--log-level <level>', 'error, warn, info or debug (overrides the file)')
    .option('--log-json', 'log JSON lines instead of text')
    .option('--graceful-restart', 'on SIGTERM keep the data plane entries and ask BGP peers to keep our routes')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .helpOption('-h, --help', 'show this help');
  program.configureHelp({ formatHelp: (cmd, helper) => Command.prototype.createHelp().formatHelp(cmd, helper).replace(/^Usage:/, 'usage:') });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const opts = program.opts<{ config: string; check?: boolean; logLevel?: string; logJson?: boolean; gracefulRestart?: boolean }>();
  let config;
  try {
    config = loadAgentConfig(opts.config);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      process.stderr.write(`evpn-mirror-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.check) {
    process.stdout.write(`${opts.config}: OK\n`);
    return 0;
  }
  const logger = createLogger({ level: opts.logLevel ?? config.log.level, json: opts.logJson ?? config.log.json });
  const agent = new Agent(config, { logger });
  try {
    const ports = await agent.start();
    logger.info('ready', ports);
  } catch (err) {
    logger.error('agent failed to start', { error: (err as Error).message });
    await agent.stop().catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info('signal received: stopping', { signal });
      agent.stop({ graceful: opts.gracefulRestart ?? false }).then(
        () => resolve(0),
        (err) => {
          logger.error('stop failed', { error: String(err) });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        const next = loadAgentConfig(opts.config);
        agent.reload(next, (level) => ((logger as unknown as { level: string }).level = level));
      } catch (err) {
        logger.error('reload refused: the configuration file is invalid (nothing changed)', { error: (err as Error).message });
      }
    });
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Sockets of stopped services may hold the loop a moment; do not wait for stragglers.
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err) => {
    process.stderr.write(`evpn-mirror-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
