#!/usr/bin/env node
// evpn-mirrorctl: the operator's NETCONF client. Placeholder that prints usage until the
// NETCONF server exists.
const USAGE = `usage: evpn-mirrorctl [--host H] [--port P] [--user U] <command> [args] [--json]

commands (arriving with the NETCONF issue):
  server add|delete|list     monitor servers
  session add|delete|list    monitoring sessions
  show sessions|entries|macs|peers`;

function main(argv: string[]): number {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  process.stderr.write(USAGE + '\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
export {};
