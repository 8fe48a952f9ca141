// Protocol numbers used by the codec. RFC sections are cited where each list is defined.

/** RFC 4271 section 4.1: header = 16-byte marker + 2-byte length + 1-byte type. */
export const HEADER_LENGTH = 19;
export const MIN_MESSAGE_LENGTH = 19;
/** RFC 4271 section 4.1: maximum message size without RFC 8654 extended messages. */
export const MAX_MESSAGE_LENGTH = 4096;
export const BGP_VERSION = 4;
/** RFC 6793: AS_TRANS, the 2-octet stand-in for a 4-octet AS in the OPEN's My AS field. */
export const AS_TRANS = 23456;

export const enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

/** Path attribute flags, RFC 4271 section 4.3. */
export const enum AttrFlag {
  Optional = 0x80,
  Transitive = 0x40,
  Partial = 0x20,
  ExtendedLength = 0x10,
}

/** Path attribute type codes (IANA "BGP Path Attributes"). */
export const enum AttrType {
  Origin = 1,
  AsPath = 2,
  NextHop = 3,
  MultiExitDisc = 4,
  LocalPref = 5,
  AtomicAggregate = 6,
  Aggregator = 7,
  Communities = 8, // RFC 1997
  OriginatorId = 9, // RFC 4456
  ClusterList = 10, // RFC 4456
  MpReachNlri = 14, // RFC 4760
  MpUnreachNlri = 15, // RFC 4760
  ExtendedCommunities = 16, // RFC 4360
  As4Path = 17, // RFC 6793
  As4Aggregator = 18, // RFC 6793
  PmsiTunnel = 22, // RFC 6514
  LargeCommunity = 32, // RFC 8092
}

export const enum Afi {
  Ipv4 = 1,
  Ipv6 = 2,
  L2vpn = 25,
}

export const enum Safi {
  Unicast = 1,
  Evpn = 70,
}

/** Capability codes (IANA "Capability Codes"). */
export const enum CapabilityCode {
  Multiprotocol = 1, // RFC 4760
  RouteRefresh = 2, // RFC 2918
  GracefulRestart = 64, // RFC 4724
  FourOctetAs = 65, // RFC 6793
  EnhancedRouteRefresh = 70, // RFC 7313
  RouteRefreshCisco = 128, // pre-standard code, still sent by some speakers
}

/** RFC 4271 section 4.2: the only optional parameter still defined is Capabilities (RFC 5492). */
export const OPEN_PARAM_CAPABILITIES = 2;

/** NOTIFICATION error codes, RFC 4271 section 4.5 and later RFCs. */
export const enum ErrorCode {
  MessageHeader = 1,
  OpenMessage = 2,
  UpdateMessage = 3,
  HoldTimerExpired = 4,
  FsmError = 5,
  Cease = 6,
  RouteRefreshMessage = 7, // RFC 7313
}

export const enum HeaderSubcode {
  ConnectionNotSynchronized = 1,
  BadMessageLength = 2,
  BadMessageType = 3,
}

export const enum OpenSubcode {
  Unspecific = 0,
  UnsupportedVersion = 1,
  BadPeerAs = 2,
  BadBgpIdentifier = 3,
  UnsupportedOptionalParameter = 4,
  UnacceptableHoldTime = 6,
  UnsupportedCapability = 7, // RFC 5492
}

export const enum UpdateSubcode {
  MalformedAttributeList = 1,
  UnrecognizedWellKnownAttribute = 2,
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  InvalidNextHopAttribute = 8,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11,
}

/** RFC 6608 subcodes for FSM errors. */
export const enum FsmSubcode {
  Unspecific = 0,
  UnexpectedInOpenSent = 1,
  UnexpectedInOpenConfirm = 2,
  UnexpectedInEstablished = 3,
}

/** RFC 4486 (and RFC 8538) Cease subcodes. */
export const enum CeaseSubcode {
  MaxPrefixes = 1,
  AdministrativeShutdown = 2,
  PeerDeconfigured = 3,
  AdministrativeReset = 4,
  ConnectionRejected = 5,
  OtherConfigurationChange = 6,
  ConnectionCollisionResolution = 7,
  OutOfResources = 8,
  HardReset = 9, // RFC 8538
}

/** RFC 7313 section 5: ROUTE-REFRESH Message Error subcode. */
export const ROUTE_REFRESH_INVALID_LENGTH = 1;

/** EVPN route types, RFC 7432 section 7 and RFC 9136 section 3. */
export const enum EvpnRouteType {
  EthernetAutoDiscovery = 1,
  MacIpAdvertisement = 2,
  InclusiveMulticast = 3,
  EthernetSegment = 4,
  IpPrefix = 5,
}
