// Lab harness: network namespaces, FRR and GoBGP for interop tests, the demo and benchmarks.
export * from './exec';
export * from './netns';
export * from './frr';
export * from './gobgp';
export * from './probe';
