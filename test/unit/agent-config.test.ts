// The agent's YAML configuration: defaults, and errors that name file, line, key and reason.
import { strict as assert } from 'node:assert';
import { AgentConfigError, parseAgentConfig, restartNeeded } from '../../src/agent/config';
import { hashPassword } from '../../src/netconf/users';

const HASH = hashPassword('secret');
const GOOD = `# a VTEP agent
routerId: 10.0.0.11
asn: 65000
vtepIp: 10.0.1.1
bgp:
  neighbors:
    - address: 10.0.0.1
dataplane:
  bridges:
    1: br1
netconf:
  port: 830
  users:
    - name: admin
      role: read-write
      passwordHash: "${HASH}"
metrics:
  port: 9464
`;

function refused(text: string, key: string, line: number | undefined, reason: RegExp): void {
  assert.throws(
    () => parseAgentConfig(text, 'agent.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof AgentConfigError, String(err));
      assert.equal(err.key, key);
      assert.equal(err.line, line);
      assert.match(err.reason, reason);
      assert.equal(err.message, `agent.yaml${line ? `:${line}` : ''}: ${key}: ${err.reason}`);
      return true;
    },
  );
}

describe('agent configuration file', () => {
  it('a minimal file gets the documented defaults', () => {
    const c = parseAgentConfig(GOOD);
    assert.equal(c.bgp.neighbors[0]!.remoteAs, 65000, 'iBGP by default');
    assert.equal(c.bgp.nextHop, '10.0.0.11', 'monitor routes carry the agent address');
    assert.deepEqual(c.monitoring.routeTarget, { kind: 'route-target', format: 'as2', asn: 65000, local: 268435456 });
    assert.equal(c.monitoring.mirrorVni, 16_000_000);
    assert.equal(c.monitoring.macMode, 'alongside-frr');
    assert.deepEqual(c.monitoring.duplicateDetection, { enabled: true, maxMoves: 5, windowSeconds: 180, freezeSeconds: 1800 });
    assert.deepEqual(c.dataplane, { driver: 'linux', bridges: { 1: 'br1' }, mirrorPort: 4792, healIntervalMs: 5000, startupHoldSeconds: 10 });
    assert.deepEqual(c.metrics, { address: '127.0.0.1', port: 9464 });
    assert.equal(c.stateDir, '/var/lib/evpn-mirror');
  });

  it('errors name the file, line, key and reason', () => {
    refused(GOOD.replace('asn: 65000', 'asn: 0'), 'asn', 3, /must be an integer 1\.\.4294967295, got 0/);
    refused(GOOD.replace('    - address: 10.0.0.1', '    - address: 10.0.0.1\n      remoteAs: -1'), 'bgp.neighbors[0].remoteAs', 8, /must be an integer/);
    refused(GOOD.replace('vtepIp: 10.0.1.1', 'vtepIp: 10.0.0.11'), 'routerId', 2, /must differ from vtepIp/);
    refused(GOOD.replace('routerId: 10.0.0.11', 'routerId: ten'), 'routerId', 2, /IPv4/);
    refused(GOOD + 'monitoring:\n  routeTarget: "65000:100"\n', 'monitoring.routeTarget', 20, /above every VNI/);
    refused(GOOD + 'monitoring:\n  macMode: both\n', 'monitoring.macMode', 20, /alongside-frr or standalone/);
    refused(GOOD + 'monitoring:\n  mirrorVni: 1\n', 'monitoring.mirrorVni', 20, /tenant VNI 1/);
    refused(GOOD + 'colour: blue\n', 'colour', 19, /unknown key/);
    refused(GOOD.replace('passwordHash: "', 'passwordHash: "plain'), 'netconf.users', 14, /./);
    refused(GOOD.replace('  bridges:\n    1: br1\n', '  bridges: {}\n'), 'dataplane.bridges', 9, /name the bridge/);
    refused('routerId: [', '(syntax)', 1, /./);
  });

  it('restartNeeded() lists what SIGHUP cannot change', () => {
    const a = parseAgentConfig(GOOD);
    assert.deepEqual(restartNeeded(a, parseAgentConfig(GOOD.replace('10.0.0.1\n', '10.0.0.2\n'))), [], 'neighbors change at run time');
    assert.deepEqual(restartNeeded(a, parseAgentConfig(GOOD + 'monitoring:\n  mirrorVni: 99\n')), ['monitoring']);
  });
});
