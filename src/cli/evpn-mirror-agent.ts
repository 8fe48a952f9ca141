#!/usr/bin/env node
// evpn-mirror-agent: the per-VTEP daemon. The full daemon arrives with the agent issue;
// until then it prints its usage so packaging and the bin entry can be tested.
const USAGE = `usage: evpn-mirror-agent --config <agent.yaml>

Runs the evpn-mirror agent on one VTEP: NETCONF northbound, BGP EVPN speaker,
Linux switch driver. (Not yet wired: only the BGP speaker exists in this release.)`;

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
