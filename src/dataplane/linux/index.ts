// The Linux switch driver (nftables + VXLAN-GBP) and the bridge FDB watcher.
export * from './nft-gen';
export * from './readback';
export * from './runner';
export * from './devices';
export * from './driver';
export * from './fdb-watch';
