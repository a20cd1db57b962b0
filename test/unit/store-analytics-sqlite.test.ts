import { analyticsContract } from "../helpers/analytics-contract.js";
import { openTestSqlite, sqlitePair } from "../helpers/sqlite.js";
import { tempFiles } from "../helpers/temp.js";

const tempDb = tempFiles("pumpwatch-analytics-", "pumpwatch.db");

analyticsContract(
  "sqlite",
  async () => openTestSqlite(await tempDb()),
  async () => sqlitePair(await tempDb(), "analytics"),
);
