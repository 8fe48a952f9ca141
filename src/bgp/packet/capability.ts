// BGP capabilities (RFC 5492) carried in the OPEN message.
import { hex } from './addr';
import { Reader, Writer } from './buffer';
import { CapabilityCode } from './constants';

export interface GracefulRestartFamily {
  afi: number;
  safi: number;
  /** F bit: forwarding state was preserved across the restart (RFC 4724 section 3). */
  forwardingState: boolean;
}

export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number } // RFC 4760 section 8
  | { kind: 'route-refresh' } // RFC 2918
  | { kind: 'route-refresh-cisco' } // code 128, pre-standard
  | { kind: 'enhanced-route-refresh' } // RFC 7313
  | { kind: 'four-octet-as'; asn: number } // RFC 6793
  | {
      kind: 'graceful-restart'; // RFC 4724 section 3
      /** R bit: the sender has restarted. */
      restartState: boolean;
      /** N bit: notification support (RFC 8538). */
      notification: boolean;
      /** Restart Time in seconds (12 bits). */
      restartTime: number;
      families: GracefulRestartFamily[];
    }
  | { kind: 'unknown'; code: number; value: string /* hex */ };

export class CapabilityError extends Error {}

export function decodeCapability(code: number, v: Reader): Capability {
  const len = v.remaining;
  switch (code) {
    case CapabilityCode.Multiprotocol: {
      if (len !== 4) throw new CapabilityError(`multiprotocol capability length ${len} (must be 4)`);
      const afi = v.u16();
      v.u8(); // reserved
      return { kind: 'multiprotocol', afi, safi: v.u8() };
    }
    case CapabilityCode.RouteRefresh:
      if (len !== 0) throw new CapabilityError(`route refresh capability length ${len} (must be 0)`);
      return { kind: 'route-refresh' };
    case CapabilityCode.RouteRefreshCisco:
      return { kind: 'route-refresh-cisco' };
    case CapabilityCode.EnhancedRouteRefresh:
      if (len !== 0) throw new CapabilityError(`enhanced route refresh capability length ${len} (must be 0)`);
      return { kind: 'enhanced-route-refresh' };
    case CapabilityCode.FourOctetAs:
      if (len !== 4) throw new CapabilityError(`4-octet AS capability length ${len} (must be 4)`);
      return { kind: 'four-octet-as', asn: v.u32() };
    case CapabilityCode.GracefulRestart: {
      if (len < 2 || (len - 2) % 4 !== 0) throw new CapabilityError(`graceful restart capability length ${len}`);
      const word = v.u16();
      const families: GracefulRestartFamily[] = [];
      while (v.remaining) {
        const afi = v.u16();
        const safi = v.u8();
        const flags = v.u8();
        families.push({ afi, safi, forwardingState: (flags & 0x80) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restartState: (word & 0x8000) !== 0,
        notification: (word & 0x4000) !== 0,
        restartTime: word & 0x0fff,
        families,
      };
    }
    default:
      return { kind: 'unknown', code, value: hex(v.bytes(len)) };
  }
}

function writeCap(w: Writer, code: number, body: (w: Writer) => void): void {
  w.u8(code);
  const lenAt = w.reserve(1);
  const start = w.pos;
  body(w);
  const len = w.pos - start;
  if (len > 255) throw new RangeError(`capability ${code} is ${len} bytes long`);
  w.patchU8(lenAt, len);
}

export function encodeCapability(w: Writer, c: Capability): void {
  switch (c.kind) {
    case 'multiprotocol':
      return writeCap(w, CapabilityCode.Multiprotocol, (w) => w.u16(c.afi).u8(0).u8(c.safi));
    case 'route-refresh':
      return writeCap(w, CapabilityCode.RouteRefresh, () => undefined);
    case 'route-refresh-cisco':
      return writeCap(w, CapabilityCode.RouteRefreshCisco, () => undefined);
    case 'enhanced-route-refresh':
      return writeCap(w, CapabilityCode.EnhancedRouteRefresh, () => undefined);
    case 'four-octet-as':
      return writeCap(w, CapabilityCode.FourOctetAs, (w) => w.u32(c.asn));
    case 'graceful-restart':
      if (!Number.isInteger(c.restartTime) || c.restartTime < 0 || c.restartTime > 4095)
        throw new RangeError(`graceful restart time ${c.restartTime} (0..4095 s)`);
      return writeCap(w, CapabilityCode.GracefulRestart, (w) => {
        w.u16((c.restartState ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.restartTime);
        for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingState ? 0x80 : 0);
      });
    case 'unknown':
      // Buffer.from(hex) stops at the first non-hex pair: refuse instead of sending less.
      if (!/^([0-9a-f]{2})*$/i.test(c.value)) throw new RangeError(`capability ${c.code}: value '${c.value}' is not hex`);
      return writeCap(w, c.code, (w) => w.bytes(Buffer.from(c.value, 'hex')));
  }
}
