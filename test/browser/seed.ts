import { hashPassword } from "../../src/auth/password.js";
import { generateKey } from "../../src/core/keys.js";
import type { Sample } from "../../src/core/sample.js";
import type { UserRole } from "../../src/store/ports.js";
import { rng } from "../helpers/random.js";
import type { TestServer } from "../helpers/server.js";

/**
 * Data for the dashboard in a browser (dashboard.test.ts and screenshots.ts), written through the
 * stores and the API as the server would have it: a company with a contract and users, pumps with
 * model labels, a year of ten-minute telemetry for one pump (compacted, so rollups exist) and an
 * active alarm.
 */

export const PASSWORD = "correct horse battery staple";
export const YEAR_MS = 365 * 86_400_000;
export const SPACING_MS = 10 * 60_000;

export interface SeededCompany {
  company: string;
  adminEmail: string;
  adminId: string;
  pumps: string[];
  /** The pump with a year of telemetry. */
  pump: string;
  alarm: number;
}

export async function createCompany(s: TestServer, id: string, name: string, address: string): Promise<void> {
  await s.stores.tenancy.createCompany({ id, name, postalAddress: address }, Date.now());
  const res = await s.api(`/api/companies/${id}/contract`, { method: "PUT", body: { start: "2025-01-01" } });
  if (res.status !== 200) throw new Error(`contract for ${id}: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function createUser(
  s: TestServer,
  company: string | null,
  role: UserRole,
  email: string,
  name = email,
): Promise<string> {
  const user = await s.stores.tenancy.createUser(
    {
      id: `u_${company ?? "operator"}_${role}_${email.replace(/\W/g, "")}`.slice(0, 60),
      companyId: company,
      role,
      email,
      phone: "+49 89 1234567",
      postalAddress: name,
      passwordHash: await hashPassword(PASSWORD),
    },
    Date.now(),
  );
  return user.id;
}

export async function createPump(
  s: TestServer,
  company: string,
  id: string,
  fields: { model?: string; pumpType?: string; serial?: string } = {},
): Promise<void> {
  await s.stores.registry.createDevice({
    id,
    primaryKey: generateKey(32),
    secondaryKey: generateKey(32),
    enrollmentKind: "manual",
    companyId: company,
    model: fields.model ?? null,
    pumpType: fields.pumpType ?? null,
    serial: fields.serial ?? null,
  });
}

/**
 * Plausible readings of a rotary-vane pump every ten minutes from `from` to `to`: a day/night duty
 * cycle, seasonal ambient temperature, noise, and vibration slowly rising over the year (wear).
 */
export function telemetry(from: number, to: number, seed = 7): Sample[] {
  const r = rng(seed);
  const out: Sample[] = [];
  const span = to - from;
  for (let ts = from; ts <= to; ts += SPACING_MS) {
    const hour = (ts / 3_600_000) % 24;
    const day = ts / 86_400_000;
    const duty = hour >= 6 && hour < 22 ? 1 : 0.35;
    const season = Math.sin(((day % 365) / 365) * 2 * Math.PI);
    const wear = (ts - from) / span;
    const ambient = 21 + 5 * season + 2 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + r() * 0.6;
    const power = 3.2 + 3.1 * duty + r() * 0.4;
    out.push({
      ts,
      values: {
        inletPressure: +(2.5 + 1.5 * (1 - duty) + r() * 0.5 + wear * 0.8).toFixed(3),
        exhaustPressure: +(1013 + 25 * duty + r() * 4 + wear * 12).toFixed(2),
        oilTemperature: +(ambient + 38 + 12 * duty + r() * 1.5 + wear * 4).toFixed(2),
        motorTemperature: +(ambient + 28 + 15 * duty + r() * 1.5).toFixed(2),
        ambientTemperature: +ambient.toFixed(2),
        motorCurrent: +(power * 1.9 + r() * 0.3).toFixed(2),
        power: +power.toFixed(3),
        vibration: +(1.6 + 0.5 * duty + wear * 1.6 + r() * 0.35).toFixed(3),
      },
    });
  }
  return out;
}

/** Commits samples in batches of ~5000, as the ingest pipeline would, then compacts. */
export async function commitTelemetry(s: TestServer, deviceId: string, samples: Sample[]): Promise<void> {
  const BATCH = 5000;
  for (let i = 0; i < samples.length; i += BATCH) {
    const batch = samples.slice(i, i + BATCH);
    await s.stores.telemetry.commit([
      {
        kind: "accept",
        deviceId,
        messageId: `${deviceId}-seed-${i}`,
        receivedAt: batch[batch.length - 1]!.ts,
        samples: batch,
      },
    ]);
  }
  await s.stores.telemetry.compact(Date.now());
}

/** The company of dashboard.test.ts: an admin, three pumps, a year of data and an active alarm. */
export async function seedCompany(s: TestServer, now = Date.now()): Promise<SeededCompany> {
  const company = "acme";
  await createCompany(s, company, "ACME Vakuumtechnik GmbH", "Industriestraße 12\n70565 Stuttgart");
  const adminEmail = "admin@acme.test";
  const adminId = await createUser(s, company, "companyAdmin", adminEmail);
  const pumps = ["acme-rv-01", "acme-rv-02", "acme-sc-01"];
  await createPump(s, company, pumps[0]!, {
    model: "RV-630 rotary vane",
    pumpType: "rotaryVane",
    serial: "RV630-1001",
  });
  await createPump(s, company, pumps[1]!, {
    model: "RV-300 rotary vane",
    pumpType: "rotaryVane",
    serial: "RV300-2002",
  });
  await createPump(s, company, pumps[2]!, { model: "SC-100 screw", pumpType: "screw", serial: "SC100-3003" });
  const pump = pumps[0]!;
  await commitTelemetry(s, pump, telemetry(now - YEAR_MS, now - 60_000));
  const raised = await s.stores.analytics.raiseAlarm({
    deviceId: pump,
    type: "rule:oilTemp",
    severity: "alarm",
    ts: now - 30 * 60_000,
    message: "Oil temperature above 85 °C",
    signals: ["oilTemperature"],
    diagnosis: null,
  });
  return { company, adminEmail, adminId, pumps, pump, alarm: raised.alarm.id };
}
