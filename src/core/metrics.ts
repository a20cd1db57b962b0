import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Every Prometheus metric pumpwatch exports, on one registry per app instance (tests build many). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "pumpwatch_process_" });
  const registers = [registry];
  return {
    registry,
    packets: new Counter({
      name: "pumpwatch_packets_total",
      help: "Telemetry packets by transport and outcome (stored, duplicate, quarantined) and quarantine reason",
      labelNames: ["transport", "outcome", "reason"] as const,
      registers,
    }),
    samples: new Counter({
      name: "pumpwatch_samples_stored_total",
      help: "Samples committed to the store",
      registers,
    }),
    commitBatch: new Histogram({
      name: "pumpwatch_commit_batch_packets",
      help: "Packets per group commit",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: "pumpwatch_commit_duration_seconds",
      help: "Duration of one group commit",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    commitFailures: new Counter({
      name: "pumpwatch_commit_failures_total",
      help: "Group commits that failed",
      registers,
    }),
    pendingPackets: new Gauge({
      name: "pumpwatch_ingest_pending_packets",
      help: "Packets waiting for commit",
      registers,
    }),
    connections: new Gauge({
      name: "pumpwatch_mqtt_connections",
      help: "Open MQTT connections (authenticated)",
      labelNames: ["kind"] as const,
      registers,
    }),
    connects: new Counter({
      name: "pumpwatch_mqtt_connects_total",
      help: "MQTT CONNECT attempts by result",
      labelNames: ["kind", "result"] as const,
      registers,
    }),
    protocolViolations: new Counter({
      name: "pumpwatch_mqtt_violations_total",
      help: "Connections closed for a protocol or policy violation, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    throttled: new Counter({
      name: "pumpwatch_mqtt_throttled_total",
      help: "Device packets delayed by the per-device message or byte budget (limits.deviceMessagesPerSec, deviceBytesPerSec)",
      registers,
    }),
    rateLimited: new Counter({
      name: "pumpwatch_rate_limited_total",
      help: "Requests refused by a rate limit: connection_per_ip, dps_registration_rate, dps_source_failures",
      labelNames: ["limit"] as const,
      registers,
    }),
    registrations: new Counter({
      name: "pumpwatch_dps_registrations_total",
      help: "Provisioning requests by transport and HTTP-style status",
      labelNames: ["transport", "status"] as const,
      registers,
    }),
    analyticsSamples: new Counter({
      name: "pumpwatch_analytics_samples_total",
      help: "Samples processed by the analytics (including samples re-read from the store)",
      registers,
    }),
    analyticsReread: new Counter({
      name: "pumpwatch_analytics_reread_samples_total",
      help: "Samples the analytics re-read from the store (after a restart or a full queue)",
      registers,
    }),
    analyticsBacklog: new Gauge({
      name: "pumpwatch_analytics_backlog_samples",
      help: "Samples waiting for the analytics",
      registers,
    }),
    analyticsErrors: new Counter({
      name: "pumpwatch_analytics_errors_total",
      help: "Analytics failures (a sample the analyzer threw on, a failed store write)",
      registers,
    }),
    alarmEvents: new Counter({
      name: "pumpwatch_alarm_events_total",
      help: "Alarm lifecycle events by kind",
      labelNames: ["kind"] as const,
      registers,
    }),
    twinOps: new Counter({
      name: "pumpwatch_twin_operations_total",
      help: "Device twin operations",
      labelNames: ["op"] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
