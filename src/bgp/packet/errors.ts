// Errors that end a session: each carries the NOTIFICATION it must produce
// (RFC 4271 section 6). Errors that RFC 7606 lets us survive (treat-as-withdraw,
// attribute discard) are not exceptions: the UPDATE decoder reports them in its result.
import { CeaseSubcode, ErrorCode } from './constants';

const EMPTY = Buffer.alloc(0);

export class NotificationError extends Error {
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    /** The NOTIFICATION's Data field, as the RFC prescribes for this error. */
    readonly data: Buffer = EMPTY,
  ) {
    super(message);
    this.name = 'NotificationError';
  }
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    0: 'Unspecific',
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    0: 'Unspecified Error',
    1: 'Unexpected Message in OpenSent',
    2: 'Unexpected Message in OpenConfirm',
    3: 'Unexpected Message in Established',
  },
  6: {
    [CeaseSubcode.MaxPrefixes]: 'Maximum Number of Prefixes Reached',
    [CeaseSubcode.AdministrativeShutdown]: 'Administrative Shutdown',
    [CeaseSubcode.PeerDeconfigured]: 'Peer De-configured',
    [CeaseSubcode.AdministrativeReset]: 'Administrative Reset',
    [CeaseSubcode.ConnectionRejected]: 'Connection Rejected',
    [CeaseSubcode.OtherConfigurationChange]: 'Other Configuration Change',
    [CeaseSubcode.ConnectionCollisionResolution]: 'Connection Collision Resolution',
    [CeaseSubcode.OutOfResources]: 'Out of Resources',
    [CeaseSubcode.HardReset]: 'Hard Reset',
  },
  7: { 1: 'Invalid Message Length' },
};

/** "UPDATE Message Error/Optional Attribute Error (3/9)". */
export function describeNotification(code: number, subcode: number): string {
  const c = CODE_NAMES[code] ?? `Unknown Error Code ${code}`;
  const s = SUBCODE_NAMES[code]?.[subcode] ?? (subcode === 0 ? 'Unspecific' : `Subcode ${subcode}`);
  return `${c}/${s} (${code}/${subcode})`;
}

export function ceaseError(subcode: CeaseSubcode, message: string): NotificationError {
  return new NotificationError(ErrorCode.Cease, subcode, message);
}
