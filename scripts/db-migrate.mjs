// `npm run db:migrate`: applies migrations/ to DATABASE_URL, or to the embedded development
// database (starting it for the duration) when DATABASE_URL is not set.
import path from "node:path";
import { migrateDatabase, root, startPostgres } from "./local-stack.mjs";

if (process.env.DATABASE_URL) {
  await migrateDatabase(process.env.DATABASE_URL);
} else {
  const postgres = await startPostgres({
    dataDir: path.join(root, ".data", "postgres"),
    port: Number(process.env.PGPORT ?? 54329),
    database: "onsale",
  });
  try {
    await migrateDatabase(postgres.url);
  } finally {
    await postgres.stop();
  }
}
console.log("migrations applied");
