// The speaker over real TCP on loopback: two speakers talking to each other, and a scripted
// raw peer for the FSM and error cases. (Interop with FRR and GoBGP is in test/interop.)
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { BgpSpeaker } from '../../src/bgp/speaker';
import { SpeakerConfig } from '../../src/bgp/config';
import { ManualClock } from '../../src/util/clock';
import { EvpnMacIp } from '../../src/bgp/packet/evpn';
import { ESI_ZERO } from '../../src/bgp/packet/rd';
import { encodeUpdate, NotificationMessage, UpdateMessage, BgpMessage } from '../../src/bgp/packet/message';
import { BestChange } from '../../src/bgp/rib';
import { Capability } from '../../src/bgp/packet/capability';
import { RawPeer, until } from '../support/raw-peer';

let portSeq = 20000 + (process.pid % 5000);
const nextPort = () => ++portSeq;

function macRoute(i: number, rd = '1.1.1.1:1'): EvpnMacIp {
  const hex = i.toString(16).padStart(6, '0');
  return { type: 2, rd, esi: ESI_ZERO, ethernetTag: 0, mac: `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4)}`, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, label1: 10 };
}

const isNotification = (m: BgpMessage): m is NotificationMessage => m.type === 'notification';
const speakers: BgpSpeaker[] = [];
const cleanups: (() => void)[] = [];

function speaker(cfg: SpeakerConfig, clock?: ManualClock): BgpSpeaker {
  const s = new BgpSpeaker(cfg, clock ? { clock } : {});
  speakers.push(s);
  return s;
}

afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
  for (const c of cleanups.splice(0)) c();
});

/** Two iBGP speakers A (127.0.0.1) and B (127.0.0.2) on one port, both active. */
async function pair(opts: { aRestarting?: boolean; port?: number } = {}) {
  const port = opts.port ?? nextPort();
  const mk = (me: string, peer: string, id: string, restarting = false) =>
    speaker({
      routerId: id,
      localAs: 65000,
      listenAddress: me,
      listenPort: port,
      restarting,
      gracefulRestart: { restartTime: 30 },
      neighbors: [{ address: peer, remoteAs: 65000, port, localAddress: me, connectRetryTime: 1 }],
    });
  const a = mk('127.0.0.1', '127.0.0.2', '1.1.1.1', opts.aRestarting);
  const b = mk('127.0.0.2', '127.0.0.1', '2.2.2.2');
  await a.start();
  await b.start();
  await until(() => a.neighborStatus()[0]!.state === 'Established' && b.neighborStatus()[0]!.state === 'Established', 5000, 'sessions');
  return { a, b, port };
}

describe('BGP speaker (loopback TCP)', function () {
  this.timeout(15000);

  it('two speakers establish one session even when both open a connection (RFC 4271 section 6.8)', async () => {
    const { a, b } = await pair();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.neighborStatus()[0]!.establishedTransitions, 1);
    assert.equal(b.neighborStatus()[0]!.establishedTransitions, 1);
    assert.equal(a.neighborStatus()[0]!.remoteRouterId, '2.2.2.2');
  });

  it('a Type-2 with MAC Mobility, opaque, large communities and an unknown attribute arrives intact; withdraw propagates', async () => {
    const { a, b } = await pair();
    const route = macRoute(1);
    const ext = [
      { kind: 'route-target', format: 'as4', asn: 65000, local: 1000 } as const,
      { kind: 'mac-mobility', sequence: 7, sticky: false } as const,
      { kind: 'opaque', type: 0x03, subtype: 0x88, value: '0000000004d2' } as const,
      { kind: 'opaque', type: 0x80, subtype: 0x01, value: 'aabbccddeeff' } as const,
      { kind: 'encapsulation', tunnelType: 8 } as const,
    ];
    a.originate(route, {
      extCommunities: ext,
      largeCommunities: [[65000, 1, 2]],
      unknown: [{ flags: 0xc0, type: 99, value: Buffer.from('cafe', 'hex') }],
    });
    const key = '2|1.1.1.1:1|0|02:00:00:00:00:01|10.0.0.1';
    await until(() => b.locRib.best(key) !== undefined, 3000, 'route at B');
    const got = b.locRib.best(key)!;
    assert.deepEqual(got.route, route);
    assert.equal(got.attrSet.nextHop, '1.1.1.1');
    assert.deepEqual(got.attrSet.attrs.extCommunities, ext);
    assert.deepEqual(got.attrSet.attrs.largeCommunities, [[65000, 1, 2]]);
    assert.equal(got.attrSet.attrs.localPref, 100);
    // RFC 4271 section 5: passed on with the Partial bit
    assert.deepEqual(got.attrSet.attrs.unknown, [{ flags: 0xe0, type: 99, value: Buffer.from('cafe', 'hex') }]);

    const changes: BestChange[] = [];
    b.on('best-changes', (c) => changes.push(...c));
    assert.equal(a.withdraw(route), true);
    await until(() => b.locRib.best(key) === undefined, 3000, 'withdraw at B');
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.best, undefined);
    assert.equal(a.withdraw(route), false);
  });

  it('IPv4 unicast (RFC 4271 NLRI field) next to EVPN: announce and withdraw', async () => {
    const port = nextPort();
    const mk = (me: string, peer: string, id: string) =>
      speaker({
        routerId: id,
        localAs: 65000,
        listenAddress: me,
        listenPort: port,
        neighbors: [{ address: peer, remoteAs: 65000, port, localAddress: me, connectRetryTime: 1, families: ['l2vpn-evpn', 'ipv4-unicast'] }],
      });
    const a = mk('127.0.0.14', '127.0.0.15', '1.1.1.14');
    const b = mk('127.0.0.15', '127.0.0.14', '1.1.1.15');
    await a.start();
    await b.start();
    await until(() => b.neighborStatus()[0]!.state === 'Established');
    assert.deepEqual(b.neighborStatus()[0]!.families, ['l2vpn-evpn', 'ipv4-unicast']);
    a.originate('192.0.2.0/24', { nextHop: '127.0.0.14', med: 5 });
    a.originate(macRoute(11));
    await until(() => b.locRib.size === 2, 3000, 'both families at B');
    const p = b.locRib.best('ipv4|192.0.2.0/24')!;
    assert.equal(p.family, 'ipv4-unicast');
    assert.equal(p.attrSet.nextHop, '127.0.0.14');
    assert.equal(p.attrSet.attrs.med, 5);
    assert.throws(() => a.originate('198.51.100.0/24', { nextHop: '2001:db8::1' }), RangeError);
    assert.equal(a.withdraw('192.0.2.0/24'), true);
    await until(() => b.locRib.best('ipv4|192.0.2.0/24') === undefined, 3000, 'IPv4 withdraw');
    assert.equal(b.locRib.size, 1);
  });

  it('invalid routes are refused before anything is stored or sent', async () => {
    const { a } = await pair();
    assert.throws(() => a.originate({ ...macRoute(2), mac: 'zz:00:00:00:00:01' }), RangeError);
    assert.throws(() => a.originate({ ...macRoute(2), label1: 1 << 24 }), RangeError);
    assert.throws(() => a.originate(macRoute(2), { extCommunities: [{ kind: 'mac-mobility', sequence: -1, sticky: false }] }), RangeError);
    assert.throws(() => a.originate({ ...macRoute(2), rd: 'not-an-rd' }), RangeError);
    assert.equal(a.localRouteList().length, 0);
    assert.equal(a.locRib.size, 0);
  });

  it('3000 routes are packed into UPDATEs of at most 4096 bytes and all arrive', async () => {
    const { a, b } = await pair();
    for (let i = 0; i < 3000; i++) a.originate(macRoute(i), { extCommunities: [{ kind: 'mac-mobility', sequence: i % 3, sticky: false }] });
    await until(() => b.locRib.size === 3000, 8000, '3000 routes at B');
    // three attribute sets -> at least ceil(3000/ (4096/39)) updates, far fewer than 3000
    assert.ok(a.counters().updatesOut < 100, `updates sent: ${a.counters().updatesOut}`);
  });

  it('route refresh (RFC 2918): the peer re-sends its Adj-RIB-Out', async () => {
    const { a, b } = await pair();
    a.originate(macRoute(3));
    await until(() => b.locRib.size === 1);
    const before = a.counters().updatesOut;
    assert.equal(b.requestRefresh('127.0.0.1'), true);
    await until(() => a.counters().updatesOut >= before + 2, 3000, 'refresh answered'); // route + End-of-RIB
    assert.equal(b.locRib.size, 1);
  });

  it('Cease on stop: the peer withdraws our routes at once', async () => {
    const { a, b } = await pair();
    a.originate(macRoute(4));
    await until(() => b.locRib.size === 1);
    await a.stop();
    await until(() => b.locRib.size === 0, 3000, 'routes withdrawn');
    assert.match(b.neighborStatus()[0]!.lastError ?? '', /Administrative Shutdown/);
  });

  it('graceful restart: the helper keeps routes as stale, the restarted speaker refreshes them, End-of-RIB sweeps the rest', async () => {
    const { a, b, port } = await pair();
    const kept = macRoute(5);
    const dropped = macRoute(6);
    a.originate(kept);
    a.originate(dropped);
    await until(() => b.locRib.size === 2);
    await a.stop({ graceful: true }); // no NOTIFICATION: B must keep the routes
    await until(() => b.neighborStatus()[0]!.state !== 'Established', 3000, 'B notices');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(b.locRib.size, 2);
    assert.ok([...b.locRib.bestPaths()].every((p) => p.stale), 'routes are stale');

    // A restarts (R bit set) and only re-originates one route
    const a2 = speaker({
      routerId: '1.1.1.1',
      localAs: 65000,
      listenAddress: '127.0.0.1',
      listenPort: port,
      restarting: true,
      neighbors: [{ address: '127.0.0.2', remoteAs: 65000, port, localAddress: '127.0.0.1', connectRetryTime: 1 }],
    });
    a2.originate(kept);
    const eor = new Promise<void>((resolve) => b.on('end-of-rib', (e) => e.address === '127.0.0.1' && resolve()));
    await a2.start();
    await eor;
    await until(() => b.locRib.size === 1, 3000, 'stale route swept');
    const p = [...b.locRib.bestPaths()][0]!;
    assert.deepEqual(p.route, kept);
    assert.equal(p.stale, false);
  });

  it('refuses connections from addresses that are not configured neighbors', async () => {
    const port = nextPort();
    const s = speaker({ routerId: '3.3.3.3', localAs: 65000, listenAddress: '127.0.0.3', listenPort: port, neighbors: [{ address: '127.0.0.4', remoteAs: 65000, passive: true }] });
    await s.start();
    const peer = await RawPeer.connect(port, '127.0.0.3', '127.0.0.5');
    await peer.waitClosed();
    assert.equal(peer.received.length, 0);
  });
});

describe('BGP speaker FSM and error handling (scripted peer)', function () {
  this.timeout(15000);

  /** A speaker at 127.0.0.6 with one passive neighbor 127.0.0.7 and a raw peer connected. */
  async function withRawPeer(opts: { clock?: ManualClock; remoteAs?: number; hold?: number } = {}) {
    const port = nextPort();
    const s = speaker(
      {
        routerId: '6.6.6.6',
        localAs: 65000,
        listenAddress: '127.0.0.6',
        listenPort: port,
        gracefulRestart: { restartTime: 5 },
        neighbors: [{ address: '127.0.0.7', remoteAs: opts.remoteAs ?? 65000, passive: true, holdTime: opts.hold ?? 90 }],
      },
      opts.clock,
    );
    await s.start();
    const peer = await RawPeer.connect(port, '127.0.0.6', '127.0.0.7');
    cleanups.push(() => peer.close());
    return { s, peer };
  }

  /** EVPN, 4-octet AS and graceful restart (forwarding kept) with `restartTime` seconds. */
  const grCaps = (restartTime: number): Capability[] => [
    { kind: 'multiprotocol', afi: 25, safi: 70 },
    { kind: 'four-octet-as', asn: 65000 },
    { kind: 'graceful-restart', restartState: false, notification: false, restartTime, families: [{ afi: 25, safi: 70, forwardingState: true }] },
  ];

  const update = (route: EvpnMacIp, extra: Partial<Parameters<typeof encodeUpdate>[0]['attributes']> = {}) =>
    encodeUpdate({ attributes: { origin: 0, asPath: [], localPref: 100, ...extra }, mpReach: { afi: 25, safi: 70, nextHops: ['10.0.0.7'], routes: [route] } });

  it('wrong peer AS -> NOTIFICATION 2/2 with the 2-byte AS as data', async () => {
    const { peer } = await withRawPeer({ remoteAs: 65001 });
    peer.sendOpen({ as: 65000, id: '7.7.7.7' });
    const n = await peer.waitFor(isNotification);
    assert.equal(n.code, 2);
    assert.equal(n.subcode, 2);
    assert.deepEqual(n.data, Buffer.from([0xfd, 0xe8]));
  });

  it('our own BGP identifier on an iBGP session -> NOTIFICATION 2/3', async () => {
    const { peer } = await withRawPeer();
    peer.sendOpen({ as: 65000, id: '6.6.6.6' });
    const n = await peer.waitFor(isNotification);
    assert.deepEqual([n.code, n.subcode], [2, 3]);
  });

  it('no common address family -> NOTIFICATION 2/7 (Unsupported Capability)', async () => {
    const { peer } = await withRawPeer();
    peer.sendOpen({ as: 65000, id: '7.7.7.7', caps: [{ kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'four-octet-as', asn: 65000 }] });
    const n = await peer.waitFor(isNotification);
    assert.deepEqual([n.code, n.subcode], [2, 7]);
  });

  it('UPDATE before the OPEN exchange -> NOTIFICATION 5/1 (RFC 6608)', async () => {
    const { peer } = await withRawPeer();
    await peer.waitFor((m) => m.type === 'open');
    peer.send(update(macRoute(1)));
    const n = await peer.waitFor(isNotification);
    assert.deepEqual([n.code, n.subcode], [5, 1]);
  });

  it('hold timer expiry -> NOTIFICATION 4/0 (driven by a manual clock)', async () => {
    const clock = new ManualClock();
    const { s, peer } = await withRawPeer({ clock, hold: 3 });
    await peer.handshake({ as: 65000, id: '7.7.7.7', hold: 3 });
    await until(() => s.neighborStatus()[0]!.state === 'Established');
    clock.advance(2999);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(peer.received.some(isNotification), false);
    clock.advance(1);
    const n = await peer.waitFor(isNotification);
    assert.deepEqual([n.code, n.subcode], [4, 0]);
    await until(() => s.neighborStatus()[0]!.state !== 'Established');
  });

  it('a malformed Type-2 (NLRI length 45) -> NOTIFICATION 3/9 and the routes of that session go', async () => {
    const { s, peer } = await withRawPeer();
    await peer.handshake({ as: 65000, id: '7.7.7.7' });
    peer.send(update(macRoute(1)));
    await until(() => s.locRib.size === 1);
    const good = update(macRoute(2));
    // Find the Type-2 NLRI header (type 2, length 37) and claim 45 bytes with 8 more bytes.
    const at = good.indexOf(Buffer.from([0x02, 37]), 19 + 4);
    const bad = Buffer.concat([good.subarray(0, at + 1), Buffer.from([45]), good.subarray(at + 2), Buffer.alloc(8)]);
    bad.writeUInt16BE(bad.length, 16);
    // grow the MP_REACH length and the total path attribute length by 8 as well
    const mpAt = bad.indexOf(Buffer.from([0x90, 14]), 23);
    if (mpAt >= 0) bad.writeUInt16BE(bad.readUInt16BE(mpAt + 2) + 8, mpAt + 2);
    else {
      const mp1 = bad.indexOf(Buffer.from([0x80, 14]), 23);
      bad[mp1 + 2] = bad[mp1 + 2]! + 8;
    }
    bad.writeUInt16BE(bad.readUInt16BE(21) + 8, 21);
    peer.send(bad);
    const n = await peer.waitFor(isNotification);
    assert.deepEqual([n.code, n.subcode], [3, 9]);
    await until(() => s.locRib.size === 0, 3000, 'routes removed after the reset');
  });

  it('RFC 7606 treat-as-withdraw: a bad ORIGIN withdraws the route and keeps the session', async () => {
    const { s, peer } = await withRawPeer();
    await peer.handshake({ as: 65000, id: '7.7.7.7' });
    const errors: string[][] = [];
    s.on('update-error', (e) => errors.push(e.reasons));
    peer.send(update(macRoute(1)));
    await until(() => s.locRib.size === 1);
    const msg = update(macRoute(1));
    const originAt = msg.indexOf(Buffer.from([0x40, 1, 1, 0]), 23);
    msg[originAt + 3] = 7; // ORIGIN value 7
    peer.send(msg);
    await until(() => s.locRib.size === 0, 3000, 'treat-as-withdraw');
    assert.equal(s.neighborStatus()[0]!.state, 'Established');
    assert.match(errors[0]![0]!, /ORIGIN value 7/);
  });

  it('routes reflected back with our ORIGINATOR_ID are ignored (RFC 4456 section 8)', async () => {
    const { s, peer } = await withRawPeer();
    await peer.handshake({ as: 65000, id: '7.7.7.7' });
    peer.send(update(macRoute(1), { originatorId: '6.6.6.6', clusterList: ['7.7.7.7'] }));
    peer.send(update(macRoute(2), { originatorId: '8.8.8.8', clusterList: ['7.7.7.7'] }));
    await until(() => s.locRib.size === 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.locRib.size, 1);
    assert.equal((s.locRib.bestPaths().next().value!.route as EvpnMacIp).mac, macRoute(2).mac);
  });

  it('routes of a family not negotiated are ignored, the session stays up', async () => {
    const { s, peer } = await withRawPeer();
    await peer.handshake({ as: 65000, id: '7.7.7.7' });
    peer.send(encodeUpdate({ attributes: { origin: 0, asPath: [], nextHop: '10.0.0.7' }, nlri: ['192.0.2.0/24'] }));
    peer.send(update(macRoute(3)));
    await until(() => s.locRib.size === 1);
    assert.equal(s.neighborStatus()[0]!.state, 'Established');
  });

  it('graceful restart helper: stale routes are deleted when the restart time expires', async () => {
    const clock = new ManualClock();
    const { s, peer } = await withRawPeer({ clock });
    await peer.handshake({
      as: 65000,
      id: '7.7.7.7',
      caps: grCaps(2),
    });
    peer.send(update(macRoute(1)));
    await until(() => s.locRib.size === 1);
    peer.close(); // TCP failure, no NOTIFICATION
    await until(() => s.neighborStatus()[0]!.state !== 'Established');
    assert.equal(s.locRib.size, 1);
    assert.equal(s.locRib.bestPaths().next().value!.stale, true);
    clock.advance(1999);
    assert.equal(s.locRib.size, 1);
    clock.advance(1);
    assert.equal(s.locRib.size, 0);
  });

  it('a NOTIFICATION from the peer ends graceful restart: routes go at once', async () => {
    const { s, peer } = await withRawPeer();
    await peer.handshake({
      as: 65000,
      id: '7.7.7.7',
      caps: grCaps(120),
    });
    peer.send(update(macRoute(1)));
    await until(() => s.locRib.size === 1);
    const { encodeNotification } = await import('../../src/bgp/packet/message');
    peer.send(encodeNotification(6, 4));
    await until(() => s.locRib.size === 0, 3000, 'routes removed');
  });

  it('sends UPDATE messages the peer can decode, with End-of-RIB after the initial table', async () => {
    const port = nextPort();
    const { server, peer } = await RawPeer.listen(port, '127.0.0.9');
    cleanups.push(() => server.close());
    const s = speaker({ routerId: '8.8.8.8', localAs: 65000, neighbors: [{ address: '127.0.0.9', remoteAs: 65000, port, localAddress: '127.0.0.8' }] });
    s.originate(macRoute(9));
    await s.start();
    const p = await peer;
    cleanups.push(() => p.close());
    await p.handshake({ as: 65000, id: '9.9.9.9' });
    const upd = (await p.waitFor((m) => m.type === 'update' && !!(m as UpdateMessage).mpReach)) as UpdateMessage;
    assert.deepEqual(upd.mpReach!.routes, [macRoute(9)]);
    assert.deepEqual(upd.mpReach!.nextHops, ['8.8.8.8']);
    const eor = (await p.waitFor((m) => m.type === 'update' && !!(m as UpdateMessage).mpUnreach)) as UpdateMessage;
    assert.deepEqual(eor.mpUnreach, { afi: 25, safi: 70, routes: [] });
    assert.ok(p.received.indexOf(upd) < p.received.indexOf(eor));
  });
});

// keep the net import used for type-only helpers in some TS configs
void net;

describe('BGP speaker: ROUTE-REFRESH subtypes and broken streams', function () {
  this.timeout(10000);

  it('ignores ROUTE-REFRESH subtypes other than 0 (RFC 7313 section 5) and answers subtype 0', async () => {
    const port = nextPort();
    const s = speaker({ routerId: '6.6.6.1', localAs: 65000, listenAddress: '127.0.0.10', listenPort: port, neighbors: [{ address: '127.0.0.11', remoteAs: 65000, passive: true }] });
    s.originate(macRoute(1));
    await s.start();
    const peer = await RawPeer.connect(port, '127.0.0.10', '127.0.0.11');
    cleanups.push(() => peer.close());
    await peer.handshake({ as: 65000, id: '7.7.7.1' });
    await peer.waitFor((m) => m.type === 'update' && !!(m as UpdateMessage).mpUnreach); // initial End-of-RIB
    const { encodeRouteRefresh } = await import('../../src/bgp/packet/message');
    const count = () => peer.received.filter((m) => m.type === 'update').length;
    const before = count();
    peer.send(encodeRouteRefresh(25, 70, 3));
    peer.send(encodeRouteRefresh(25, 70, 1));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(count(), before, 'no answer to subtypes 1 and 3');
    peer.send(encodeRouteRefresh(25, 70, 0));
    await until(() => count() === before + 2, 3000, 'route + End-of-RIB re-sent');
    assert.equal(s.neighborStatus()[0]!.state, 'Established');
  });

  it('handles the KEEPALIVE that precedes a broken header in the same segment, then resets with 1/1', async () => {
    const port = nextPort();
    const s = speaker({ routerId: '6.6.6.2', localAs: 65000, listenAddress: '127.0.0.12', listenPort: port, neighbors: [{ address: '127.0.0.13', remoteAs: 65000, passive: true }] });
    await s.start();
    const peer = await RawPeer.connect(port, '127.0.0.12', '127.0.0.13');
    cleanups.push(() => peer.close());
    peer.sendOpen({ as: 65000, id: '7.7.7.2' });
    await peer.waitFor((m) => m.type === 'open');
    const { encodeKeepalive } = await import('../../src/bgp/packet/message');
    const broken = Buffer.from(encodeKeepalive());
    broken[3] = 0;
    const states: string[] = [];
    s.on('peer-state', (e) => states.push(e.to));
    peer.send(Buffer.concat([encodeKeepalive(), broken]));
    const n = await peer.waitFor(isNotification);
    assert.deepEqual([n.code, n.subcode], [1, 1]);
    assert.ok(states.includes('Established'), `the KEEPALIVE was processed first: ${states.join(',')}`);
  });
});
