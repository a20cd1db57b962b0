import { randomBytes } from "node:crypto";
import { createSecretBox } from "../../src/core/secrets.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import {
  createSchema,
  describePostgres,
  dropSchema,
  freshPostgresStores,
  PG_URL,
} from "../helpers/postgres.js";
import { tenancyContract } from "../helpers/tenancy-contract.js";

await describePostgres("postgres tenancy store", () => {
  tenancyContract(
    "postgres",
    () => freshPostgresStores(createSecretBox(randomBytes(32))),
    async () => {
      // Two pools on one fresh schema, as two pumpwatch processes would have.
      const schema = await createSchema();
      const box = createSecretBox(randomBytes(32));
      const a = openPostgresStores(PG_URL, box, { schema });
      const b = openPostgresStores(PG_URL, box, { schema });
      await Promise.all([a.ready, b.ready]);
      return {
        a: a.tenancy,
        b: b.tenancy,
        async close() {
          await Promise.all([a.close(), b.close()]);
          await dropSchema(schema);
        },
      };
    },
  );
});
