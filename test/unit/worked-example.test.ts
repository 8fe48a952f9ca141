// Acceptance 1 of the monitoring core: the worked example of shared/docs/method.md, stage by
// stage, on four VTEP agents. VM210 on VTEP101, VM230 on VTEP103, SERV21 (HOST-ID 1) on
// VTEP104; the controller configures VTEP101; then VM210 moves 101 -> 102 and SERV21 moves
// 104 -> 103. The expected tables below are the method's table written out entry by entry,
// with the required improvement (H's VTEP also matches dst H on its other access ports).
import { strict as assert } from 'node:assert';
import { MemoryDriver } from '../../src/dataplane/memory';
import { MirrorEntry, entryText } from '../../src/monitoring/entries';
import { Reconciler } from '../../src/monitoring/reconcile';
import { MIRROR_VNI, SimFabric, walkFrame } from '../support/fabric-sim';

const V101 = '192.0.2.101';
const V102 = '192.0.2.102';
const V103 = '192.0.2.103';
const V104 = '192.0.2.104';
const SESSION = `${V101}:1`; // the RD VTEP101's agent gives its first session

const VM210 = { name: 'VM210', mac: '02:00:00:00:02:10', ipv4: '10.1.0.210', vni: 1 };
const VM220 = { name: 'VM220', mac: '02:00:00:00:02:20', ipv4: '10.1.0.220', vni: 1 };
const VM230 = { name: 'VM230', mac: '02:00:00:00:02:30', ipv4: '10.1.0.230', vni: 1 };
const VM240 = { name: 'VM240', mac: '02:00:00:00:02:40', ipv4: '10.1.0.240', vni: 1 };
const SERV21 = { name: 'SERV21', mac: '02:00:00:00:00:21', ipv4: '10.1.0.21', vni: 1 };

const src = (vm: typeof VM210) => `src=${vm.mac},${vm.ipv4}`;
const dst = (vm: typeof VM210) => `dst=${vm.mac},${vm.ipv4}`;
const tunnel = (vtep: string) => `tunnel ${vtep} hostId=1 mirrorVni=${MIRROR_VNI}`;
const first = (to: string) => `first session=${SESSION} vni=1 ${src(VM210)} -> ${to}`;
const second = (to: string, except?: string) => `second session=${SESSION} vni=1 ${dst(VM210)}${except ? ` except=${except}` : ''} -> ${to}`;
const third = (port: string) => `third hostId=1 mirrorVni=${MIRROR_VNI} -> port ${port} sessions=${SESSION}`;

function table(f: SimFabric, vtep: string): string[] {
  return [...f.entries(vtep).values()].map(entryText).sort();
}

describe('monitoring core: the worked example, stage by stage', () => {
  let f: SimFabric;
  let drivers: Map<string, MemoryDriver>;
  let reconcilers: Map<string, Reconciler>;

  /** Brings every VTEP's driver in line with its core, as the agent does after each input. */
  async function sync(): Promise<Map<string, number>> {
    const batches = new Map<string, number>();
    for (const [vtep, core] of f.cores) {
      const d = drivers.get(vtep)!;
      const before = d.batches.length;
      await reconcilers.get(vtep)!.update(core.takeChanges());
      batches.set(vtep, d.batches.length - before);
    }
    return batches;
  }

  function installed(vtep: string): string[] {
    return [...drivers.get(vtep)!.entries.values()].map(entryText).sort();
  }

  function expectStage(expected: Record<string, string[]>): void {
    for (const [vtep, want] of Object.entries(expected)) {
      assert.deepEqual(table(f, vtep), [...want].sort(), `computed entries on ${vtep}`);
      assert.deepEqual(installed(vtep), [...want].sort(), `installed entries on ${vtep}`);
    }
  }

  /** VM210 <-> VM230 both ways and a VTEP-local neighbour to VM210: SERV21 gets each once. */
  function expectTrafficMirroredOnce(): void {
    const h = (n: string) => f.hosts.get(n)!;
    const entriesAt = (vtep: string) => drivers.get(vtep)!.entries.values() as Iterable<MirrorEntry>;
    const serv = h('SERV21');
    const once = [{ session: SESSION, vtep: serv.vtep, port: serv.port }];
    assert.deepEqual(walkFrame({ src: h('VM210'), dst: h('VM230') }, entriesAt), once, 'request VM210 -> VM230');
    assert.deepEqual(walkFrame({ src: h('VM230'), dst: h('VM210') }, entriesAt), once, 'reply VM230 -> VM210');
    // A host on VM210's own VTEP (VM220 is put there for this) and one elsewhere.
    for (const other of ['VM220', 'VM240']) {
      assert.deepEqual(walkFrame({ src: h(other), dst: h('VM210') }, entriesAt), once, `${other} -> VM210`);
      assert.deepEqual(walkFrame({ src: h('VM210'), dst: h(other) }, entriesAt), once, `VM210 -> ${other}`);
    }
    assert.deepEqual(walkFrame({ src: h('VM230'), dst: h('VM240') }, entriesAt), [], 'VM230 -> VM240 is not monitored');
  }

  before(async () => {
    f = new SimFabric([V101, V102, V103, V104]);
    drivers = new Map(f.vteps.map((v) => [v, new MemoryDriver()]));
    reconcilers = new Map(f.vteps.map((v) => [v, new Reconciler(drivers.get(v)!, () => f.core(v).engine.desired(), { clock: f.clock })]));
    f.addHost({ ...VM210, vtep: V101, port: 'vm210' });
    f.addHost({ ...VM220, vtep: V101, port: 'vm220' });
    f.addHost({ ...VM230, vtep: V103, port: 'vm230' });
    f.addHost({ ...VM240, vtep: V102, port: 'vm240' });
    f.addHost({ ...SERV21, vtep: V104, port: 'serv21' });
    for (const r of reconcilers.values()) await r.resync();
    await sync();
    for (const v of f.vteps) assert.deepEqual(installed(v), [], `no entries before the session on ${v}`);
  });

  it('initial: the controller configures VTEP101 and every VTEP installs its row', async () => {
    f.configure(V101, {
      monitorServers: [SimFabric.serverConfig('SERV21', f.hosts.get('SERV21')!, 1)],
      sessions: [SimFabric.sessionConfig('watch-vm210', f.hosts.get('VM210')!, 'SERV21')],
    });
    await sync();
    expectStage({
      [V101]: [first(tunnel(V104)), second(tunnel(V104), 'vm210')],
      [V102]: [second(tunnel(V104))],
      [V103]: [second(tunnel(V104))],
      [V104]: [second('port serv21'), third('serv21')],
    });
    assert.deepEqual(f.core(V104).engine.status(SESSION)?.entries.sort(), ['second', 'third']);
    assert.equal(f.core(V104).engine.status(SESSION)?.state, 'active');
    expectTrafficMirroredOnce();
  });

  it('VM210 moves 101 -> 102: VTEP101 and VTEP102 swap 1st and 2nd entries, VTEP104 is unchanged', async () => {
    f.moveHost('VM210', V102, 'vm210');
    f.moveHost('VM220', V102, 'vm220'); // keep a neighbour on VM210's VTEP for the traffic check
    const batches = await sync();
    expectStage({
      [V101]: [second(tunnel(V104))],
      [V102]: [first(tunnel(V104)), second(tunnel(V104), 'vm210')],
      [V103]: [second(tunnel(V104))],
      [V104]: [second('port serv21'), third('serv21')],
    });
    assert.equal(batches.get(V104), 0, 'VTEP104 needs no change');
    assert.equal(batches.get(V103), 0, 'VTEP103 needs no change');
    expectTrafficMirroredOnce();
  });

  it('SERV21 moves 104 -> 103: every VTEP re-points at VTEP103, which now delivers; VTEP104 drops its 3rd entry', async () => {
    f.moveHost('SERV21', V103, 'serv21');
    const batches = await sync();
    expectStage({
      [V101]: [second(tunnel(V103))],
      [V102]: [first(tunnel(V103)), second(tunnel(V103), 'vm210')],
      [V103]: [second('port serv21'), third('serv21')],
      [V104]: [second(tunnel(V103))],
    });
    // Minimal batches: one modify on 101, two on 102; on 104 one modify + one delete.
    const last = (v: string) => drivers.get(v)!.batches.at(-1)!;
    assert.equal(batches.get(V101), 1);
    assert.deepEqual([last(V101).add.length, last(V101).modify.length, last(V101).remove.length], [0, 1, 0]);
    assert.deepEqual([last(V102).add.length, last(V102).modify.length, last(V102).remove.length], [0, 2, 0]);
    assert.deepEqual([last(V104).add.length, last(V104).modify.length, last(V104).remove.length], [0, 1, 1]);
    expectTrafficMirroredOnce();
  });

  it('deleting the session on VTEP101 removes every entry on every VTEP', async () => {
    f.configure(V101, { monitorServers: [SimFabric.serverConfig('SERV21', f.hosts.get('SERV21')!, 1)], sessions: [] });
    await sync();
    for (const v of f.vteps) {
      assert.deepEqual(table(f, v), [], `computed on ${v}`);
      assert.deepEqual(installed(v), [], `installed on ${v}`);
    }
  });
});
