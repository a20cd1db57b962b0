import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeTelemetry } from "../../src/ingest/telemetry.js";
import { runSimCli } from "../../src/sim/cli.js";
import { simulatePump } from "../../src/sim/fleet.js";
import { loadScenario, parseScenario, ScenarioError } from "../../src/sim/scenario.js";

const DEMO = fileURLToPath(new URL("../../scenarios/demo.json", import.meta.url));
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const valid = () => ({
  fleet: { name: "t", start: "2026-06-01T06:00:00Z", seed: 1 },
  companies: [
    {
      id: "acme",
      name: "ACME",
      assets: [{ id: "p-1", model: "RV100", duty: { type: "continuous", pressure: 50 } }],
    },
  ],
});

// biome-ignore lint/suspicious/noExplicitAny: the tests poke invalid values into arbitrary JSON paths
type Loose = any;

/** Applies `edit` to a valid scenario and returns the problems the loader reports. */
function problems(edit: (s: Loose) => void): string[] {
  const s: Loose = valid();
  edit(s);
  try {
    parseScenario(s);
  } catch (err) {
    assert.ok(err instanceof ScenarioError, String(err));
    return [...err.problems];
  }
  assert.fail("expected a ScenarioError");
}

function assertProblem(list: string[], path: string, part: string): void {
  assert.ok(
    list.some((p) => p.startsWith(`${path}: `) && p.includes(part)),
    `expected "${path}: …${part}…" in\n${list.join("\n")}`,
  );
}

describe("simulator scenarios", () => {
  it("loads demo.json: a dozen pumps of the three types across two companies, live at ×60", () => {
    const s = loadScenario(DEMO);
    const assets = s.companies.flatMap((c) => c.assets);
    assert.equal(s.companies.length, 2);
    assert.ok(assets.length >= 10 && assets.length <= 14);
    assert.deepEqual(new Set(assets.map((a) => a.model)), new Set(["RV100", "SCREW100", "CLAW100"]));
    assert.deepEqual(
      new Set(assets.map((a) => a.duty.type)),
      new Set(["continuous", "packaging", "receiver"]),
    );
    assert.equal(s.fleet.acceleration, 60);
  });

  it("applies documented defaults", () => {
    const s = parseScenario(valid());
    const a = s.companies[0]!.assets[0]!;
    assert.equal(s.fleet.acceleration, 60);
    assert.deepEqual(a.faults, []);
    assert.equal(a.duty.type === "continuous" && a.duty.variability, 0.1);
  });

  it("names the path of a bad value", () => {
    assertProblem(
      problems((s) => (s.companies[0].assets[0].duty.pressure = -5)),
      "companies[0].assets[0].duty.pressure",
      "greater than 0",
    );
    assertProblem(
      problems((s) => (s.companies[0].assets[0].model = "R5")),
      "companies[0].assets[0].model",
      "RV100",
    );
    assertProblem(
      problems((s) => (s.fleet.start = "yesterday")),
      "fleet.start",
      "ISO-8601",
    );
    assertProblem(
      problems((s) => (s.companies[0].assets[0].id = "Pump 1")),
      "companies[0].assets[0].id",
      "lower-case",
    );
    assertProblem(
      problems((s) => (s.companies[0].assets[0].params = { pFrW: 1, colour: 2 })),
      "companies[0].assets[0].params",
      "colour",
    );
    assertProblem(
      problems((s) => delete (s.fleet as Partial<typeof s.fleet>).seed),
      "fleet.seed",
      "Required",
    );
  });

  it("names the path of a bad fault or maintenance entry", () => {
    const fault = (f: object) =>
      problems((s) => ((s.companies[0].assets[0] as Record<string, unknown>).faults = [f]));
    assertProblem(
      fault({ type: "gremlins", at: "+1h" }),
      "companies[0].assets[0].faults[0].type",
      "exhaustFilterSaturation",
    );
    assertProblem(fault({ type: "leak", at: "in an hour" }), "companies[0].assets[0].faults[0].at", "+3h");
    assertProblem(
      fault({ type: "sensorDrift", at: "+1h", signal: "oilTemperature" }),
      "companies[0].assets[0].faults[0].ratePerHour",
      "Required",
    );
    assertProblem(
      fault({ type: "leak", at: "+1h", fraction: 0.2, rate: 3 }),
      "companies[0].assets[0].faults[0]",
      "rate",
    );
    assertProblem(
      problems(
        (s) =>
          ((s.companies[0].assets[0] as Record<string, unknown>).maintenance = [
            { at: "+1d", action: "prayer" },
          ]),
      ),
      "companies[0].assets[0].maintenance[0].action",
      "oilChange",
    );
  });

  it("rejects faults the model cannot have, unknown sensor signals and duplicate ids", () => {
    const claw = problems((s) => {
      const a = s.companies[0].assets[0] as Record<string, unknown>;
      a.model = "CLAW100";
      a.signals = ["vibration"];
      a.faults = [
        { type: "exhaustFilterSaturation", at: "+1h" },
        { type: "sensorStuck", at: "+1h", signal: "oilTemperature" },
      ];
    });
    assertProblem(claw, "companies[0].assets[0].faults[0].type", "oil-sealed");
    assertProblem(claw, "companies[0].assets[0].faults[1].signal", "oilTemperature");
    const dup = problems((s) => s.companies[0].assets.push({ ...s.companies[0].assets[0] }));
    assertProblem(dup, "companies[0].assets[1].id", "duplicate");
    assertProblem(
      problems((s) => (s.companies[0].assets[0].duty = { type: "receiver", low: 300, high: 200 } as never)),
      "companies[0].assets[0].duty.high",
      "below",
    );
  });

  it("reports unreadable files and invalid JSON with the file name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pumpwatch-sim-"));
    dirs.push(dir);
    assert.throws(
      () => loadScenario(join(dir, "missing.json")),
      (e: Error) => e instanceof ScenarioError && e.message.includes("missing.json"),
    );
    await writeFile(join(dir, "bad.json"), "{ fleet: }");
    assert.throws(() => loadScenario(join(dir, "bad.json")), /bad\.json is not valid JSON/);
  });

  it("builds a stand-alone healthy pump per model and lists the models when one is unknown", () => {
    for (const model of ["RV100", "SCREW100", "CLAW100"]) {
      const pump = simulatePump(model, { id: "box-1", start: Date.UTC(2026, 5, 1) });
      const s = pump.read(Date.UTC(2026, 5, 1, 0, 1));
      assert.ok(s === undefined || s.values.running !== undefined);
    }
    assert.throws(
      () => simulatePump("R5", { id: "box-1", start: 0 }),
      /known models: RV100, SCREW100, CLAW100/,
    );
  });

  it("the CLI writes telemetry that ingest accepts, ground truth next to it and the event log", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pumpwatch-sim-"));
    dirs.push(dir);
    const out: string[] = [];
    const code = runSimCli(
      [DEMO, "--out", dir, "--days", "0.5"],
      (s) => out.push(s),
      (s) => out.push(s),
    );
    assert.equal(code, 0, out.join(""));
    assert.equal(JSON.parse(out.join("")).assets, 12);
    const lines = (await readFile(join(dir, "telemetry", "af-rv-04.jsonl"), "utf8")).trim().split("\n");
    assert.ok(lines.length > 700);
    const opts = { nowMs: Date.parse("2030-01-01T00:00:00Z"), maxFutureMs: 0, maxSamples: 10_000 };
    const decoded = decodeTelemetry(Buffer.from(`{"samples":[${lines.join(",")}]}`), opts);
    assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
    const truth = JSON.parse((await readFile(join(dir, "truth", "af-rv-04.jsonl"), "utf8")).split("\n")[0]!);
    assert.equal(truth.ts, JSON.parse(lines[0]!).ts);
    assert.ok("filterSaturation" in truth.state && "oilTemperature" in truth.values);
    const events = (await readFile(join(dir, "truth", "events.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.kind === "trip" && e.assetId === "nh-screw-02"));
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    assert.equal(manifest.stepSeconds, 60);
    assert.equal(
      runSimCli(
        ["nope.json"],
        () => {},
        () => {},
      ),
      1,
    );
  });
});
