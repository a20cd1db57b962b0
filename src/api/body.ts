import type { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { checkPasswordPolicy } from "../auth/password.js";
import { PumpwatchError } from "../core/errors.js";
import type { MailLocale } from "../notify/mailer.js";

/** Small request-body checks of the people's routes; each error says what to send instead. */

export function bad(message: string): PumpwatchError {
  return new PumpwatchError("BAD_REQUEST", message);
}

export function obj(raw: unknown, hint: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(`send a JSON object: ${hint}`);
  const b = raw as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!allowed.includes(key)) {
      throw bad(`unknown field "${key}"; allowed are ${allowed.map((a) => `"${a}"`).join(", ")}`);
    }
  }
  return b;
}

export function str(value: unknown, field: string, max = 1000): string {
  if (typeof value !== "string" || value === "") throw bad(`"${field}" must be a non-empty string`);
  if (value.length > max) throw bad(`"${field}" is too long (at most ${max} characters)`);
  return value;
}

export function locale(value: unknown): MailLocale {
  return value === "en" ? "en" : "de";
}

export function password(value: unknown, field: string): string {
  const pw = str(value, field, 1024);
  const policy = checkPasswordPolicy(pw);
  if (!policy.ok) throw bad(`"${field}": ${policy.message}`);
  return pw;
}

/** Streams a zip download (an export) with headers that keep it out of caches. */
export function sendZip(reply: FastifyReply, name: string, stream: Readable) {
  reply.header("content-type", "application/zip");
  reply.header("content-disposition", `attachment; filename="${name}"`);
  reply.header("cache-control", "no-store");
  return reply.send(stream);
}
