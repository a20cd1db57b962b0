import { randomBytes } from "node:crypto";
import { createSecretBox } from "../../src/core/secrets.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { analyticsContract } from "../helpers/analytics-contract.js";
import {
  createSchema,
  describePostgres,
  dropSchema,
  freshPostgresStores,
  PG_URL,
} from "../helpers/postgres.js";

await describePostgres("postgres analytics store", () => {
  analyticsContract(
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
        a: a.analytics,
        b: b.analytics,
        async close() {
          await Promise.all([a.close(), b.close()]);
          await dropSchema(schema);
        },
      };
    },
  );
});
