// A plain BGP speaker (the project's BgpSpeaker, no monitoring) as one more client of the
// route reflector: how bench/e2e.ts measures FRR's own reflection delay independently of the
// agents. One probe originates Type-2 routes, another receives them; both timestamp inside
// the process (Date.now(), the same clock as the agents' logs and the RR capture).
//
//   node probe-speaker.js '<json: {routerId, neighbor, asn}>'
//   stdin:  {"op":"originate","mac":"02:fe:..","vni":1}     -> {"event":"sent","mac":..,"t":..}
//   stdout: {"event":"started"} {"event":"established"} {"event":"rx","mac":..,"rd":..,"t":..,"withdrawn":bool}
// `sent` is stamped when originate() returns: the speaker writes the UPDATE on the next
// setImmediate, well under a millisecond later.
import { createInterface } from 'node:readline';
import { BgpSpeaker } from '../../src/bgp/speaker';
import { EvpnRouteType } from '../../src/bgp/packet/constants';
import { EvpnMacIp, EvpnRoute } from '../../src/bgp/packet/evpn';
import { TUNNEL_TYPE_VXLAN } from '../../src/bgp/packet/extcommunity';
import { ESI_ZERO } from '../../src/bgp/packet/rd';
import { createLogger } from '../../src/util/log';

interface ProbeConfig {
  routerId: string;
  neighbor: string;
  asn: number;
}

function main(): void {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ProbeConfig;
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const speaker = new BgpSpeaker(
    {
      routerId: cfg.routerId,
      localAs: cfg.asn,
      nextHop: cfg.routerId,
      neighbors: [{ address: cfg.neighbor, remoteAs: cfg.asn, localAddress: cfg.routerId, holdTime: 9, connectRetryTime: 1 }],
    },
    { logger: createLogger({ level: 'warn' }) },
  );
  speaker.on('peer-state', (e) => {
    if (e.to === 'Established') out({ event: 'established', t: Date.now() });
  });
  speaker.on('best-changes', (changes) => {
    const t = Date.now();
    for (const c of changes) {
      if (c.family !== 'l2vpn-evpn') continue;
      const r = c.route as EvpnRoute;
      if (r.type !== EvpnRouteType.MacIpAdvertisement) continue;
      out({ event: 'rx', mac: r.mac, rd: r.rd, t, withdrawn: !c.best });
    }
  });
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      let req: { op: string; mac: string; vni?: number };
      try {
        req = JSON.parse(line) as typeof req;
      } catch {
        return;
      }
      if (req.op !== 'originate') return;
      const vni = req.vni ?? 1;
      const route: EvpnMacIp = { type: EvpnRouteType.MacIpAdvertisement, rd: `${cfg.routerId}:1`, esi: ESI_ZERO, ethernetTag: 0, mac: req.mac, label1: vni };
      speaker.originate(route, {
        extCommunities: [
          { kind: 'route-target', format: 'as2', asn: cfg.asn & 0xffff, local: vni },
          { kind: 'encapsulation', tunnelType: TUNNEL_TYPE_VXLAN },
        ],
      });
      out({ event: 'sent', mac: req.mac, t: Date.now() });
    })
    .on('close', () => void speaker.stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void speaker.stop().then(() => process.exit(0)));
  speaker.start().then(
    () => out({ event: 'started' }),
    (err: unknown) => {
      process.stderr.write(`probe speaker cannot start: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
