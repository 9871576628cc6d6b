// exceljs costs about 28 MB of memory once loaded: it is loaded when a workbook is first read or
// written, so that CSV and vCard imports do not pay for it.
import type ExcelJS from "exceljs"

let loading: Promise<typeof ExcelJS> | undefined

export const loadExcel = (): Promise<typeof ExcelJS> => (loading ??= import("exceljs").then((module) => module.default))
