// Prometheus metrics (prom-client) over HTTP: GET /metrics. Gauges are read from the agent
// when scraped; counters count events as they happen.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSnapshot {
  sessions: { local: number; remote: number };
  entries: { first: number; second: number; third: number };
  peers: Record<string, number>;
  bgp: { updatesIn: number; updatesOut: number; routesIn: number; withdrawsIn: number };
  netconfSessions: number;
  driverFailures: number;
  driverHealthy: boolean;
  duplicates: number;
  macs: number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private server: Server | undefined;
  private snapshot: (() => MetricsSnapshot) | undefined;
  private readonly sessions = new Gauge({ name: 'evpn_mirror_sessions', help: 'Monitoring sessions known to this VTEP', labelNames: ['origin'], registers: [this.registry] });
  private readonly entries = new Gauge({ name: 'evpn_mirror_entries', help: 'Forwarding entries installed, by kind', labelNames: ['kind'], registers: [this.registry] });
  private readonly peers = new Gauge({ name: 'evpn_mirror_bgp_peers', help: 'BGP neighbors by session state', labelNames: ['state'], registers: [this.registry] });
  private readonly bgpUpdates = new Gauge({ name: 'evpn_mirror_bgp_updates_received', help: 'BGP UPDATE messages received since start', registers: [this.registry] });
  private readonly bgpUpdatesOut = new Gauge({ name: 'evpn_mirror_bgp_updates_sent', help: 'BGP UPDATE messages sent since start', registers: [this.registry] });
  private readonly netconfSessions = new Gauge({ name: 'evpn_mirror_netconf_sessions', help: 'Open NETCONF sessions', registers: [this.registry] });
  private readonly driverErrors = new Gauge({ name: 'evpn_mirror_driver_errors', help: 'Failed data plane batches since start', registers: [this.registry] });
  private readonly driverUp = new Gauge({ name: 'evpn_mirror_driver_healthy', help: '1 when the data plane driver is healthy', registers: [this.registry] });
  private readonly duplicateMacs = new Gauge({ name: 'evpn_mirror_duplicate_macs', help: 'MACs frozen by duplicate detection', registers: [this.registry] });
  private readonly macsKnown = new Gauge({ name: 'evpn_mirror_macs', help: 'MAC locations known', registers: [this.registry] });
  private readonly moves = new Counter({ name: 'evpn_mirror_mac_moves_total', help: 'MAC location changes applied', registers: [this.registry] });
  private readonly bgpChangeCount = new Counter({ name: 'evpn_mirror_bgp_best_changes_total', help: 'Loc-RIB best-path changes handled', registers: [this.registry] });
  private readonly applied = new Counter({ name: 'evpn_mirror_entry_changes_applied_total', help: 'Entry changes brought to the data plane', registers: [this.registry] });
  private readonly decision = new Histogram({
    name: 'evpn_mirror_bgp_decision_seconds',
    help: 'Time from a BGP change to the entry diff being ready',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'evpn_mirror_' });
  }

  macMoved(): void {
    this.moves.inc();
  }
  bgpChanges(n: number): void {
    this.bgpChangeCount.inc(n);
  }
  entriesApplied(n: number): void {
    this.applied.inc(n);
  }
  observeDecision(seconds: number): void {
    this.decision.observe(seconds);
  }

  update(s: MetricsSnapshot): void {
    this.sessions.set({ origin: 'local' }, s.sessions.local);
    this.sessions.set({ origin: 'remote' }, s.sessions.remote);
    for (const k of ['first', 'second', 'third'] as const) this.entries.set({ kind: k }, s.entries[k]);
    this.peers.reset();
    for (const [state, n] of Object.entries(s.peers)) this.peers.set({ state }, n);
    this.bgpUpdates.set(s.bgp.updatesIn);
    this.bgpUpdatesOut.set(s.bgp.updatesOut);
    this.netconfSessions.set(s.netconfSessions);
    this.driverErrors.set(s.driverFailures);
    this.driverUp.set(s.driverHealthy ? 1 : 0);
    this.duplicateMacs.set(s.duplicates);
    this.macsKnown.set(s.macs);
  }

  async text(): Promise<string> {
    if (this.snapshot) this.update(this.snapshot());
    return this.registry.metrics();
  }

  /** Serves /metrics; returns the bound port. */
  listen(address: string, port: number, snapshot: () => MetricsSnapshot): Promise<number> {
    this.snapshot = snapshot;
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found: GET /metrics\n');
        return;
      }
      this.text().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err) => res.writeHead(500).end(String(err)),
      );
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, address, () => resolve((this.server!.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    return s ? new Promise((r) => s.close(() => r())) : Promise.resolve();
  }
}
