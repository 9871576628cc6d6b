import { MemoryStorage } from "@rapport/core"
import { storageSuite } from "@rapport/testing"

storageSuite(MemoryStorage.layer, { name: "memory" })
