// exceljs 4.4's streaming reader walks the archive with a helper that stops at the unzipper's
// 'end' event — which the unzipper emits as soon as its input is written, while entries it has
// parsed still wait in its buffer. Under load the last entries were lost: `xl/workbook.xml`,
// which exceljs itself writes last, then `Cannot read properties of undefined (reading 'sheets')`
// (exceljs#3064, unfixed upstream). This subclass replaces that one loop: Node's own async
// iterator reads the buffer dry before it stops. The parts are still handed to exceljs's parsers,
// so cell values, styles and dates are read exactly as before.
import { createReadStream, createWriteStream, promises as fs, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import type ExcelJS from "exceljs"
import * as unzipper from "unzipper"

type Event = { readonly eventType: string; readonly value: unknown }

// What the subclass uses of exceljs's reader beyond its typings (present since exceljs 4.0).
interface Internals {
  readonly input: unknown
  readonly sharedStrings: unknown
  readonly workbookRels: unknown
  readonly model: unknown
  _getStream(input: unknown): Readable
  _parseRels(entry: Readable): Promise<void>
  _parseWorkbook(entry: Readable): Promise<void>
  _parseSharedStrings(entry: Readable): AsyncIterable<Event>
  _parseStyles(entry: Readable): Promise<void>
  _parseWorksheet(rows: AsyncIterable<unknown>, sheetNo: string): Iterable<Event>
}

const worksheetPath = /^xl\/worksheets\/sheet(\d+)\.xml$/

/** exceljs's streaming workbook reader, with an archive walk that loses no entry. */
export interface WorkbookReader extends ExcelJS.stream.xlsx.WorkbookReader {
  /** Stops a walk under way (one waiting on a damaged part too) and removes its temporary files. */
  release(): void
}

type Constructor = new (input: Readable, options: Partial<ExcelJS.stream.xlsx.WorkbookStreamReaderOptions>) => WorkbookReader

let defined: Constructor | undefined

export const workbookReader = (excel: typeof ExcelJS): Constructor =>
  (defined ??= class extends excel.stream.xlsx.WorkbookReader {
    private readonly stop = new AbortController()
    private parkedIn: string | undefined

    release(): void {
      this.stop.abort()
      // At once, not later: a process that ends right after an import must not leave the files.
      if (this.parkedIn !== undefined) rmSync(this.parkedIn, { recursive: true, force: true })
    }

    override async *parse(): AsyncGenerator<Event> {
      const self = this as unknown as Internals
      const zip = unzipper.Parse({ forceStream: true })
      self._getStream(self.input).pipe(zip)
      // A worksheet stored before the shared strings (exceljs and Excel both write it so) is put
      // aside in a temporary file and read once the whole archive has been seen.
      const parked: Array<{ readonly sheetNo: string; readonly path: string }> = []
      try {
        // Not destroyed at the end: the unzipper has not truly ended then, and would report an abort.
        for await (const item of zip.iterator({ destroyOnReturn: false })) {
          const entry = item as unzipper.Entry
          const sheet = worksheetPath.exec(entry.path)?.[1]
          if (entry.path === "xl/_rels/workbook.xml.rels") await self._parseRels(entry)
          else if (entry.path === "xl/workbook.xml") await self._parseWorkbook(entry)
          else if (entry.path === "xl/sharedStrings.xml") yield* self._parseSharedStrings(entry)
          else if (entry.path === "xl/styles.xml") await self._parseStyles(entry)
          else if (sheet !== undefined) {
            if (self.sharedStrings !== undefined && self.workbookRels !== undefined && self.model !== undefined) {
              yield* self._parseWorksheet(entry, sheet)
            } else {
              this.parkedIn ??= await fs.mkdtemp(join(tmpdir(), "rapport-xlsx-"))
              const path = join(this.parkedIn, `sheet${sheet}.xml`)
              await pipeline(entry, createWriteStream(path), { signal: this.stop.signal })
              parked.push({ sheetNo: sheet, path })
            }
          }
          entry.autodrain()
        }
        for (const { sheetNo, path } of parked) {
          // A sheet passed over is destroyed unread, and a read stopped early removes the files
          // (`release`) while a stream may still be opening its own: errors then go to its reader,
          // when it has one, never to the process as an unhandled 'error' event.
          const rows = createReadStream(path).on("error", () => undefined)
          yield* self._parseWorksheet(rows, sheetNo)
        }
      } finally {
        zip.destroy()
        this.release()
      }
    }
  })
