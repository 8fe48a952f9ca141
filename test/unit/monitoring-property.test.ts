// Acceptance 2 of the monitoring core, as properties over random fabrics (VTEPs, hosts,
// monitor servers, sessions configured on random agents) and random sequences of host moves
// and configuration changes. After every step, on every VTEP:
//  1. the incremental entries equal a from-scratch computeEntries() over the same inputs;
//  2. they equal computeEntries() over the true host locations and every agent's sessions
//     (the MAC tables and the monitor routes have converged);
//  3. a walk of every host pair's traffic copies each frame from/to a monitored host exactly
//     once per session that covers it, to the monitor server's real port: never zero, never
//     twice, and nothing for frames no session covers.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Copy, SimFabric, SimHost, walkFrame } from '../support/fabric-sim';
import { MacLocation, MirrorEntry, computeEntries, entryText } from '../../src/monitoring/entries';
import { Direction, MonitoringConfig, MonitoringSession, SessionConfigError } from '../../src/monitoring/session';

interface SessionSpec {
  agent: number;
  name: string;
  host: number;
  monitor: number;
  direction: Direction;
  enabled: boolean;
}

type Command =
  | { kind: 'move'; host: number; vtep: number }
  | { kind: 'set'; spec: SessionSpec }
  | { kind: 'remove'; agent: number; name: string };

interface World {
  vteps: number;
  hosts: { vni: number; vtep: number }[];
  /** Hosts that are monitor servers (indexes into hosts). */
  monitors: number[];
  commands: Command[];
}

const DIRECTIONS: Direction[] = ['both', 'from-host', 'to-host'];

const world: fc.Arbitrary<World> = fc
  .record({ vteps: fc.integer({ min: 2, max: 5 }), hostCount: fc.integer({ min: 3, max: 8 }) })
  .chain(({ vteps, hostCount }) =>
    fc.record({
      vteps: fc.constant(vteps),
      hosts: fc.array(fc.record({ vni: fc.integer({ min: 1, max: 2 }), vtep: fc.nat(vteps - 1) }), { minLength: hostCount, maxLength: hostCount }),
      monitors: fc.uniqueArray(fc.nat(hostCount - 1), { minLength: 1, maxLength: 2 }),
      commands: fc.array(
        fc.oneof(
          { weight: 3, arbitrary: fc.record({ kind: fc.constant('move' as const), host: fc.nat(hostCount - 1), vtep: fc.nat(vteps - 1) }) },
          {
            weight: 3,
            arbitrary: fc.record({
              kind: fc.constant('set' as const),
              spec: fc.record({
                agent: fc.nat(vteps - 1),
                name: fc.constantFrom('s1', 's2', 's3'),
                host: fc.nat(hostCount - 1),
                monitor: fc.nat(1),
                direction: fc.constantFrom(...DIRECTIONS),
                enabled: fc.integer({ min: 0, max: 4 }).map((k) => k > 0),
              }),
            }),
          },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), agent: fc.nat(vteps - 1), name: fc.constantFrom('s1', 's2', 's3') }) },
        ),
        { minLength: 1, maxLength: 25 },
      ),
    }),
  );

const vtepIp = (i: number) => `192.0.2.${i + 1}`;
const hostName = (i: number) => `h${i}`;
const hostMac = (i: number) => `02:00:00:00:01:${(i + 16).toString(16)}`;

function texts(m: ReadonlyMap<string, MirrorEntry>): string[] {
  return [...m.values()].map(entryText).sort();
}

function copyText(c: Copy): string {
  return `${c.session}@${c.vtep}/${c.port}`;
}

class Run {
  readonly f: SimFabric;
  readonly hosts: SimHost[] = [];
  readonly monitors: number[];
  /** Per agent: session name -> spec (the accepted configuration). */
  readonly specs: Map<string, SessionSpec>[];

  constructor(w: World) {
    this.f = new SimFabric(Array.from({ length: w.vteps }, (_, i) => vtepIp(i)));
    this.specs = Array.from({ length: w.vteps }, () => new Map());
    w.hosts.forEach((h, i) => this.hosts.push(this.f.addHost({ name: hostName(i), mac: hostMac(i), vni: h.vni, vtep: vtepIp(h.vtep), port: `port-${hostName(i)}` })));
    this.monitors = w.monitors;
  }

  config(specs: Map<string, SessionSpec>): MonitoringConfig {
    return {
      // Every agent knows every monitor server with the same HOST-ID (index + 1).
      monitorServers: this.monitors.map((m, k) => SimFabric.serverConfig(`mon${k}`, this.hosts[m]!, k + 1)),
      sessions: [...specs.values()].map((s) =>
        SimFabric.sessionConfig(s.name, this.hosts[s.host]!, `mon${Math.min(s.monitor, this.monitors.length - 1)}`, s.direction, s.enabled),
      ),
    };
  }

  step(c: Command): void {
    this.f.clock.advance(100_000); // moves 100 s apart: real mobility, never a duplicate
    if (c.kind === 'move') {
      this.f.moveHost(hostName(c.host), vtepIp(c.vtep), `port-${hostName(c.host)}`);
      return;
    }
    const agent = c.kind === 'set' ? c.spec.agent : c.agent;
    const next = new Map(this.specs[agent]);
    if (c.kind === 'set') next.set(c.spec.name, c.spec);
    else next.delete(c.name);
    const before = texts(this.f.entries(vtepIp(agent)));
    try {
      this.f.configure(vtepIp(agent), this.config(next));
      this.specs[agent] = next;
    } catch (err) {
      // The only invalid edit these commands can make: a host monitoring itself.
      assert.ok(err instanceof SessionConfigError, String(err));
      assert.match(err.message, /cannot monitor itself/);
      assert.deepEqual(texts(this.f.entries(vtepIp(agent))), before, 'a refused config changes nothing');
    }
  }

  allSessions(): MonitoringSession[] {
    return [...this.f.cores.values()].flatMap((c) => c.localSessions());
  }

  check(): void {
    const sessions = this.allSessions();
    const byMac = new Map(this.hosts.map((h) => [`${h.vni}|${h.mac}`, h]));
    for (const [vtep, core] of this.f.cores) {
      const vctx = core.engine.vtep;
      // 1. incremental == from scratch over the same inputs
      const scratch = computeEntries(core.engine.allSessions(), core.macs.locate, vctx);
      assert.deepEqual(texts(core.engine.desired()), texts(scratch), `incremental vs scratch on ${vtep}`);
      // 2. converged: the same as computing from the true locations and every agent's sessions
      const truthLocate = (vni: number, mac: string): MacLocation | undefined => {
        const h = byMac.get(`${vni}|${mac}`);
        if (!h) return undefined;
        return h.vtep === vtep ? { kind: 'local', port: h.port } : { kind: 'remote', vtep: h.vtep };
      };
      assert.deepEqual(texts(core.engine.desired()), texts(computeEntries(sessions, truthLocate, vctx)), `converged on ${vtep}`);
    }
    // 3. exactly once
    const entriesAt = (vtep: string) => this.f.entries(vtep).values();
    const monitorOf = (s: MonitoringSession) => byMac.get(`${s.monitor.vni}|${s.monitor.mac}`)!;
    for (const a of this.hosts)
      for (const b of this.hosts) {
        if (a === b || a.vni !== b.vni) continue;
        const got = walkFrame({ src: a, dst: b }, entriesAt).map(copyText).sort();
        const want: string[] = [];
        for (const s of sessions) {
          if (!s.enabled || s.vni !== a.vni) continue;
          const covers = (s.host.mac === a.mac && s.direction !== 'to-host') || (s.host.mac === b.mac && s.direction !== 'from-host');
          if (!covers) continue;
          const m = monitorOf(s);
          want.push(copyText({ session: s.id, vtep: m.vtep, port: m.port }));
        }
        assert.deepEqual(got, want.sort(), `copies of ${a.name}@${a.vtep} -> ${b.name}@${b.vtep}`);
      }
  }
}

describe('monitoring core: properties over random fabrics, moves and config changes', function () {
  this.timeout(120_000);

  it('incremental == from scratch == converged truth, and every monitored frame is copied exactly once', () => {
    let steps = 0;
    fc.assert(
      fc.property(world, (w) => {
        const run = new Run(w);
        run.check();
        for (const c of w.commands) {
          run.step(c);
          run.check();
          steps++;
        }
      }),
      { numRuns: 150 },
    );
    assert.ok(steps > 500, `enough steps were checked (${steps})`);
  });

  it('the walk catches a wrong table: removing any one entry loses or misroutes a copy', () => {
    // Guards the oracle itself: with a session active, each entry is needed by some frame.
    const f = new SimFabric(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    const h = f.addHost({ name: 'H', mac: '02:00:00:00:00:0a', vni: 1, vtep: '192.0.2.1', port: 'ph' });
    const n = f.addHost({ name: 'N', mac: '02:00:00:00:00:0b', vni: 1, vtep: '192.0.2.1', port: 'pn' });
    const r = f.addHost({ name: 'R', mac: '02:00:00:00:00:0c', vni: 1, vtep: '192.0.2.2', port: 'pr' });
    const s = f.addHost({ name: 'S', mac: '02:00:00:00:00:0d', vni: 1, vtep: '192.0.2.3', port: 'ps' });
    f.configure('192.0.2.1', { monitorServers: [SimFabric.serverConfig('S', s, 7)], sessions: [SimFabric.sessionConfig('x', h, 'S')] });
    const frames = [
      { src: h, dst: n },
      { src: n, dst: h },
      { src: h, dst: r },
      { src: r, dst: h },
      { src: s, dst: h },
    ];
    const all = new Map(f.vteps.map((v) => [v, [...f.entries(v).values()]]));
    const count = () => frames.reduce((k, fr) => k + walkFrame(fr, (v) => all.get(v)!).filter((c) => c.port === 'ps').length, 0);
    assert.equal(count(), frames.length, 'every frame copied once to S');
    let entries = 0;
    for (const [v, list] of all)
      for (let i = 0; i < list.length; i++) {
        const saved = list.splice(i, 1)[0]!;
        assert.ok(count() < frames.length, `without ${entryText(saved)} on ${v} some copy is lost`);
        list.splice(i, 0, saved);
        entries++;
      }
    assert.equal(entries, 5, 'H VTEP: 1st + 2nd; R VTEP: 2nd; S VTEP: 2nd + 3rd');
  });
});
