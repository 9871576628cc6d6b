import { PostgresStorage } from "@rapport/postgres"
import { hostileInputSuite } from "@rapport/testing/contract"
import { describe, it } from "vitest"
import { available, pgUrl, skipReason } from "./database.js"

// One database serves the suite: every run works in a workspace of its own.
if (available) hostileInputSuite(PostgresStorage.layer({ url: pgUrl }), { name: "postgres" })
// Skipped only where no PostgreSQL answers (database.ts prints why); CI sets RAPPORT_REQUIRE_PG=1,
// which fails instead, and fails on any skipped test.
else describe.skip(`postgres — hostile input (${skipReason})`, () => it("runs against PostgreSQL", () => {}))
