// The shop's catalogue: what it sells, at what price and what it costs. Prices and costs are in
// cents (integer minor units, as Rapport keeps money); the colour is what `page.viewed` carries
// so that the same-colour offer can find those who keep looking at red shoes.

/** A product of the shop. */
export interface Product {
  readonly sku: string
  readonly name: string
  readonly category: "shoes" | "bags" | "scarves"
  readonly colour: "red" | "black" | "white" | "blue" | "green"
  /** Selling price, in cents. */
  readonly price: number
  /** What one costs the shop, in cents (the margin reports need it). */
  readonly cost: number
}

export const currency = "EUR"

export const products: ReadonlyArray<Product> = [
  { sku: "SHOE-RED-ESC", name: "Escarpins rouges Lumière", category: "shoes", colour: "red", price: 8900, cost: 3400 },
  { sku: "SHOE-RED-BAL", name: "Ballerines rouge cerise", category: "shoes", colour: "red", price: 6900, cost: 2500 },
  { sku: "SHOE-RED-SNK", name: "Baskets rouges Élan", category: "shoes", colour: "red", price: 7900, cost: 3000 },
  { sku: "SHOE-BLK-DRB", name: "Derbies noires Saint-Germain", category: "shoes", colour: "black", price: 12900, cost: 5200 },
  { sku: "SHOE-WHT-SNK", name: "Baskets blanches Côte", category: "shoes", colour: "white", price: 7500, cost: 2900 },
  { sku: "SHOE-BLU-MOC", name: "Mocassins bleu marine", category: "shoes", colour: "blue", price: 9900, cost: 4100 },
  { sku: "BAG-RED-CAB", name: "Cabas rouge Montmartre", category: "bags", colour: "red", price: 11900, cost: 4600 },
  { sku: "BAG-BLK-PCH", name: "Pochette noire Opéra", category: "bags", colour: "black", price: 5900, cost: 2100 },
  { sku: "SCF-GRN-SLK", name: "Foulard en soie vert sauge", category: "scarves", colour: "green", price: 4500, cost: 1300 },
  { sku: "SCF-BLU-WOL", name: "Écharpe laine bleu nuit", category: "scarves", colour: "blue", price: 3900, cost: 1200 }
]

export const productBySku = (sku: string): Product | undefined => products.find((p) => p.sku === sku)

/** Price in euros for people, French style ("89,00 €"). */
export const euros = (cents: number): string => new Intl.NumberFormat("fr-FR", { style: "currency", currency }).format(cents / 100)

/** An order or cart line as Rapport reads it: sku, name, quantity, unit price and unit cost. */
export const lineOf = (product: Product, quantity: number) => ({
  sku: product.sku,
  name: product.name,
  quantity,
  unitPrice: { amountMinor: product.price, currency },
  unitCost: { amountMinor: product.cost, currency }
})
