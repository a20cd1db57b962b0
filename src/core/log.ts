import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Paths pino censors in every log line: keys, tokens and SAS signatures, and the personal data the
 * tenancy model holds (e-mail, phone, postal address), so no log ever carries them.
 */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "pass",
  "*.pass",
  "token",
  "*.token",
  "key",
  "*.key",
  "primaryKey",
  "*.primaryKey",
  "secondaryKey",
  "*.secondaryKey",
  "groupKey",
  "*.groupKey",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "email",
  "*.email",
  "phone",
  "*.phone",
  "address",
  "*.address",
  "postalAddress",
  "*.postalAddress",
  "passwordHash",
  "*.passwordHash",
];

export function createLogger(opts: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: "pumpwatch" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
