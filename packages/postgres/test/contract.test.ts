import { PostgresStorage } from "@rapport/postgres"
import { storageSuite } from "@rapport/testing"
import { describe, it } from "vitest"
import { available, pgUrl, skipReason } from "./database.js"

// One database serves the suite: every test works in a workspace of its own.
if (available) storageSuite(PostgresStorage.layer({ url: pgUrl }), { name: "postgres" })
else describe.skip(`postgres — storage contract (${skipReason})`, () => it("runs against PostgreSQL", () => {}))
