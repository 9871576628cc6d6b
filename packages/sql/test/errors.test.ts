import { describe, expect, it } from "@effect/vitest"
import { SqlError } from "@effect/sql/SqlError"
import { isUnavailable, isUniqueViolation, storageError } from "../src/internal/errors.js"

const driverError = (code: string, message = "driver failure") => new SqlError({ cause: Object.assign(new Error(message), { code }) })

describe("driver errors", () => {
  it("recognises unique violations of both dialects", () => {
    expect(isUniqueViolation(driverError("SQLITE_CONSTRAINT_UNIQUE"))).toBe(true)
    expect(isUniqueViolation(driverError("SQLITE_CONSTRAINT_PRIMARYKEY"))).toBe(true)
    expect(isUniqueViolation(driverError("23505"))).toBe(true)
    expect(isUniqueViolation(driverError("SQLITE_CONSTRAINT_NOTNULL"))).toBe(false)
  })

  it("tells a lost or busy database (retry later) from a refused statement", () => {
    for (const code of ["SQLITE_BUSY", "SQLITE_CANTOPEN", "57P01", "08006", "ECONNREFUSED", "ECONNRESET"]) {
      expect(isUnavailable(driverError(code)), code).toBe(true)
    }
    expect(isUnavailable(new SqlError({ cause: new Error("Connection terminated unexpectedly") }))).toBe(true)
    expect(isUnavailable(driverError("42P01"))).toBe(false)
    expect(storageError(driverError("SQLITE_BUSY"))).toMatchObject({ _tag: "StorageError", reason: "unavailable", code: "STORAGE_UNAVAILABLE" })
    expect(storageError(driverError("SQLITE_ERROR", "no such table: x"))).toMatchObject({ reason: "failed", code: "STORAGE_FAILED" })
    expect(storageError(driverError("SQLITE_ERROR", "no such table: x")).message).toContain("no such table: x")
  })
})
