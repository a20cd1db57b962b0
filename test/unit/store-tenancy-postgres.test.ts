import { randomBytes } from "node:crypto";
import { createSecretBox } from "../../src/core/secrets.js";
import { describePostgres, freshPostgresStores, postgresPair } from "../helpers/postgres.js";
import { tenancyContract } from "../helpers/tenancy-contract.js";

await describePostgres("postgres tenancy store", () => {
  tenancyContract(
    "postgres",
    () => freshPostgresStores(createSecretBox(randomBytes(32))),
    () => postgresPair("tenancy"),
  );
});
