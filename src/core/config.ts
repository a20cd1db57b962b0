import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The one configuration schema of pumpwatch: validation, defaults and documentation in one place.
 * Loaded once (file → environment → command-line flags, later wins), frozen and passed in; no
 * module reads `process.env` on its own. docs/configuration.md lists every key.
 */
const port = z.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    /** Data folder: database, TLS material, master key, operator token. */
    data: z.string().min(1).default("./data"),
    /** Public host name of this pumpwatch: put in the server certificate and in `assignedHub`. */
    host: z.string().min(1).default("localhost"),
    /** Further names for the server certificate and accepted as hub names in SAS tokens. */
    hostNames: z.array(z.string().min(1)).default([]),
    /** Address the listeners bind to. */
    bind: z.string().default("0.0.0.0"),
    /** MQTT over TLS, serving both provisioning (DPS) and the hub. */
    mqttPort: port.default(8883),
    /** HTTPS: API, DPS and IoT Hub device HTTPS endpoints, /healthz, /metrics. */
    httpsPort: port.default(8443),
    tls: z
      .object({
        cert: z.string().optional(),
        key: z.string().optional(),
        ca: z.string().optional(),
      })
      .default({}),
    /** Database: "sqlite" (file in the data folder), a file path ending in .db, or a postgres:// URL. */
    db: z.string().default("sqlite"),
    /** SQLite `synchronous` level: FULL survives power loss, NORMAL survives a process crash. */
    sqliteSync: z.enum(["FULL", "NORMAL"]).default("FULL"),
    /** DPS id scope; generated on first start and kept in the database when not given. */
    idScope: z
      .string()
      .regex(/^[0-9A-Za-z]{4,32}$/)
      .optional(),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    limits: z
      .object({
        /** Largest MQTT packet accepted, checked before the bytes are buffered (Azure: 256 KiB). */
        maxPacketBytes: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024),
        /**
         * Time a new MQTT connection has for its TLS handshake, and then again for its CONNECT:
         * with the default, at most 10 s pass from accept to CONNECT.
         */
        connectTimeoutMs: z.number().int().min(100).max(5_000).default(5_000),
        /** Highest keep-alive granted; Azure caps the server timeout at 1767 s = 1.5 × 1178 s. */
        keepAliveMaxSec: z.number().int().min(5).max(1178).default(1178),
        /** Clock skew tolerated for SAS expiry. */
        sasSkewSec: z.number().int().min(0).default(300),
        /** Samples stamped later than now + this are invalid. */
        maxFutureSec: z.number().int().min(0).default(300),
        /** Samples per packet (store-and-forward batches). */
        maxSamplesPerPacket: z.number().int().min(1).default(10_000),
        /** Simultaneous MQTT connections before CONNACK 3 (server unavailable). */
        maxConnections: z.number().int().min(1).default(100_000),
        /** Packets waiting for the group commit before new CONNECTs are refused with CONNACK 3. */
        maxPendingPackets: z.number().int().min(1).default(50_000),
        /** Days a message id is remembered for de-duplication. */
        dedupDays: z.number().int().min(1).default(30),
        /** Largest CONNECT (checked from its header, before authentication): SAS CONNECTs are < 1 KiB. */
        maxConnectBytes: z
          .number()
          .int()
          .min(1024)
          .default(16 * 1024),
        /** Longest PUBLISH topic (bytes): the Azure property bag is small; MQTT would allow 65,535. */
        maxTopicBytes: z.number().int().min(256).max(65_535).default(8192),
        /** A device that does not read what it is sent for this long is disconnected (aedes drainTimeout). */
        drainTimeoutMs: z.number().int().min(100).default(10_000),
        /** Per device: messages per second sustained, and the burst (docs/security-limits.md). */
        deviceMessagesPerSec: z.number().min(0.1).default(1000),
        deviceMessageBurst: z.number().int().min(1).default(2000),
        /** Per device: payload bytes per second sustained, and the burst (≥ one largest packet). */
        deviceBytesPerSec: z
          .number()
          .min(1)
          .default(2 * 1024 * 1024),
        deviceByteBurst: z
          .number()
          .int()
          .min(1024)
          .default(8 * 1024 * 1024),
        /** Over-budget packets are delayed up to this long; beyond, the connection is closed (rate_limited). */
        throttleMaxDelayMs: z.number().int().min(0).default(5_000),
        /** New MQTT connections per source address per second, and the burst; 0 turns the limit off. */
        connectionsPerIpPerSec: z.number().min(0).default(100),
        connectionBurstPerIp: z.number().int().min(1).default(1000),
        /** Provisioning: register requests per registration id per minute; 0 turns the limit off. */
        dpsRegistrationsPerMin: z.number().int().min(0).default(20),
        /** Provisioning: failed requests per source address per minute before it gets 429; 0: off. */
        dpsFailuresPerMinPerIp: z.number().int().min(0).default(60),
      })
      .default({}),
    /** Who runs this installation: named as controller and provider in the privacy information. */
    operator: z
      .object({
        name: z.string().min(1).default("The operator of this pumpwatch installation"),
        address: z.string().min(1).default("(set operator.address in the configuration)"),
        contact: z.string().min(1).default("(set operator.contact in the configuration)"),
      })
      .default({}),
    /**
     * Address people open pumpwatch at, for links in e-mails (invitation, password reset); default
     * `https://<host>:<httpsPort>`.
     */
    publicUrl: z.string().url().optional(),
    /** User sessions, one-time links and login throttling (docs/security.md). */
    auth: z
      .object({
        /** A session ends after this long without a request… */
        sessionIdleMinutes: z
          .number()
          .int()
          .min(1)
          .default(8 * 60),
        /** …and at the latest this long after the login. */
        sessionMaxHours: z
          .number()
          .int()
          .min(1)
          .default(7 * 24),
        /** How long an invitation link works. */
        invitationDays: z.number().int().min(1).max(30).default(7),
        /** How long a password-reset link works. */
        resetMinutes: z
          .number()
          .int()
          .min(5)
          .max(24 * 60)
          .default(60),
      })
      .default({}),
    /** Outgoing e-mail (invitations, password resets); without it, invitation links are shown to the inviting admin. */
    smtp: z
      .object({
        host: z.string().min(1),
        port: port.default(587),
        /** TLS from the first byte (port 465); otherwise STARTTLS. */
        secure: z.boolean().default(false),
        /** Refuse to send unless STARTTLS succeeds. */
        requireTls: z.boolean().default(true),
        user: z.string().optional(),
        pass: z.string().optional(),
        /** Sender, e.g. "pumpwatch <noreply@example.com>". */
        from: z.string().min(3),
        /** PEM file of a private CA that signed the SMTP server's certificate. */
        ca: z.string().optional(),
      })
      .optional(),
    /** Days a terminated customer's data stays available for export before it is deleted. */
    exportGraceDays: z.number().int().min(0).default(30),
    /** Retention for companies without their own (set per company through the API). */
    retention: z
      .object({
        rawDays: z.number().int().min(1).default(730),
        rollupDays: z.number().int().min(1).default(3650),
      })
      .default({}),
    /** Analytics (docs/analytics.md): offline detection, persistence cadence, backlog bound. */
    analytics: z
      .object({
        /** Raise the `offline` alarm when a box has not been heard from for this long. */
        offlineAfterSec: z.number().int().min(10).default(900),
        /** How often analyzer state and KPI integrals are written to the store. */
        flushSec: z.number().int().min(1).default(30),
        /** Samples waiting for analytics at most; beyond, they are re-read from the store later. */
        maxBacklogSamples: z.number().int().min(1000).default(1_000_000),
        /** After a restart or a dropped backlog, re-read at most this much history per pump. */
        replayMaxHours: z.number().min(0).default(48),
      })
      .default({}),
    /**
     * Security monitoring (docs/security.md § Monitoring): detector thresholds. Counts are per
     * `windowSec`; an episode ends after `episodeGapSec` without observations.
     */
    security: z
      .object({
        enabled: z.boolean().default(true),
        windowSec: z.number().min(0.1).max(3600).default(60),
        episodeGapSec: z.number().min(1).max(86_400).default(600),
        /** Failed CONNECTs, DPS 401s and API logins from one source address per window. */
        authFailuresPerSource: z.number().int().min(1).default(20),
        /** Failed CONNECTs naming one device id per window. */
        authFailuresPerDevice: z.number().int().min(1).default(10),
        /** Windows of a device's own history before its rate and churn are judged. */
        warmupWindows: z.number().int().min(1).default(10),
        /** Packets before its payload size is judged. */
        warmupPackets: z.number().int().min(1).default(20),
        /** Weight of the newest window (packet, for sizes) in the device's moving average. */
        alpha: z.number().gt(0).max(1).default(0.1),
        /** Packets per window above factor × the device's own average, and above the minimum. */
        rateFactor: z.number().min(1).default(10),
        rateMin: z.number().int().min(1).default(120),
        /** A packet larger than factor × the device's average packet, and than the minimum bytes. */
        sizeFactor: z.number().min(1).default(8),
        sizeMinBytes: z.number().int().min(1).default(32_768),
        /** Connections per window above factor × the device's own average, and above the minimum. */
        churnFactor: z.number().min(1).default(5),
        churnMin: z.number().int().min(1).default(10),
        /** Quarantined packets per window: of one device, of the whole fleet. */
        quarantinePerDevice: z.number().int().min(1).default(30),
        quarantineFleet: z.number().int().min(1).default(200),
        /** Distinct registration ids refused to one source per window (enumeration). */
        dpsIdsPerSource: z.number().int().min(1).default(20),
        /** DPS requests from one source per window (flooding). */
        dpsRequestsPerSource: z.number().int().min(1).default(300),
        /** Sources and device ids followed at most (the oldest are forgotten beyond). */
        maxTracked: z.number().int().min(100).default(10_000),
        /** Days security events are kept after they were last seen. */
        retentionDays: z.number().int().min(1).default(90),
      })
      .default({}),
    /** Alarm notifications by e-mail and signed webhooks (docs/configuration.md § Notifications). */
    notifications: z
      .object({
        /** One reminder this long after a raise when the alarm is still active and unacknowledged; 0: none. */
        reminderMinutes: z
          .number()
          .int()
          .min(0)
          .max(7 * 24 * 60)
          .default(240),
        /** Attempts per message before it is given up (back-off 30 s × 2^n with jitter, at most 1 h). */
        maxAttempts: z.number().int().min(1).max(30).default(8),
        /** Longest a webhook receiver may take to answer, in milliseconds. */
        webhookTimeoutMs: z.number().int().min(100).max(60_000).default(10_000),
      })
      .default({}),
    /** How often closed chunk windows are compressed and their rollups written. */
    compactEveryMs: z.number().int().min(1000).default(60_000),
    /** Longest a packet waits for the group commit, in milliseconds. */
    commitDelayMs: z.number().min(0).max(100).default(2),
    /** Run the demo fleet: simulated pumps as in-process device agents (clearly labelled). */
    demo: z.boolean().default(false),
    /** Scenario file for the demo (default: the packaged scenarios/demo.json). */
    demoScenario: z.string().optional(),
    /** Secret for encrypting device keys at rest (base64, 32 bytes); else `<data>/master.key`. */
    masterKey: z.string().optional(),
    /**
     * What this process runs (docs/scale-out.md): everything ("all"), or one role of a scaled-out
     * installation. A role other than "all" needs `bus`.
     */
    role: z.enum(["all", "gateway", "ingest", "api", "analytics"]).default("all"),
    /** NATS servers of the ingest bus (JetStream); empty: the embedded default (commit to the store). */
    bus: z.array(z.string().regex(/^(nats|tls):\/\/\S+$/, "a nats://host:port URL")).default([]),
    /** Replicas of the JetStream ingest stream: 1 for a single NATS server, 3 in production. */
    busReplicas: z.number().int().min(1).max(5).default(1),
    /** Name of the JetStream ingest stream (and so of its subjects); one per installation. */
    busStream: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .default("PUMPWATCH_INGEST"),
    /** How long a unit delivered to an ingest worker waits for its ack before another worker gets it. */
    busAckWaitMs: z.number().int().min(1000).default(30_000),
    /**
     * Partitions of the ingest log (pumps are hashed onto them; analytics workers share them out).
     * The same in every process; changing it re-homes pumps, so set it once, above the most analytics
     * workers you will run.
     */
    busPartitions: z.number().int().min(1).max(1024).default(16),
    /** An analytics worker's partition lease expires this long after its last renewal (failover time). */
    busLeaseMs: z.number().int().min(1000).max(300_000).default(10_000),
    /**
     * The hub name DPS hands to devices (`assignedHub`), e.g. the load balancer in front of the
     * gateways ("iot.example.com", or "host:port" for a port other than 8883). Default: `host` with
     * this process's MQTT port. Always accepted as a hub name in user names and SAS tokens.
     */
    assignedHub: z.string().min(1).optional(),
  })
  .strict();

export type Config = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables read by `loadConfig`, each mapped to a config key. */
const ENV_KEYS: Record<string, (v: string) => ConfigInput> = {
  PUMPWATCH_DATA: (v) => ({ data: v }),
  PUMPWATCH_HOST: (v) => ({ host: v }),
  PUMPWATCH_HOST_NAMES: (v) => ({ hostNames: v.split(",").filter(Boolean) }),
  PUMPWATCH_BIND: (v) => ({ bind: v }),
  PUMPWATCH_MQTT_PORT: (v) => ({ mqttPort: Number(v) }),
  PUMPWATCH_HTTPS_PORT: (v) => ({ httpsPort: Number(v) }),
  PUMPWATCH_DB: (v) => ({ db: v }),
  PUMPWATCH_LOG_LEVEL: (v) => ({ logLevel: v as "info" }),
  PUMPWATCH_MASTER_KEY: (v) => ({ masterKey: v }),
  PUMPWATCH_ID_SCOPE: (v) => ({ idScope: v }),
  PUMPWATCH_DEMO: (v) => ({ demo: v === "1" || v === "true" }),
  PUMPWATCH_PUBLIC_URL: (v) => ({ publicUrl: v }),
  PUMPWATCH_SMTP_HOST: (v) => ({ smtp: { host: v } as NonNullable<ConfigInput["smtp"]> }),
  PUMPWATCH_SMTP_PORT: (v) => ({ smtp: { port: Number(v) } as NonNullable<ConfigInput["smtp"]> }),
  PUMPWATCH_SMTP_USER: (v) => ({ smtp: { user: v } as NonNullable<ConfigInput["smtp"]> }),
  PUMPWATCH_SMTP_PASS: (v) => ({ smtp: { pass: v } as NonNullable<ConfigInput["smtp"]> }),
  PUMPWATCH_SMTP_FROM: (v) => ({ smtp: { from: v } as NonNullable<ConfigInput["smtp"]> }),
  PUMPWATCH_OFFLINE_AFTER_SEC: (v) => ({ analytics: { offlineAfterSec: Number(v) } }),
  PUMPWATCH_ROLE: (v) => ({ role: v as "all" }),
  PUMPWATCH_BUS: (v) => ({ bus: splitList(v) }),
  PUMPWATCH_BUS_REPLICAS: (v) => ({ busReplicas: Number(v) }),
  PUMPWATCH_BUS_STREAM: (v) => ({ busStream: v }),
  PUMPWATCH_BUS_ACK_WAIT_MS: (v) => ({ busAckWaitMs: Number(v) }),
  PUMPWATCH_BUS_PARTITIONS: (v) => ({ busPartitions: Number(v) }),
  PUMPWATCH_BUS_LEASE_MS: (v) => ({ busLeaseMs: Number(v) }),
  PUMPWATCH_ASSIGNED_HUB: (v) => ({ assignedHub: v }),
};

/** A comma-separated list, blanks dropped. */
export function splitList(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function merge(a: ConfigInput, b: ConfigInput): ConfigInput {
  return {
    ...a,
    ...b,
    tls: { ...a.tls, ...b.tls },
    limits: { ...a.limits, ...b.limits },
    retention: { ...a.retention, ...b.retention },
    analytics: { ...a.analytics, ...b.analytics },
    operator: { ...a.operator, ...b.operator },
    auth: { ...a.auth, ...b.auth },
    notifications: { ...a.notifications, ...b.notifications },
    security: { ...a.security, ...b.security },
    ...(a.smtp || b.smtp ? { smtp: { ...a.smtp, ...b.smtp } as NonNullable<ConfigInput["smtp"]> } : {}),
  };
}

export class ConfigError extends Error {}

/** Builds the frozen config: defaults ← file ← environment ← flags. Throws ConfigError saying what to fix. */
export function loadConfig(opts: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigInput;
}): Config {
  let input: ConfigInput = {};
  if (opts.file) {
    try {
      input = JSON.parse(readFileSync(opts.file, "utf8")) as ConfigInput;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${opts.file}: ${(err as Error).message}`);
    }
  }
  for (const [name, toInput] of Object.entries(ENV_KEYS)) {
    const value = opts.env?.[name];
    if (value !== undefined && value !== "") input = merge(input, toInput(value));
  }
  if (opts.flags) input = merge(input, opts.flags);
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid configuration — ${problems.join("; ")}`);
  }
  checkScaleOut(parsed.data);
  return deepFreeze(parsed.data);
}

/** The combinations of role, bus and database a process can run. */
function checkScaleOut(c: z.infer<typeof configSchema>): void {
  if (c.bus.length === 0 && c.role !== "all") {
    throw new ConfigError(`role '${c.role}' needs a bus: give --bus nats://host:4222 (docs/scale-out.md)`);
  }
  if (c.bus.length > 0 && !/^postgres(ql)?:\/\//.test(c.db)) {
    throw new ConfigError(
      "--bus needs a shared database: give --db postgres://… (several processes cannot share one SQLite file)",
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
