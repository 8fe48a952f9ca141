// The monitoring core's edges (acceptance 4): invalid local configuration is refused whole,
// naming the field, and changes nothing; malformed monitor routes from the network are
// logged and ignored, never crash and never install anything; monitor routes are told apart
// from tenant Type-2 routes by the monitoring route target; updates and withdraws follow
// the route key as FRR sends them.
import { strict as assert } from 'node:assert';
import { EvpnMacIp, evpnRouteKey } from '../../src/bgp/packet/evpn';
import { ExtCommunity } from '../../src/bgp/packet/extcommunity';
import { BestChange } from '../../src/bgp/rib';
import { MonitoringCore, RoutePublisher } from '../../src/monitoring/core';
import { entryText } from '../../src/monitoring/entries';
import { defaultMonitoringRouteTarget, encodeMonitorRoute } from '../../src/monitoring/monitor-route';
import { MonitoringConfig, MonitoringSession, SessionConfigError } from '../../src/monitoring/session';
import { ManualClock } from '../../src/util/clock';
import { RecordingLogger } from '../../src/util/log';

const SELF = '192.0.2.1';
const OTHER = '192.0.2.2';
const RT = defaultMonitoringRouteTarget(65000);
const H = '02:00:00:00:00:0a';
const S = '02:00:00:00:00:0b';

class RecordingPublisher implements RoutePublisher {
  readonly out = new Map<string, { route: EvpnMacIp; ext: ExtCommunity[] }>();
  readonly log: string[] = [];
  originate(route: EvpnMacIp, opts: { extCommunities: ExtCommunity[] }): string {
    const key = evpnRouteKey(route);
    this.out.set(key, { route, ext: opts.extCommunities });
    this.log.push(`+${key}`);
    return key;
  }
  withdraw(key: string): void {
    this.out.delete(key);
    this.log.push(`-${key}`);
  }
}

function core(logger = new RecordingLogger()) {
  const publisher = new RecordingPublisher();
  const c = new MonitoringCore({ vtep: { vtepIp: SELF, mirrorVni: 4000 }, routerId: SELF, routeTarget: RT, publisher, clock: new ManualClock(), logger });
  return { c, publisher, logger };
}

const goodConfig = (): MonitoringConfig => ({
  monitorServers: [{ name: 'serv21', mac: S, ipv4: '10.0.0.21', hostId: 1 }],
  sessions: [{ name: 'watch', vni: 1, host: { mac: H, ipv4: '10.0.0.10' }, monitorServer: 'serv21' }],
});

function change(key: string, route: EvpnMacIp, ext: ExtCommunity[] | undefined, nextHop = OTHER): BestChange {
  const best = ext === undefined ? undefined : { key, family: 'l2vpn-evpn' as const, route, attrSet: { attrs: { extCommunities: ext }, nextHop }, source: { address: nextHop, routerId: nextHop, ibgp: true }, stale: false };
  return { key, family: 'l2vpn-evpn', route, best, previous: undefined };
}

function remoteSession(over: Partial<MonitoringSession> = {}): MonitoringSession {
  return {
    id: `${OTHER}:1`,
    name: `${OTHER}:1`,
    origin: 'remote',
    vni: 1,
    host: { mac: H },
    monitor: { mac: S, ipv4: '10.0.0.21', hostId: 1, vni: 1 },
    direction: 'both',
    enabled: true,
    ...over,
  };
}

describe('monitoring core: local configuration', () => {
  it('a valid config is advertised as one monitor route per enabled session, with a stable RD', () => {
    const { c, publisher } = core();
    c.applyConfig(goodConfig());
    assert.equal(publisher.out.size, 1);
    const [r] = publisher.out.values();
    assert.equal(r!.route.rd, `${SELF}:1`);
    // Re-applying the same config sends nothing; a change re-advertises under the same RD.
    publisher.log.length = 0;
    c.applyConfig(goodConfig());
    assert.deepEqual(publisher.log, []);
    const changed = goodConfig();
    changed.sessions[0]!.direction = 'to-host';
    c.applyConfig(changed);
    assert.equal(publisher.log.length, 1, 'same key: an implicit-withdraw re-advertisement');
    assert.equal([...publisher.out.values()][0]!.route.rd, `${SELF}:1`);
    assert.deepEqual(c.rdIndexes(), { watch: 1 });
  });

  it('changing the monitored host MAC advertises the new route before withdrawing the old', () => {
    const { c, publisher } = core();
    c.applyConfig(goodConfig());
    publisher.log.length = 0;
    const changed = goodConfig();
    changed.sessions[0]!.host = { mac: '02:00:00:00:00:0c' };
    c.applyConfig(changed);
    assert.equal(publisher.log.length, 2);
    assert.ok(publisher.log[0]!.startsWith('+') && publisher.log[1]!.startsWith('-'), publisher.log.join(' '));
  });

  it('disabling a session withdraws its route and removes its entries; deleting it frees its RD', () => {
    const { c, publisher } = core();
    c.macs.localLearn(1, H, 'p1');
    c.macs.remoteUpdate(1, S, 'k', { vtep: OTHER, sequence: 0, sticky: false });
    c.applyConfig(goodConfig());
    assert.equal(c.engine.desired().size, 2);
    const off = goodConfig();
    off.sessions[0]!.enabled = false;
    c.applyConfig(off);
    assert.equal(publisher.out.size, 0);
    assert.equal(c.engine.desired().size, 0);
    assert.equal(c.engine.status(`${SELF}:1`)?.state, 'disabled');
    c.applyConfig({ ...goodConfig(), sessions: [] });
    assert.deepEqual(c.rdIndexes(), {});
  });

  it('a commit of g sessions to one monitor server recomputes that HOST-ID group once, and gives the entries a session-by-session load gives', () => {
    const g = 300;
    const cfg = (n: number): MonitoringConfig => ({
      monitorServers: goodConfig().monitorServers,
      sessions: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, vni: 1, host: { mac: `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}` }, monitorServer: 'serv21' })),
    });
    const learn = (c: MonitoringCore) => {
      c.macs.localLearn(1, S, 'p-serv21');
      for (const s of cfg(g).sessions) c.macs.localLearn(1, s.host.mac, 'p1');
    };
    const { c } = core();
    learn(c);
    const before = c.engine.groupRecomputations;
    c.applyConfig(cfg(g));
    assert.equal(c.engine.groupRecomputations - before, 1, 'one group recomputation for the whole commit');
    const one = core().c;
    learn(one);
    for (let n = 1; n <= g; n++) one.applyConfig(cfg(n)); // one more session per commit
    const text = (x: MonitoringCore) => [...x.engine.desired().values()].map(entryText).sort();
    assert.deepEqual(text(c), text(one));
    assert.equal(c.engine.desired().size, 2 * g + 1, 'first and second per session, one third');
    assert.equal(c.engine.status(`${SELF}:7`)?.entries.join(','), 'first,second,third');
  });

  const invalid: [string, (c: MonitoringConfig) => void, RegExp][] = [
    ['HOST-ID 0', (c) => (c.monitorServers[0]!.hostId = 0), /monitor-server\[name='serv21'\]\/host-id: must be an integer 1\.\.65535/],
    ['VNI out of range', (c) => (c.sessions[0]!.vni = 16_777_216), /session\[name='watch'\]\/vni: must be an integer 1\.\.16777215/],
    ['bad MAC', (c) => (c.sessions[0]!.host.mac = '02:00:00:00:00'), /monitored-host\/mac: '02:00:00:00:00' is not a MAC address/],
    [
      'two monitor servers with one HOST-ID',
      (c) => c.monitorServers.push({ name: 'serv22', mac: '02:00:00:00:00:22', ipv4: '10.0.0.22', hostId: 1 }),
      /monitor-server\[name='serv22'\]\/host-id: HOST-ID 1 is already used by monitor server 'serv21'/,
    ],
    ['monitor server equal to the monitored host', (c) => (c.sessions[0]!.host.mac = S), /monitor-server: monitor server 'serv21' has the monitored host's MAC .* cannot monitor itself/],
  ];
  for (const [what, mutate, message] of invalid)
    it(`refuses ${what}, naming the field, and changes nothing`, () => {
      const { c, publisher } = core();
      c.macs.localLearn(1, H, 'p1');
      c.macs.remoteUpdate(1, S, 'k', { vtep: OTHER, sequence: 0, sticky: false });
      c.applyConfig(goodConfig());
      const before = [...c.engine.desired().values()].map(entryText);
      publisher.log.length = 0;
      const bad = goodConfig();
      bad.sessions.push({ name: 'second', vni: 2, host: { mac: '02:00:00:00:00:0d' }, monitorServer: 'serv21' });
      mutate(bad);
      assert.throws(
        () => c.applyConfig(bad),
        (err: unknown) => err instanceof SessionConfigError && message.test(err.message),
      );
      assert.deepEqual(publisher.log, [], 'no route sent or withdrawn');
      assert.deepEqual([...c.engine.desired().values()].map(entryText), before, 'entries unchanged');
      assert.deepEqual(c.rdIndexes(), { watch: 1 }, 'no RD allocated for the refused session');
    });
});

describe('monitoring core: routes from the network', () => {
  it('a monitor route from another agent becomes a remote session with entries here', () => {
    const { c } = core();
    c.macs.localLearn(1, S, 'serv');
    const m = encodeMonitorRoute(remoteSession(), RT);
    c.handleBgp([change(evpnRouteKey(m.route), m.route, m.extCommunities)]);
    assert.equal(c.engine.session(`${OTHER}:1`)?.origin, 'remote');
    assert.deepEqual(
      [...c.engine.desired().values()].map((e) => e.kind).sort(),
      ['second', 'third'],
    );
    assert.equal(c.macs.location(1, H), undefined, 'a monitor route is never a MAC location');
  });

  it('malformed monitor routes are logged once, ignored, and install nothing', () => {
    const { c, logger } = core();
    c.macs.localLearn(1, S, 'serv');
    const m = encodeMonitorRoute(remoteSession(), RT);
    const key = evpnRouteKey(m.route);
    const broken: ExtCommunity[][] = [
      m.extCommunities.filter((x) => !(x.kind === 'opaque' && x.subtype === 0x01)), // no SESSION
      m.extCommunities.map((x) => (x.kind === 'opaque' && x.subtype === 0x01 ? { ...x, value: '000000000001' } : x)), // HOST-ID 0
      [...m.extCommunities, { kind: 'opaque', type: 0x8e, subtype: 0x02, value: '020000000099' }], // two monitor MACs
    ];
    for (const ext of broken) {
      c.handleBgp([change(key, m.route, ext)]);
      c.handleBgp([change(key, m.route, ext)]); // the same again: not logged twice
    }
    assert.equal(c.engine.sessionCount, 0);
    assert.equal(c.engine.desired().size, 0);
    assert.equal(c.macs.location(1, H), undefined);
    const warnings = logger.records.filter((r) => r.level === 'warn' && /malformed monitor route/.test(r.message));
    assert.equal(warnings.length, 3, 'one warning per distinct problem');
    assert.match(String(warnings[0]!.meta?.reason), /no SESSION community/);
    assert.match(String(warnings[1]!.meta?.reason), /HOST-ID 0/);
    assert.match(String(warnings[2]!.meta?.reason), /two different values/);
    assert.equal(c.feed.malformedRoutes().size, 1);
    // Corrected by the sender: the session appears; withdrawn: it goes.
    c.handleBgp([change(key, m.route, m.extCommunities)]);
    assert.equal(c.engine.sessionCount, 1);
    assert.equal(c.feed.malformedRoutes().size, 0);
    // An update that breaks a good route removes the session it defined.
    c.handleBgp([change(key, m.route, broken[0]!)]);
    assert.equal(c.engine.sessionCount, 0);
    assert.equal(c.engine.desired().size, 0);
  });

  it("a changed host MAC arrives as a new key before the old key's withdraw: the session survives the withdraw", () => {
    const { c } = core();
    c.macs.localLearn(1, S, 'serv');
    const a = encodeMonitorRoute(remoteSession(), RT);
    const b = encodeMonitorRoute(remoteSession({ host: { mac: '02:00:00:00:00:0c' } }), RT);
    c.handleBgp([change(evpnRouteKey(a.route), a.route, a.extCommunities)]);
    c.handleBgp([change(evpnRouteKey(b.route), b.route, b.extCommunities)]);
    // FRR's withdraw: zeroed labels, found by key alone.
    c.handleBgp([change(evpnRouteKey(a.route), { ...a.route, label1: 0 }, undefined)]);
    assert.equal(c.engine.session(`${OTHER}:1`)?.host.mac, '02:00:00:00:00:0c');
    c.handleBgp([change(evpnRouteKey(b.route), { ...b.route, label1: 0 }, undefined)]);
    assert.equal(c.engine.sessionCount, 0);
    assert.equal(c.engine.desired().size, 0);
  });

  it('tenant Type-2 routes feed the MAC table (VNI from label 1, MAC Mobility), and their withdraw by key undoes them', () => {
    const { c } = core();
    const route: EvpnMacIp = { type: 2, rd: `${OTHER}:3`, esi: '00:00:00:00:00:00:00:00:00:00', ethernetTag: 0, mac: H, label1: 7 };
    const key = evpnRouteKey(route);
    c.handleBgp([change(key, route, [{ kind: 'mac-mobility', sequence: 3, sticky: false }])]);
    assert.deepEqual(c.macs.location(7, H), { kind: 'remote', vtep: OTHER });
    assert.equal(c.macs.status(7, H)?.sequence, 3);
    c.handleBgp([change(key, { ...route, label1: 0 }, undefined)]);
    assert.equal(c.macs.location(7, H), undefined);
    // Label 0 is no VNI: ignored.
    c.handleBgp([change(key, { ...route, label1: 0 }, [])]);
    assert.equal(c.macs.size, 0);
    assert.equal(c.feed.counters.ignoredRoutes, 1);
  });

  it('a remote route with the RD of a local session (a misconfigured twin router id) does not replace it', () => {
    const { c, logger } = core();
    c.applyConfig(goodConfig());
    const twin = encodeMonitorRoute(remoteSession({ id: `${SELF}:1`, name: `${SELF}:1`, direction: 'to-host' }), RT);
    c.handleBgp([change(evpnRouteKey(twin.route), twin.route, twin.extCommunities)]);
    assert.equal(c.engine.session(`${SELF}:1`)?.origin, 'local');
    assert.ok(logger.records.some((r) => r.level === 'warn' && /RD of a local session/.test(r.message)));
  });

  it('two agents giving one HOST-ID to two monitor servers: the lower session id keeps it, the other installs nothing until the conflict ends', () => {
    const { c } = core();
    const S2 = '02:00:00:00:00:22';
    c.macs.localLearn(1, S, 'serv');
    c.macs.localLearn(1, S2, 'serv2');
    const a = encodeMonitorRoute(remoteSession({ id: '192.0.2.9:1', name: '192.0.2.9:1' }), RT);
    const b = encodeMonitorRoute(remoteSession({ id: '192.0.2.10:1', name: '192.0.2.10:1', host: { mac: '02:00:00:00:00:0e' }, monitor: { mac: S2, ipv4: '10.0.0.22', hostId: 1, vni: 1 } }), RT);
    c.handleBgp([change(evpnRouteKey(b.route), b.route, b.extCommunities, '192.0.2.10')]);
    assert.equal(c.engine.status('192.0.2.10:1')?.state, 'active');
    c.handleBgp([change(evpnRouteKey(a.route), a.route, a.extCommunities, '192.0.2.9')]);
    // '192.0.2.10:1' < '192.0.2.9:1' as text: the owner is the one with the lower id.
    assert.equal(c.engine.status('192.0.2.10:1')?.state, 'active');
    assert.equal(c.engine.status('192.0.2.9:1')?.state, 'host-id-conflict');
    const third = [...c.engine.desired().values()].filter((e) => e.kind === 'third');
    assert.equal(third.length, 1);
    assert.equal(third[0]!.action.port, 'serv2', 'HOST-ID 1 delivers to one server only');
    assert.ok(![...c.engine.desired().values()].some((e) => e.kind !== 'third' && e.session === '192.0.2.9:1'));
    c.handleBgp([change(evpnRouteKey(b.route), b.route, undefined)]);
    assert.equal(c.engine.status('192.0.2.9:1')?.state, 'active');
    assert.equal([...c.engine.desired().values()].find((e) => e.kind === 'third')?.action.port, 'serv');
  });
});
