import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILTIN_SIGNALS } from "../../src/ingest/telemetry.js";
import {
  DATA_INVENTORY,
  PERSONAL_FIELDS,
  type PersonalField,
  type PrivacyDocument,
  type PrivacyInput,
  type PrivacyLocale,
  privacyInformation,
  privacyMarkdown,
  resolvedInventory,
} from "../../src/tenancy/privacy.js";

/** The only personal data pumpwatch may hold: a user's contact details. Change only with the model. */
const ALLOWED_USER_PERSONAL: readonly string[] = ["email", "phone", "postalAddress"];

function input(locale: PrivacyLocale, over: Partial<PrivacyInput> = {}): PrivacyInput {
  return {
    locale,
    operator: {
      name: "Beispiel GmbH",
      address: "Hauptstraße 1, 79689 Maulburg",
      contact: "privacy@example.com",
    },
    retention: { rawDays: 731, rollupDays: 3653 },
    exportGraceDays: 29,
    personalFields: PERSONAL_FIELDS,
    securityEventDays: 90,
    ...over,
  };
}

function text(doc: PrivacyDocument): string {
  return JSON.stringify(doc);
}

describe("DATA_INVENTORY", () => {
  it("holds personal data only as the three user contact fields", () => {
    for (const c of resolvedInventory()) {
      for (const i of c.items) {
        if (i.personal === null) continue;
        assert.equal(
          c.id,
          "user",
          `personal field ${i.personal} outside the user category (${c.id}.${i.key})`,
        );
        assert.ok(ALLOWED_USER_PERSONAL.includes(i.personal), `unknown personal field ${i.personal}`);
      }
    }
    assert.deepEqual([...PERSONAL_FIELDS].sort(), [...ALLOWED_USER_PERSONAL].sort());
    const user = DATA_INVENTORY.find((c) => c.id === "user")!;
    assert.deepEqual(user.items.map((i) => i.personal).sort(), [...ALLOWED_USER_PERSONAL].sort());
    assert.ok(
      user.items.every((i) => i.personal !== null),
      "the user category holds nothing but the personal fields",
    );
  });

  it("lists the company, user, account, device, telemetry, analytics and operational categories", () => {
    assert.deepEqual(
      DATA_INVENTORY.map((c) => c.id),
      ["company", "user", "account", "device", "telemetry", "analytics", "operations"],
    );
    const telemetry = resolvedInventory().find((c) => c.id === "telemetry")!;
    assert.deepEqual(
      telemetry.items.map((i) => i.key),
      BUILTIN_SIGNALS.map((s) => s.name),
    );
  });
});

describe("privacyInformation", () => {
  for (const locale of ["de", "en"] as const) {
    it(`${locale}: names every category, personal field, signal and the retention numbers`, () => {
      const doc = privacyInformation(input(locale));
      const all = text(doc);
      assert.equal(doc.locale, locale);
      for (const c of resolvedInventory()) {
        assert.ok(all.includes(c.label[locale]), `category ${c.id} missing`);
        for (const i of c.items) assert.ok(all.includes(i.label[locale]), `item ${c.id}.${i.key} missing`);
      }
      for (const s of BUILTIN_SIGNALS) assert.ok(all.includes(s.name), `signal ${s.name} missing`);
      for (const n of ["731", "3653", "29"]) assert.ok(all.includes(n), `number ${n} missing`);
      assert.ok(all.includes("Beispiel GmbH") && all.includes("privacy@example.com"));
      assert.ok(all.includes("AES-256-GCM") && all.includes("TLS") && all.includes("SAS"));
      assert.deepEqual(doc.generatedFrom.retention, { rawDays: 731, rollupDays: 3653 });
      assert.equal(doc.generatedFrom.exportGraceDays, 29);
      assert.deepEqual(doc.generatedFrom.categories, [
        "company",
        "user",
        "account",
        "device",
        "telemetry",
        "analytics",
        "operations",
      ]);
      const ids = doc.sections.map((s) => s.id);
      assert.deepEqual(ids, [
        "controller",
        "data",
        "collection",
        "purpose",
        "transmission",
        "retention",
        "termination",
        "rights",
      ]);
      for (const s of doc.sections) {
        if (!s.table) continue;
        for (const r of s.table.rows) assert.equal(r.length, s.table.columns.length, `${s.id} row width`);
      }
    });
  }

  it("mentions only the personal fields the installation collects", () => {
    const doc = privacyInformation(input("en", { personalFields: ["email"] }));
    const all = text(doc);
    assert.ok(all.includes("E-mail address"));
    assert.ok(!all.includes("Phone number") && !all.includes("phone number"));
    assert.deepEqual(doc.generatedFrom.personalFields, ["email"]);
  });

  it("rejects unknown personal fields and bad numbers", () => {
    assert.throws(
      () => privacyInformation(input("de", { personalFields: ["birthday" as PersonalField] })),
      /unknown personal field/,
    );
    assert.throws(() => privacyInformation(input("de", { retention: { rawDays: 0, rollupDays: 10 } })));
    assert.throws(() => privacyInformation(input("de", { exportGraceDays: 1.5 })));
  });

  it("German text has no English section headings and none of its own headings are English", () => {
    const en = privacyInformation(input("en"));
    const de = privacyInformation(input("de"));
    const deText = text(de);
    for (const s of en.sections)
      assert.ok(!deText.includes(s.heading), `English heading in German: ${s.heading}`);
    assert.ok(!deText.includes(en.title));
    for (const w of [" the ", " and ", " data is ", " your "])
      assert.ok(!deText.includes(w), `English "${w}"`);
    assert.match(deText, /Sie /);
  });
});

describe("privacyMarkdown", () => {
  for (const locale of ["de", "en"] as const) {
    it(`${locale}: renders title, every section, paragraph and table`, () => {
      const doc = privacyInformation(input(locale));
      const md = privacyMarkdown(doc);
      assert.ok(md.startsWith(`# ${doc.title}\n`));
      for (const s of doc.sections) {
        assert.ok(md.includes(`\n## ${s.heading}\n`), `section ${s.id} missing`);
        for (const p of s.paragraphs) assert.ok(md.includes(p), `paragraph of ${s.id} missing`);
        if (s.table) assert.ok(md.includes(`| ${s.table.columns.join(" | ")} |`), `table of ${s.id} missing`);
      }
      assert.equal((md.match(/^## /gm) ?? []).length, doc.sections.length);
    });
  }

  it("escapes pipes in table cells", () => {
    const doc: PrivacyDocument = {
      ...privacyInformation(input("en")),
      sections: [{ id: "x", heading: "X", paragraphs: [], table: { columns: ["a|b"], rows: [["c|d"]] } }],
    };
    const md = privacyMarkdown(doc);
    assert.ok(md.includes("| a\\|b |") && md.includes("| c\\|d |"));
  });
});
