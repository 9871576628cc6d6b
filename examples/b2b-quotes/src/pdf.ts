// The quote as a PDF (pdf-lib), attached to the mail that sends it and to every follow-up by mail.
// One page: the seller, the customer with its legal details, the lines, totals with VAT, the terms.
import { PDFDocument, rgb, StandardFonts } from "pdf-lib"

/** What a quote PDF shows. Amounts are integer minor units (cents). */
export interface QuoteDocument {
  readonly quoteRef: string
  readonly title: string
  readonly issuedOn: string
  readonly validUntil: string
  readonly seller: { readonly name: string; readonly address: string; readonly siret: string; readonly vatNumber: string }
  readonly customer: {
    readonly company: string | null
    readonly contact: string
    readonly email: string | null
    readonly siret: string | null
    readonly vatNumber: string | null
    readonly paymentTerms: string | null
  }
  readonly lines: ReadonlyArray<{ readonly description: string; readonly quantity: number; readonly unitPriceMinor: number }>
  readonly currency: string
  readonly vatRatePercent: number
}

const money = (minor: number, currency: string) =>
  new Intl.NumberFormat("fr-FR", { style: "currency", currency }).format(minor / 100)

// The standard fonts speak WinAnsi (Latin-1 and a few more): "Søren", "Lefèvre" and "€" are in it,
// the narrow spaces Intl puts in French amounts are not, and a name in another script would throw.
const WIN_ANSI_EXTRAS = new Set([..."€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"])
// Letters NFD does not take apart.
const PLAIN: Record<string, string> = { Ł: "L", ł: "l", Đ: "D", đ: "d", ı: "i" }
const printable = (text: string) =>
  [...text.replace(/[\u202f\u00a0\u2009]/g, " ")]
    .map((c) => PLAIN[c] ?? c)
    .map((c) => (c.charCodeAt(0) <= 0xff || WIN_ANSI_EXTRAS.has(c) ? c : c.normalize("NFD").replace(/[\u0300-\u036f]/g, "")))
    .map((c) => (c.length === 1 && (c.charCodeAt(0) <= 0xff || WIN_ANSI_EXTRAS.has(c)) ? c : "?"))
    .join("")

/** Renders the quote; the PDF's title is "Devis <ref>" and its subject the quote's title. */
export const quotePdf = async (quote: QuoteDocument): Promise<Uint8Array> => {
  const doc = await PDFDocument.create()
  doc.setTitle(`Devis ${quote.quoteRef}`)
  // Metadata is Unicode text: only what is drawn with the standard fonts needs WinAnsi.
  doc.setSubject(quote.title)
  doc.setAuthor(quote.seller.name)
  doc.setProducer("Rapport b2b-quotes example (pdf-lib)")
  // Fixed dates keep the bytes of one quote the same on every render.
  doc.setCreationDate(new Date(`${quote.issuedOn}T00:00:00Z`))
  doc.setModificationDate(new Date(`${quote.issuedOn}T00:00:00Z`))
  const page = doc.addPage([595.28, 841.89]) // A4
  const font = await doc.embedFont(StandardFonts.Helvetica)
  const bold = await doc.embedFont(StandardFonts.HelveticaBold)
  const grey = rgb(0.35, 0.35, 0.35)
  let y = 790
  const text = (value: string, x: number, options: { size?: number; bold?: boolean; color?: ReturnType<typeof rgb> } = {}) =>
    page.drawText(printable(value), { x, y, size: options.size ?? 10, font: options.bold ? bold : font, color: options.color ?? rgb(0, 0, 0) })
  const right = (value: string, xRight: number, options: { bold?: boolean } = {}) => {
    const f = options.bold ? bold : font
    const shown = printable(value)
    page.drawText(shown, { x: xRight - f.widthOfTextAtSize(shown, 10), y, size: 10, font: f })
  }

  text(quote.seller.name, 50, { size: 16, bold: true })
  text(`DEVIS ${quote.quoteRef}`, 380, { size: 16, bold: true })
  y -= 16
  text(quote.seller.address, 50, { color: grey })
  text(`Émis le ${quote.issuedOn}, valable jusqu'au ${quote.validUntil}`, 380, { size: 8, color: grey })
  y -= 12
  text(`SIRET ${quote.seller.siret} · TVA ${quote.seller.vatNumber}`, 50, { size: 8, color: grey })

  y -= 40
  text("Client", 50, { bold: true })
  y -= 14
  if (quote.customer.company !== null) {
    text(quote.customer.company, 50)
    y -= 14
  }
  text(`À l'attention de ${quote.customer.contact}${quote.customer.email === null ? "" : ` <${quote.customer.email}>`}`, 50)
  y -= 14
  const legal = [quote.customer.siret === null ? null : `SIRET ${quote.customer.siret}`, quote.customer.vatNumber === null ? null : `TVA ${quote.customer.vatNumber}`].filter((s) => s !== null)
  if (legal.length > 0) {
    text(legal.join(" · "), 50, { size: 8, color: grey })
    y -= 14
  }

  y -= 20
  text(quote.title, 50, { size: 12, bold: true })
  y -= 22
  text("Désignation", 50, { bold: true })
  right("Qté", 370, { bold: true })
  right("PU HT", 450, { bold: true })
  right("Total HT", 545, { bold: true })
  y -= 6
  page.drawLine({ start: { x: 50, y }, end: { x: 545, y }, thickness: 0.5, color: grey })
  let totalMinor = 0
  for (const line of quote.lines) {
    y -= 16
    const lineTotal = line.quantity * line.unitPriceMinor
    totalMinor += lineTotal
    text(line.description.slice(0, 60), 50)
    right(String(line.quantity), 370)
    right(money(line.unitPriceMinor, quote.currency), 450)
    right(money(lineTotal, quote.currency), 545)
  }
  y -= 10
  page.drawLine({ start: { x: 300, y }, end: { x: 545, y }, thickness: 0.5, color: grey })
  const vatMinor = Math.round((totalMinor * quote.vatRatePercent) / 100)
  for (const [label, amount, strong] of [
    ["Total HT", totalMinor, false],
    [`TVA ${quote.vatRatePercent} %`, vatMinor, false],
    ["Total TTC", totalMinor + vatMinor, true]
  ] as const) {
    y -= 16
    right(label, 450, { bold: strong })
    right(money(amount, quote.currency), 545, { bold: strong })
  }

  y -= 40
  text(`Conditions de paiement : ${quote.customer.paymentTerms ?? "à convenir"}.`, 50)
  y -= 14
  text("Bon pour accord : date, signature et cachet du client.", 50, { color: grey })
  return doc.save()
}
