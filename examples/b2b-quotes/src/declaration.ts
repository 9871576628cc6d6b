// What the back office needs of its CRM, declared once and applied on every start (`crm.setup`):
// the company details a customer must have, the quotes pipeline with its probabilities and its
// floor, the mails the salespeople and the weekly report send, and the rule that sends the report.
import type { SetupDeclaration } from "@rapport/core"

/** The one currency of the example's quotes. */
export const CURRENCY = "EUR"

/** The sales manager receives the weekly pipeline report; a contact with this tag is one. */
export const MANAGER_TAG = "sales-manager"

/** The custom event the weekly report is recorded as; the rule below mails it. */
export const WEEKLY_REPORT_EVENT = "pipeline.weekly_report"

/** The quotes pipeline's name (setup finds the pipeline again by it). */
export const PIPELINE_NAME = "Devis"

/** Below this weighted total of open quotes the business is at risk: 250,000.00 €. */
export const FLOOR_MINOR = 25_000_000

/** The payment terms a customer may have, as they appear on quotes and invoices. */
export const PAYMENT_TERMS = ["30 days", "45 days end of month", "60 days"] as const

/** The quotes pipeline: stages and their default win probabilities. */
export const QUOTE_STAGES = [
  { key: "draft", label: "Draft", probability: 10 },
  { key: "sent", label: "Quote sent", probability: 30 },
  { key: "negotiation", label: "Negotiation", probability: 50 },
  { key: "verbal", label: "Verbal agreement", probability: 80, staleAfterDays: 14 },
  { key: "won", label: "Won", probability: 100, outcome: "won" },
  { key: "lost", label: "Lost", probability: 0, outcome: "lost" }
] as const

// A contact who buys for a company must have its legal details before becoming a customer. The
// requirement sits on the contact because Rapport's lifecycle (and so "required from a stage on")
// is the contact's; `when` spares private buyers, who have no company.
const forCompanyBuyers = { fromStage: "customer", when: { path: "contact.companyId", op: "exists" } } as const
// A SIRET exists for French establishments only: a company with a foreign VAT number has none.
const forFrenchCompanyBuyers = {
  fromStage: "customer",
  when: {
    all: [
      { path: "contact.companyId", op: "exists" },
      { not: { all: [{ path: "contact.fields.vatNumber", op: "exists" }, { not: { path: "contact.fields.vatNumber", op: "startsWith", value: "FR" } }] } }
    ]
  }
} as const

/**
 * The declaration `crm.setup` applies on every start: what is missing is created, what differs is
 * updated, and nothing else is touched.
 */
export const declaration: SetupDeclaration = {
  lifecycle: { preset: "classic" },
  fields: [
    // The VAT number first: the SIRET's requirement reads it.
    { key: "vatNumber", label: "VAT number", type: "text", required: forCompanyBuyers },
    { key: "siret", label: "SIRET", type: "text", unique: true, required: forFrenchCompanyBuyers, description: "14 digits, checked with the Luhn key by the back office" },
    { key: "paymentTerms", label: "Payment terms", type: "select", options: [...PAYMENT_TERMS], required: forCompanyBuyers },
    { key: "creditLimit", label: "Credit limit", type: "money", required: forCompanyBuyers },
    { key: "jobTitle", label: "Job title", type: "text" },
    { key: "locale", label: "Language of mails", type: "select", options: ["fr-FR", "en-GB"] },
    // Deal fields have no list type: a quote's lines are kept as JSON text, checked by the app.
    { entity: "deal", key: "lines", label: "Quote lines (JSON)", type: "longText" }
  ],
  pipelines: [
    {
      name: PIPELINE_NAME,
      stages: QUOTE_STAGES.map((s) => ({ ...s })),
      floor: { amountMinor: FLOOR_MINOR, currency: CURRENCY }
    }
  ],
  templates: [
    // Amounts go through `money`, which writes them in the buyer's locale (its `locale` field):
    // `deal.amount` is formatted in the locale the follow-up call names, English when it names none.
    {
      key: "quote-sent",
      name: "Quote sent",
      subject: "Votre devis {{ deal.quoteRef }} : {{ deal.title }}",
      text:
        "Bonjour {{ contact.firstName | default: \"\" }},\n\nVeuillez trouver ci-joint notre devis {{ deal.quoteRef }} pour « {{ deal.title }} », d'un montant de {{ deal.amountMinor | money: deal.currency }} HT.\n" +
        "Conditions de paiement : {{ contact.fields.paymentTerms | default: \"à convenir\" }}.\n\nBien cordialement,\n{{ workspace.name }}",
      locales: {
        en: {
          subject: "Your quote {{ deal.quoteRef }}: {{ deal.title }}",
          text:
            "Hello {{ contact.firstName | default: \"\" }},\n\nPlease find attached our quote {{ deal.quoteRef }} for \"{{ deal.title }}\", {{ deal.amountMinor | money: deal.currency }} excl. VAT.\n" +
            "Payment terms: {{ contact.fields.paymentTerms | default: \"to be agreed\" }}.\n\nKind regards,\n{{ workspace.name }}"
        }
      }
    },
    {
      key: "quote-follow-up",
      name: "Quote follow-up",
      subject: "Relance : votre devis {{ deal.quoteRef }}",
      text:
        "Bonjour {{ contact.firstName | default: \"\" }},\n\nAvez-vous pu étudier notre devis {{ deal.quoteRef }} (« {{ deal.title }} », {{ deal.amountMinor | money: deal.currency }} HT) ? Je le joins à nouveau.\n" +
        "Je reste à votre disposition pour en parler.\n\nBien cordialement,\n{{ workspace.name }}",
      locales: {
        en: {
          subject: "Following up: your quote {{ deal.quoteRef }}",
          text:
            "Hello {{ contact.firstName | default: \"\" }},\n\nHave you had a chance to look at our quote {{ deal.quoteRef }} (\"{{ deal.title }}\", {{ deal.amountMinor | money: deal.currency }} excl. VAT)? I attach it again.\n\nKind regards,\n{{ workspace.name }}"
        }
      }
    },
    {
      key: "weekly-pipeline-report",
      name: "Weekly pipeline report",
      subject: "Pipeline de la semaine {{ event.payload.week }} : {{ event.payload.weighted | money }} pondérés{% if event.payload.below %} (SOUS LE PLANCHER){% endif %}",
      text:
        "Bonjour {{ contact.firstName | default: \"\" }},\n\n" +
        "Devis ouverts : {{ event.payload.count }}, pour {{ event.payload.amount | money }} HT.\n" +
        "Total pondéré : {{ event.payload.weighted | money }}\n" +
        "Plancher : {{ event.payload.floor | money }}{% if event.payload.below %}, manque {{ event.payload.shortfall | money }}{% else %}, atteint{% endif %}.\n\n" +
        "{% for stage in event.payload.stages %}- {{ stage.label }} ({{ stage.probability }} %) : {{ stage.count }} devis, {{ stage.amount | money }} → {{ stage.weighted | money }}\n{% endfor %}" +
        "\n{{ workspace.name }}"
    }
  ],
  rules: [
    {
      key: "weekly-pipeline-report",
      name: "Weekly pipeline report to the sales manager",
      on: WEEKLY_REPORT_EVENT,
      when: { path: "contact.tags", op: "contains", value: MANAGER_TAG },
      actions: [{ type: "sendEmail", templateKey: "weekly-pipeline-report", transactional: true }]
    }
  ]
}
