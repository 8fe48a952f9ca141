// Monitoring session configuration: resolveMonitoringConfig (canonical sessions out, every
// problem reported with the YANG path of the field that causes it, nothing out unless all is
// valid) and SessionRdAllocator (stable RDs `<router id>:<index>`, persisted across restarts).
import { strict as assert } from 'node:assert';
import {
  ConfigProblem,
  MonitorServerConfig,
  MonitoringConfig,
  SessionConfig,
  SessionConfigError,
  SessionRdAllocator,
  resolveMonitoringConfig,
  sameSession,
} from '../../src/monitoring/session';

const ROUTER_ID = '192.0.2.1';
/** Ids given by a recorded callback, so the test can see what it was asked for. */
function idsFor(asked: string[] = []) {
  return { sessionId: (name: string) => (asked.push(name), `${ROUTER_ID}:${asked.length}`) };
}

const server = (over: Partial<MonitorServerConfig> = {}): MonitorServerConfig => ({
  name: 'm1',
  mac: '02:00:00:00:aa:01',
  ipv4: '198.51.100.10',
  hostId: 17,
  ...over,
});
const session = (over: Partial<SessionConfig> = {}): SessionConfig => ({
  name: 's1',
  vni: 1000,
  host: { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10' },
  monitorServer: 'm1',
  ...over,
});
const config = (servers: MonitorServerConfig[], sessions: SessionConfig[]): MonitoringConfig => ({ monitorServers: servers, sessions });

/** The problems a config is refused with (it must be refused with SessionConfigError). */
function problemsOf(cfg: MonitoringConfig): ConfigProblem[] {
  let result: unknown;
  try {
    result = resolveMonitoringConfig(cfg, idsFor());
  } catch (err) {
    assert.ok(err instanceof SessionConfigError, `expected SessionConfigError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.ok(err.problems.length > 0, 'a SessionConfigError lists at least one problem');
    // The error message carries every problem with its path.
    for (const p of err.problems) assert.ok(err.message.includes(`${p.path}: ${p.message}`), err.message);
    return err.problems;
  }
  assert.fail(`config was accepted: ${JSON.stringify(result)}`);
}

/** Refused with exactly one problem, at `path`, with a message matching `message`. */
function refusedWith(cfg: MonitoringConfig, path: string, message: RegExp): void {
  const problems = problemsOf(cfg);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.equal(problems[0]!.path, path);
  assert.match(problems[0]!.message, message);
}

const S1 = "session[name='s1']";
const M1 = "monitor-server[name='m1']";

describe('monitoring sessions: resolveMonitoringConfig', function () {
  describe('a valid configuration', function () {
    it('gives canonical sessions: lower-case MACs, canonical IPs, defaults, id from the callback', () => {
      const asked: string[] = [];
      const out = resolveMonitoringConfig(
        config(
          [
            { name: 'm1', mac: '02-00-00-00-AA-01', ipv4: '198.51.100.10', ipv6: '2001:DB8:0:0::A', hostId: 65535 },
            { name: 'm2', mac: '02:00:00:00:AA:02', ipv6: '2001:db8:0:0:0:0:0:b', hostId: 1, vni: 16_777_215 },
          ],
          [
            { name: 'web', vni: 1000, host: { mac: '02:00:00:00:BB:01', ipv4: '192.0.2.10', ipv6: '2001:0DB8::0:10' }, monitorServer: 'm1' },
            { name: 'db.1', vni: 1, host: { mac: '02-00-00-00-bb-02' }, monitorServer: 'm2', direction: 'to-host', enabled: false },
            { name: 'x_2', vni: 77, host: { mac: '02:00:00:00:bb:03', ipv6: '::FFFF:1.2.3.4' }, monitorServer: 'm1', direction: 'from-host', enabled: true },
          ],
        ),
        { sessionId: (n) => (asked.push(n), `${ROUTER_ID}:${asked.length * 10}`) },
      );
      assert.deepStrictEqual(asked, ['web', 'db.1', 'x_2']);
      assert.deepStrictEqual(out, [
        {
          id: `${ROUTER_ID}:10`,
          name: 'web',
          origin: 'local',
          vni: 1000,
          host: { mac: '02:00:00:00:bb:01', ipv4: '192.0.2.10', ipv6: '2001:db8::10' },
          monitor: { mac: '02:00:00:00:aa:01', ipv4: '198.51.100.10', ipv6: '2001:db8::a', hostId: 65535, vni: 1000 },
          direction: 'both',
          enabled: true,
        },
        {
          id: `${ROUTER_ID}:20`,
          name: 'db.1',
          origin: 'local',
          vni: 1,
          host: { mac: '02:00:00:00:bb:02' },
          monitor: { mac: '02:00:00:00:aa:02', ipv6: '2001:db8::b', hostId: 1, vni: 16_777_215 },
          direction: 'to-host',
          enabled: false,
        },
        {
          id: `${ROUTER_ID}:30`,
          name: 'x_2',
          origin: 'local',
          vni: 77,
          host: { mac: '02:00:00:00:bb:03', ipv6: '::ffff:102:304' },
          monitor: { mac: '02:00:00:00:aa:01', ipv4: '198.51.100.10', ipv6: '2001:db8::a', hostId: 65535, vni: 77 },
          direction: 'from-host',
          enabled: true,
        },
      ]);
    });

    it('the monitor VNI defaults to each session\'s VNI; a server VNI overrides it', () => {
      const out = resolveMonitoringConfig(
        config(
          [server(), server({ name: 'm2', mac: '02:00:00:00:aa:02', hostId: 18, vni: 4242 })],
          [session({ name: 'a', vni: 10 }), session({ name: 'b', vni: 20 }), session({ name: 'c', vni: 30, monitorServer: 'm2' })],
        ),
        idsFor(),
      );
      assert.deepStrictEqual(
        out.map((s) => [s.name, s.vni, s.monitor.vni]),
        [
          ['a', 10, 10],
          ['b', 20, 20],
          ['c', 30, 4242],
        ],
      );
    });

    it('boundary values are accepted: HOST-ID 1 and 65535, VNI 1 and 16777215', () => {
      const out = resolveMonitoringConfig(
        config(
          [server({ hostId: 1 }), server({ name: 'm2', mac: '02:00:00:00:aa:02', hostId: 65535, vni: 1 })],
          [session({ name: 'a', vni: 1 }), session({ name: 'b', vni: 16_777_215, monitorServer: 'm2' })],
        ),
        idsFor(),
      );
      assert.deepStrictEqual(
        out.map((s) => [s.vni, s.monitor.hostId, s.monitor.vni]),
        [
          [1, 1, 1],
          [16_777_215, 65535, 1],
        ],
      );
    });

    it('an empty configuration gives no sessions; servers without sessions are fine', () => {
      assert.deepStrictEqual(resolveMonitoringConfig(config([], []), idsFor()), []);
      assert.deepStrictEqual(resolveMonitoringConfig(config([server()], []), idsFor()), []);
    });

    it('sameSession compares every field', () => {
      const [a] = resolveMonitoringConfig(config([server({ ipv6: '2001:db8::1' })], [session()]), idsFor());
      assert.ok(a && sameSession(a, { ...a, host: { ...a.host }, monitor: { ...a.monitor } }));
      const variants = [
        { ...a, id: 'x' },
        { ...a, name: 'x' },
        { ...a, origin: 'remote' as const },
        { ...a, vni: a.vni + 1 },
        { ...a, direction: 'to-host' as const },
        { ...a, enabled: false },
        { ...a, host: { ...a.host, mac: '02:00:00:00:00:99' } },
        { ...a, host: { ...a.host, ipv4: '192.0.2.99' } },
        { ...a, host: { ...a.host, ipv6: '2001:db8::99' } },
        { ...a, monitor: { ...a.monitor, mac: '02:00:00:00:00:98' } },
        { ...a, monitor: { ...a.monitor, ipv4: '192.0.2.98' } },
        { ...a, monitor: { ...a.monitor, ipv6: '2001:db8::98' } },
        { ...a, monitor: { ...a.monitor, hostId: 99 } },
        { ...a, monitor: { ...a.monitor, vni: 99 } },
      ];
      for (const v of variants) assert.equal(sameSession(a, v), false, JSON.stringify(v));
    });
  });

  describe('every problem names its field', function () {
    it('HOST-ID 0 and 65536 (and a non-integer)', () => {
      for (const hostId of [0, 65536, 1.5, -1]) refusedWith(config([server({ hostId })], [session()]), `${M1}/host-id`, /1\.\.65535/);
    });

    it('session VNI 0, 16777216 and non-integers', () => {
      for (const vni of [0, 16_777_216, 1.5, Number.NaN, '10' as unknown as number])
        refusedWith(config([server()], [session({ vni })]), `${S1}/vni`, /integer 1\.\.16777215/);
    });

    it('monitor server VNI 0 and 16777216', () => {
      for (const vni of [0, 16_777_216, 2.5]) refusedWith(config([server({ vni })], [session()]), `${M1}/vni`, /integer 1\.\.16777215/);
    });

    it('a bad MAC: the monitored host\'s and the monitor server\'s', () => {
      for (const mac of ['02:00:00:00:bb', '02:00:00:00:bb:zz', '02:00:00:00:bb:01:02', '0200.0000.bb01', '02:00-00:00:bb:01', '', undefined as unknown as string]) {
        refusedWith(config([server()], [session({ host: { mac } })]), `${S1}/monitored-host/mac`, /not a MAC address/);
        refusedWith(config([server({ mac })], [session()]), `${M1}/mac`, /not a MAC address/);
      }
    });

    it('a multicast, broadcast or all-zero MAC is not a host', () => {
      for (const [mac, re] of [
        ['01:00:5e:00:00:01', /group \(multicast\/broadcast\)/],
        ['33:33:00:00:00:01', /group \(multicast\/broadcast\)/],
        ['FF:FF:FF:FF:FF:FF', /ff:ff:ff:ff:ff:ff is a group/],
        ['00:00:00:00:00:00', /all-zero MAC/],
      ] as const) {
        refusedWith(config([server()], [session({ host: { mac } })]), `${S1}/monitored-host/mac`, re);
        refusedWith(config([server({ mac })], [session()]), `${M1}/mac`, re);
      }
    });

    const BAD_IPV4 = ['192.0.2.256', '192.0.2', '01.2.3.4', '2001:db8::1', 'x'];
    const BAD_IPV6 = ['2001:db8::g', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '192.0.2.1', ''];

    it("a bad IPv4 / IPv6 address of the monitored host", () => {
      for (const ipv4 of BAD_IPV4)
        refusedWith(config([server()], [session({ host: { mac: '02:00:00:00:bb:01', ipv4 } })]), `${S1}/monitored-host/ipv4`, /is not an IPv4 address/);
      for (const ipv6 of BAD_IPV6)
        refusedWith(config([server()], [session({ host: { mac: '02:00:00:00:bb:01', ipv6 } })]), `${S1}/monitored-host/ipv6`, /is not an IPv6 address/);
    });

    it('a bad IPv4 / IPv6 address of a monitor server no session uses', () => {
      for (const ipv4 of BAD_IPV4) refusedWith(config([server({ ipv4 })], []), `${M1}/ipv4`, /is not an IPv4 address/);
      for (const ipv6 of BAD_IPV6) refusedWith(config([server({ ipv6 })], []), `${M1}/ipv6`, /is not an IPv6 address/);
    });

    // Regression: the skip check for sessions of an invalid server once ignored the server's
    // IPs, and canonicalIp() threw a bare RangeError instead of the SessionConfigError.
    it('a bad IPv4 / IPv6 address of a monitor server a session uses', () => {
      for (const ipv4 of BAD_IPV4) refusedWith(config([server({ ipv4 })], [session()]), `${M1}/ipv4`, /is not an IPv4 address/);
      for (const ipv6 of BAD_IPV6) refusedWith(config([server({ ipv6 })], [session()]), `${M1}/ipv6`, /is not an IPv6 address/);
    });

    // Regression: node:net isIPv6() accepts a zone index, which has no wire form.
    it('an IPv6 address with a zone index is a config problem, not a RangeError', () => {
      refusedWith(config([server()], [session({ host: { mac: '02:00:00:00:bb:01', ipv6: 'fe80::1%eth0' } })]), `${S1}/monitored-host/ipv6`, /is not an IPv6 address/);
      refusedWith(config([server({ ipv6: 'fe80::1%eth0' })], [session()]), `${M1}/ipv6`, /is not an IPv6 address/);
    });

    it('a monitor server with no IP address', () => {
      const { ipv4: _drop, ...noIp } = server();
      void _drop;
      refusedWith(config([noIp], [session()]), M1, /needs an IPv4 or an IPv6 address/);
    });

    it('two monitor servers with one HOST-ID', () => {
      refusedWith(
        config([server(), server({ name: 'm2', mac: '02:00:00:00:aa:02' })], [session()]),
        "monitor-server[name='m2']/host-id",
        /HOST-ID 17 is already used by monitor server 'm1'/,
      );
    });

    it('two monitor servers with one MAC (however it is spelled)', () => {
      refusedWith(
        config([server(), server({ name: 'm2', mac: '02-00-00-00-AA-01', hostId: 18 })], [session()]),
        "monitor-server[name='m2']/mac",
        /MAC 02:00:00:00:aa:01 is already monitor server 'm1'/,
      );
    });

    it('duplicate monitor server names and duplicate session names', () => {
      refusedWith(config([server(), server({ mac: '02:00:00:00:aa:02', hostId: 18 })], [session()]), `${M1}/name`, /duplicate monitor server name/);
      refusedWith(config([server()], [session(), session({ vni: 2000 })]), `${S1}/name`, /duplicate session name/);
    });

    it('invalid names', () => {
      for (const name of ['', '-x', 'has space', 'a'.repeat(65), "q'uote"])
        assert.ok(
          problemsOf(config([server()], [session({ name })])).some((p) => p.path === `session[name='${name}']/name` && /not a valid name/.test(p.message)),
          name,
        );
      refusedWith(config([server()], [session({ name: 'a'.repeat(64) }), session({ name: 'b'.repeat(65) })]), `session[name='${'b'.repeat(65)}']/name`, /not a valid name/);
    });

    it('a session naming a monitor server that does not exist', () => {
      refusedWith(config([server()], [session({ monitorServer: 'nope' })]), `${S1}/monitor-server`, /no monitor server named 'nope'/);
    });

    it("a monitor server whose MAC is the monitored host's MAC (however it is spelled)", () => {
      refusedWith(
        config([server({ mac: '02-00-00-00-BB-01' })], [session()]),
        `${S1}/monitor-server`,
        /monitor server 'm1' has the monitored host's MAC 02:00:00:00:bb:01/,
      );
    });

    it('a bad direction, a non-boolean enabled', () => {
      refusedWith(config([server()], [session({ direction: 'sideways' as never })]), `${S1}/direction`, /must be one of both, from-host, to-host, got 'sideways'/);
      refusedWith(config([server()], [session({ enabled: 'yes' as never })]), `${S1}/enabled`, /true or false/);
    });
  });

  describe('all or nothing', function () {
    it('several problems are all reported at once, each at its own field', () => {
      const problems = problemsOf(
        config(
          [server({ hostId: 0 }), server({ name: 'm2', mac: '01:00:5e:00:00:01', hostId: 18, ipv6: 'zz' })],
          [
            session({ vni: 0, direction: 'up' as never }),
            session({ name: 's2', host: { mac: 'nope', ipv4: '1.2.3' }, monitorServer: 'm2' }),
            session({ name: 's3', monitorServer: 'ghost' }),
            session({ name: 'ok', host: { mac: '02:00:00:00:bb:09' } }),
          ],
        ),
      );
      assert.deepStrictEqual(
        problems.map((p) => p.path).sort(),
        [
          `${M1}/host-id`,
          "monitor-server[name='m2']/ipv6",
          "monitor-server[name='m2']/mac",
          `${S1}/direction`,
          `${S1}/vni`,
          "session[name='s2']/monitored-host/ipv4",
          "session[name='s2']/monitored-host/mac",
          "session[name='s3']/monitor-server",
        ].sort(),
      );
      for (const p of problems) assert.ok(p.message.length > 10, `a message that says something: ${JSON.stringify(p)}`);
    });

    it('nothing is returned when anything is invalid: one bad session refuses the valid ones too', () => {
      const asked: string[] = [];
      let returned: unknown;
      assert.throws(
        () => (returned = resolveMonitoringConfig(config([server()], [session({ name: 'good' }), session({ name: 'bad', vni: 0 })]), idsFor(asked))),
        (err: unknown) => err instanceof SessionConfigError && err.problems.length === 1 && err.name === 'SessionConfigError',
      );
      assert.equal(returned, undefined);
      // A bad monitor server that no session uses still refuses the whole configuration.
      assert.throws(() => resolveMonitoringConfig(config([server(), server({ name: 'm2', mac: '02:00:00:00:aa:02', hostId: 0 })], [session()]), idsFor()), SessionConfigError);
    });
  });
});

describe('monitoring sessions: SessionRdAllocator', function () {
  it('gives each name a stable RD <router id>:<index>, from 1 up', () => {
    const a = new SessionRdAllocator(ROUTER_ID);
    assert.equal(a.rd('x'), `${ROUTER_ID}:1`);
    assert.equal(a.rd('y'), `${ROUTER_ID}:2`);
    assert.equal(a.rd('x'), `${ROUTER_ID}:1`);
    assert.equal(a.rd('z'), `${ROUTER_ID}:3`);
    assert.equal(a.rd('y'), `${ROUTER_ID}:2`);
    assert.deepStrictEqual(a.snapshot(), { x: 1, y: 2, z: 3 });
  });

  it('retain() frees the indexes of dropped names; the lowest free index is reused', () => {
    const a = new SessionRdAllocator(ROUTER_ID);
    for (const n of ['a', 'b', 'c', 'd']) a.rd(n);
    a.retain(['a', 'c']);
    assert.deepStrictEqual(a.snapshot(), { a: 1, c: 3 });
    assert.equal(a.rd('e'), `${ROUTER_ID}:2`);
    assert.equal(a.rd('f'), `${ROUTER_ID}:4`);
    assert.equal(a.rd('g'), `${ROUTER_ID}:5`);
    assert.equal(a.rd('c'), `${ROUTER_ID}:3`, 'kept names keep their index');
    // A dropped name that comes back is a new session: it gets the lowest free index.
    a.retain(['e', 'g']);
    assert.equal(a.rd('a'), `${ROUTER_ID}:1`);
    assert.equal(a.rd('b'), `${ROUTER_ID}:3`);
  });

  it('snapshot/restore gives the same RDs, and new names avoid the restored indexes', () => {
    const a = new SessionRdAllocator(ROUTER_ID);
    for (const n of ['a', 'b', 'c', 'd', 'e']) a.rd(n);
    a.retain(['b', 'd', 'e']);
    const saved = JSON.parse(JSON.stringify(a.snapshot())) as Record<string, number>;
    const b = new SessionRdAllocator(ROUTER_ID, saved);
    for (const n of ['b', 'd', 'e']) assert.equal(b.rd(n), a.rd(n), n);
    assert.deepStrictEqual(b.snapshot(), a.snapshot());
    assert.equal(b.rd('new1'), `${ROUTER_ID}:1`);
    assert.equal(b.rd('new2'), `${ROUTER_ID}:3`);
    assert.equal(b.rd('new3'), `${ROUTER_ID}:6`);
  });

  it('invalid saved entries are ignored (out of range, non-integer, an index saved twice)', () => {
    const saved = { ok: 2, zero: 0, big: 65536, neg: -1, frac: 1.5, text: '3' as unknown as number, nan: Number.NaN, twice: 2, max: 65535 };
    const a = new SessionRdAllocator(ROUTER_ID, saved);
    assert.deepStrictEqual(a.snapshot(), { ok: 2, max: 65535 });
    assert.equal(a.rd('ok'), `${ROUTER_ID}:2`);
    assert.equal(a.rd('max'), `${ROUTER_ID}:65535`);
    assert.equal(a.rd('zero'), `${ROUTER_ID}:1`, 'an ignored entry is allocated afresh');
    assert.equal(a.rd('twice'), `${ROUTER_ID}:3`);
  });

  it('a router id that is not IPv4 is refused', () => {
    for (const id of ['2001:db8::1', '1.2.3', 'r1', '']) assert.throws(() => new SessionRdAllocator(id), RangeError, id);
  });

  it('throws after 65535 sessions; nothing is allocated by the failed call; retain() makes room again', () => {
    const saved: Record<string, number> = {};
    for (let i = 1; i <= 65533; i++) saved[`s${i}`] = i;
    const a = new SessionRdAllocator(ROUTER_ID, saved);
    assert.equal(a.rd('last-but-one'), `${ROUTER_ID}:65534`);
    assert.equal(a.rd('last'), `${ROUTER_ID}:65535`);
    assert.throws(() => a.rd('one-too-many'), (err: unknown) => err instanceof RangeError && /65535/.test(err.message));
    assert.equal(Object.keys(a.snapshot()).length, 65535);
    assert.ok(!('one-too-many' in a.snapshot()));
    assert.equal(a.rd('last'), `${ROUTER_ID}:65535`, 'existing names still resolve');
    a.retain(Object.keys(a.snapshot()).filter((n) => n !== 's40000'));
    assert.equal(a.rd('one-too-many'), `${ROUTER_ID}:40000`);
  });
});
