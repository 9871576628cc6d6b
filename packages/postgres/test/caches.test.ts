import { postgresStorage } from "@rapport/postgres"
import { sharedDatabaseSuite } from "@rapport/testing/contract"
import { randomUUID } from "node:crypto"
import { describe, it } from "vitest"
import { available, pgUrl, skipReason } from "./database.js"

// Two clients with pools of their own, as two app instances would have, in a workspace of the test's own.
const workspace = `caches-${randomUUID()}`
if (available) sharedDatabaseSuite({ name: "postgres", client: () => ({ storage: postgresStorage({ url: pgUrl }), workspace }) })
// Skipped (and said so) only on a machine with no PostgreSQL; CI sets RAPPORT_REQUIRE_PG=1, which fails instead.
else describe.skip(`postgres — two clients on one database (${skipReason})`, () => it("runs against PostgreSQL", () => {}))
