// Shared by interop tests. These tests need root (network namespaces, FRR): without it they
// fail loudly instead of skipping — a skipped interop test is a failure, not a pass.
export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    throw new Error('interop tests build network namespaces and run FRR/GoBGP: run them as root (npm test does)');
}
