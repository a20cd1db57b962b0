import { randomBytes } from "node:crypto";
import { createSecretBox } from "../../src/core/secrets.js";
import { analyticsContract } from "../helpers/analytics-contract.js";
import { describePostgres, freshPostgresStores, postgresPair } from "../helpers/postgres.js";

await describePostgres("postgres analytics store", () => {
  analyticsContract(
    "postgres",
    () => freshPostgresStores(createSecretBox(randomBytes(32))),
    () => postgresPair("analytics"),
  );
});
