// The BGP codec: typed messages in, bytes out, and back. No sockets, no timers.
export * from './addr';
export * from './attributes';
export * from './buffer';
export * from './capability';
export * from './constants';
export * from './errors';
export * from './evpn';
export * from './extcommunity';
export * from './message';
export * from './prefix';
export * from './rd';
