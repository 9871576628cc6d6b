// The built-in mappers from shop webhooks to events (issue 14, "Webhooks in"), on payloads shaped
// like the platforms' documented examples (test/fixtures/webhooks), and decimal money read
// exactly into minor units for currencies with 0, 2 and 3 decimals.
import { Money, ShopWebhooks } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/webhooks/${name}`, import.meta.url), "utf8")
const mapped = (result: ShopWebhooks.Mapped) => Either.getOrThrowWith(result, (issues) => new Error(JSON.stringify(issues)))
const issues = (result: ShopWebhooks.Mapped) => Either.match(result, { onLeft: (i) => i.map((x) => [x.path.join("."), x.message]), onRight: () => [] })

describe("Money.parseDecimal", () => {
  const parse = (text: string, currency: string) => Money.parseDecimal(text, Money.Currency.make(currency))
  it("reads decimal strings exactly in the currency's minor units", () => {
    expect(parse("199.00", "USD")).toEqual(Either.right(19900))
    expect(parse("0.07", "EUR")).toEqual(Either.right(7))
    expect(parse("19.9", "EUR")).toEqual(Either.right(1990))
    expect(parse("1500", "JPY")).toEqual(Either.right(1500))
    expect(parse("1500.00", "JPY")).toEqual(Either.right(1500))
    expect(parse("1.234", "KWD")).toEqual(Either.right(1234))
    expect(parse("1.5", "KWD")).toEqual(Either.right(1500))
    expect(parse("-5.50", "EUR")).toEqual(Either.right(-550))
    expect(Object.is(Either.getOrThrow(parse("-0.00", "EUR")), 0)).toBe(true)
    // What a float would get wrong: 0.1 + 0.2, 1.005 × 100, 4.35 × 100.
    expect(parse("1.005", "KWD")).toEqual(Either.right(1005))
    expect(parse("4.35", "USD")).toEqual(Either.right(435))
    expect(parse("90071992547409.91", "USD")).toEqual(Either.right(9007199254740991))
  })

  it("refuses decimals the currency does not have, amounts past 2^53 and anything not a plain decimal", () => {
    expect(parse("19.999", "EUR")).toEqual(Either.left(`has more decimals than EUR's minor unit allows (2), got "19.999"`))
    expect(parse("1500.5", "JPY")).toEqual(Either.left(`has more decimals than JPY's minor unit allows (0), got "1500.5"`))
    expect(parse("1.2345", "KWD")).toEqual(Either.left(`has more decimals than KWD's minor unit allows (3), got "1.2345"`))
    expect(Either.isLeft(parse("90071992547409.92", "USD"))).toBe(true)
    for (const bad of ["", "1,50", "1e3", "0x10", ".5", "5.", "€5", "NaN", "+-1"]) expect(Either.isLeft(parse(bad, "EUR"))).toBe(true)
  })
})

const context = (headers: Record<string, string>) => ({ source: "shop", headers })

describe("Shopify", () => {
  it("orders/create: one order.placed with exact prices, the order's exact id, its email and names", () => {
    const [event, ...more] = mapped(ShopWebhooks.shopify(JSON.parse(fixture("shopify-orders-create.json")), context({ "x-shopify-topic": "orders/create" })))
    expect(more).toEqual([])
    expect(event).toEqual({
      // 820982911946154508 is past 2^53: JSON.parse gives 820982911946154500; the GraphQL id keeps it.
      id: "shop:order:820982911946154508",
      type: "order.placed",
      email: "jon@example.com",
      occurredAt: "2021-12-31T19:00:00-05:00",
      payload: {
        orderId: "shop:820982911946154508",
        lines: [
          { sku: "IPOD2008PINK", name: "IPod Nano - 8GB", quantity: 1, unitPrice: { amountMinor: 19900, currency: "USD" } },
          { sku: "variant-457924702", name: "Cable - white", quantity: 2, unitPrice: { amountMinor: 9950, currency: "USD" } }
        ],
        platform: "shopify",
        platformOrderId: "820982911946154508",
        orderNumber: "#9999",
        total: { amountMinor: 40300, currency: "USD" }
      },
      // The customer's name; the billing phone "555-555-SHIP" is not a phone number and is left out.
      contact: { firstName: "John", lastName: "Smith", source: { channel: "shopify" } }
    })
  })

  it("checkouts/update: a cart.updated per state of the checkout, in yen (no decimals)", () => {
    const payload = JSON.parse(fixture("shopify-checkouts-update.json"))
    const [event] = mapped(ShopWebhooks.shopify(payload, context({ "x-shopify-topic": "checkouts/update" })))
    expect(event).toMatchObject({
      id: "shop:cart:123123123:2022-01-01T10:15:00-05:00",
      type: "cart.updated",
      email: "example@email.com",
      payload: {
        cartId: "shop:123123123",
        lines: [{ sku: "example-shirt-s", name: "Example T-Shirt - S", quantity: 2, unitPrice: { amountMinor: 1990, currency: "JPY" } }],
        total: { amountMinor: 3980, currency: "JPY" },
        checkoutUrl: "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token",
        completed: false
      }
    })
    // Another change of the same checkout is another event; the same change is the same event.
    const later = mapped(ShopWebhooks.shopify({ ...payload, updated_at: "2022-01-01T11:00:00-05:00" }, context({ "x-shopify-topic": "checkouts/update" })))
    expect(later[0]!.id).toBe("shop:cart:123123123:2022-01-01T11:00:00-05:00")
  })

  it("other topics, and orders or checkouts without a valid email, record nothing", () => {
    const order = JSON.parse(fixture("shopify-orders-create.json"))
    expect(mapped(ShopWebhooks.shopify(order, context({ "x-shopify-topic": "orders/updated" })))).toEqual([])
    expect(mapped(ShopWebhooks.shopify({ ...order, email: null, contact_email: null, customer: null }, context({ "x-shopify-topic": "orders/create" })))).toEqual([])
    expect(mapped(ShopWebhooks.shopify({ ...order, email: "not an email", contact_email: null, customer: null }, context({ "x-shopify-topic": "orders/create" })))).toEqual([])
  })

  it("names every field it cannot read, and a missing topic", () => {
    const order = JSON.parse(fixture("shopify-orders-create.json"))
    order.line_items[0].price = "199.005"
    order.line_items[1].quantity = "two"
    expect(issues(ShopWebhooks.shopify(order, context({ "x-shopify-topic": "orders/create" })))).toEqual([
      ["line_items.0.price", `has more decimals than USD's minor unit allows (2), got "199.005"`],
      ["line_items.1.quantity", `must be a whole number of items, got "two"`]
    ])
    expect(issues(ShopWebhooks.shopify({ ...order, currency: "DOLLARS" }, context({ "x-shopify-topic": "orders/create" })))[0]).toEqual(["currency", `must be an ISO 4217 currency code such as "EUR", got "DOLLARS"`])
    expect(issues(ShopWebhooks.shopify(order, context({})))).toEqual([["headers.x-shopify-topic", "is required: Shopify names the topic of every delivery"]])
  })
})

describe("WooCommerce", () => {
  const order = () => JSON.parse(fixture("woocommerce-order-created.json"))

  it("order.created: order.placed in Kuwaiti dinars (3 decimals), unit prices from each line's subtotal", () => {
    const [event] = mapped(ShopWebhooks.wooCommerce(order(), context({ "x-wc-webhook-topic": "order.created" })))
    expect(event).toEqual({
      id: "shop:order:727",
      type: "order.placed",
      email: "john.doe@example.com",
      occurredAt: "2017-03-22T19:28:02Z",
      payload: {
        orderId: "shop:727",
        lines: [
          { sku: "product-93", name: "Woo Single #1", quantity: 2, unitPrice: { amountMinor: 3000, currency: "KWD" } },
          { sku: "Bar3", name: "Ship Your Idea &ndash; Color: Black, Size: M Test", quantity: 3, unitPrice: { amountMinor: 1418, currency: "KWD" } }
        ],
        platform: "woocommerce",
        platformOrderId: "727",
        orderNumber: "727",
        total: { amountMinor: 11754, currency: "KWD" }
      },
      contact: { firstName: "John", lastName: "Doe", phone: "(555) 555-5555", source: { channel: "woocommerce" } }
    })
  })

  it("a subtotal that does not divide by the quantity is rounded half away from zero, in integers", () => {
    const o = order()
    o.currency = "EUR"
    o.total = "10.00"
    o.line_items = [{ ...o.line_items[0], quantity: 3, subtotal: "10.00", sku: "X" }, { ...o.line_items[0], quantity: 6, subtotal: "0.03", sku: "Y" }]
    const [event] = mapped(ShopWebhooks.wooCommerce(o, context({ "x-wc-webhook-topic": "order.created" })))
    expect((event!.payload as { lines: Array<{ unitPrice: { amountMinor: number } }> }).lines.map((l) => l.unitPrice.amountMinor)).toEqual([333, 1])
  })

  it("only placed orders count: pending, failed or draft orders record nothing; order.updated places it once paid", () => {
    for (const status of ["pending", "failed", "checkout-draft", "cancelled"]) {
      expect(mapped(ShopWebhooks.wooCommerce({ ...order(), status }, context({ "x-wc-webhook-topic": "order.created" })))).toEqual([])
    }
    const [paid] = mapped(ShopWebhooks.wooCommerce({ ...order(), status: "completed" }, context({ "x-wc-webhook-topic": "order.updated" })))
    expect(paid!.id).toBe("shop:order:727")
    expect(mapped(ShopWebhooks.wooCommerce(order(), context({ "x-wc-webhook-topic": "product.updated" })))).toEqual([])
  })
})

describe("Standard Webhooks", () => {
  it("a body that is an event or a list of events passes through; anything else is named", () => {
    expect(mapped(ShopWebhooks.standard({ type: "page.viewed", email: "a@example.com" }))).toEqual([{ type: "page.viewed", email: "a@example.com" }])
    expect(mapped(ShopWebhooks.standard([{ type: "a.b" }, { type: "c.d" }]))).toHaveLength(2)
    expect(issues(ShopWebhooks.standard("text"))[0]![1]).toMatch(/^must be an event/)
  })
})
