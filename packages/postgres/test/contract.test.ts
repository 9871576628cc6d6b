import { PostgresStorage } from "@rapport/postgres"
import { storageSuite } from "@rapport/testing"
import { describe, it } from "vitest"
import { available, pgUrl, skipReason } from "./database.js"

// One database serves the suite: every test works in a workspace of its own.
if (available) storageSuite(PostgresStorage.layer({ url: pgUrl }), { name: "postgres" })
// Skipped only where no PostgreSQL answers (database.ts prints why); CI sets RAPPORT_REQUIRE_PG=1,
// which fails instead, and fails on any skipped test.
else describe.skip(`postgres — storage contract (${skipReason})`, () => it("runs against PostgreSQL", () => {}))
