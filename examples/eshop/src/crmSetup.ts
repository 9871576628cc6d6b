// What the shop's CRM is, declared once and applied with `crm.setup` at every start: the custom
// fields, the lifecycle, the mails and the rules that send them. Applying it again changes
// nothing (every line of the plan says `unchanged`); changing a line here and restarting updates
// just that item.
import type { SetupDeclaration } from "@rapport/core"

const unsubscribeFooter = {
  fr: '<p style="font-size:12px;color:#555">Vous recevez ce message car vous avez accepté nos offres. <a href="{{ unsubscribeUrl }}">Se désabonner</a></p>',
  en: '<p style="font-size:12px;color:#555">You get this mail because you accepted our offers. <a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>'
}

const orderLines = "{% for line in order.lines %}{{ line.quantity }} × {{ line.name }} ({{ line.sku }}) : {{ line.total | money }}\n{% endfor %}"
const cartLines = "{% for line in event.payload.lines %}{{ line.quantity }} × {{ line.name }}\n{% endfor %}"

/** The templates, by key. Transactional ones always go; marketing ones need consent and carry an unsubscribe link. */
export const templates: NonNullable<SetupDeclaration["templates"]> = [
  {
    key: "order-confirmation",
    name: "Order confirmation",
    purpose: "transactional",
    subject: "Votre commande {{ order.id }} est confirmée",
    text: `Bonjour {{ contact.firstName | default: "" }},\n\nMerci pour votre commande {{ order.id }} :\n${orderLines}Total : {{ order.total | money }}\n\nBoutique Lumière`,
    locales: {
      en: {
        subject: "Your order {{ order.id }} is confirmed",
        text: "Hello {{ contact.firstName | default: \"\" }},\n\nThank you for your order {{ order.id }}:\n{% for line in order.lines %}{{ line.quantity }} × {{ line.name }} ({{ line.sku }}): {{ line.total | money }}\n{% endfor %}Total: {{ order.total | money }}\n\nBoutique Lumière"
      }
    }
  },
  {
    key: "password-reset",
    name: "Password reset",
    purpose: "transactional",
    subject: "Réinitialisez votre mot de passe",
    text: "Bonjour {{ contact.firstName | default: \"\" }},\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure) :\n{{ event.payload.resetUrl }}\n\nSi vous n'avez rien demandé, ignorez ce message.",
    locales: {
      en: {
        subject: "Reset your password",
        text: "Hello {{ contact.firstName | default: \"\" }},\n\nTo choose a new password, open this link (it works for one hour):\n{{ event.payload.resetUrl }}\n\nIf you did not ask for it, ignore this mail."
      }
    }
  },
  {
    key: "cart-reminder",
    name: "Cart reminder",
    purpose: "marketing",
    subject: "{{ contact.firstName | default: \"Bonjour\" }}, votre panier vous attend",
    html: `<p>Vous avez laissé dans votre panier :</p><pre>${cartLines}</pre><p><a href="{{ event.payload.cartUrl }}">Retrouver mon panier</a></p>${unsubscribeFooter.fr}`,
    text: `Vous avez laissé dans votre panier :\n${cartLines}Retrouver mon panier : {{ event.payload.cartUrl }}\nSe désabonner : {{ unsubscribeUrl }}`,
    locales: {
      en: {
        subject: "{{ contact.firstName | default: \"Hello\" }}, your cart is waiting",
        html: `<p>You left in your cart:</p><pre>${cartLines}</pre><p><a href="{{ event.payload.cartUrl }}">Back to my cart</a></p>${unsubscribeFooter.en}`,
        text: `You left in your cart:\n${cartLines}Back to my cart: {{ event.payload.cartUrl }}\nUnsubscribe: {{ unsubscribeUrl }}`
      }
    }
  },
  {
    key: "same-colour-offer",
    name: "Same-colour offer",
    purpose: "marketing",
    subject: "Le rouge vous va si bien : -15 % sur nos souliers rouges",
    html: `<p>{{ contact.firstName | default: "Bonjour" }}, vous regardez souvent {{ event.payload.name }}.</p><p>Avec le code ROUGE15, -15 % sur <a href="{{ event.payload.colourUrl }}">toute la collection rouge</a> pendant 7 jours.</p>${unsubscribeFooter.fr}`,
    text: "{{ contact.firstName | default: \"Bonjour\" }}, vous regardez souvent {{ event.payload.name }}.\nAvec le code ROUGE15, -15 % sur toute la collection rouge : {{ event.payload.colourUrl }}\nSe désabonner : {{ unsubscribeUrl }}",
    locales: {
      en: {
        subject: "Red suits you: 15% off our red shoes",
        html: `<p>{{ contact.firstName | default: "Hello" }}, you keep looking at {{ event.payload.name }}.</p><p>With the code ROUGE15, 15% off <a href="{{ event.payload.colourUrl }}">the whole red collection</a> for 7 days.</p>${unsubscribeFooter.en}`,
        text: "{{ contact.firstName | default: \"Hello\" }}, you keep looking at {{ event.payload.name }}.\nWith the code ROUGE15, 15% off the whole red collection: {{ event.payload.colourUrl }}\nUnsubscribe: {{ unsubscribeUrl }}"
      }
    }
  },
  {
    key: "fan-welcome",
    name: "Welcome to the fans",
    purpose: "marketing",
    subject: "{{ contact.firstName | default: \"Bonjour\" }}, vous êtes désormais une fan de Boutique Lumière",
    html: `<p>Trois commandes en trois mois : merci ! La livraison est offerte sur vos prochaines commandes.</p>${unsubscribeFooter.fr}`,
    text: "Trois commandes en trois mois : merci ! La livraison est offerte sur vos prochaines commandes.\nSe désabonner : {{ unsubscribeUrl }}",
    locales: {
      en: {
        subject: "{{ contact.firstName | default: \"Hello\" }}, you are now a Boutique Lumière fan",
        html: `<p>Three orders in three months: thank you! Delivery is on us from now on.</p>${unsubscribeFooter.en}`,
        text: "Three orders in three months: thank you! Delivery is on us from now on.\nUnsubscribe: {{ unsubscribeUrl }}"
      }
    }
  },
  {
    key: "addict-welcome",
    name: "Welcome to the inner circle",
    purpose: "marketing",
    subject: "{{ contact.firstName | default: \"Bonjour\" }}, bienvenue dans le cercle Lumière",
    html: `<p>Douze commandes cette année : vous découvrirez nos nouvelles collections une semaine avant tout le monde.</p>${unsubscribeFooter.fr}`,
    text: "Douze commandes cette année : vous découvrirez nos nouvelles collections une semaine avant tout le monde.\nSe désabonner : {{ unsubscribeUrl }}",
    locales: {
      en: {
        subject: "{{ contact.firstName | default: \"Hello\" }}, welcome to the Lumière circle",
        html: `<p>Twelve orders this year: you will see our new collections a week before anyone else.</p>${unsubscribeFooter.en}`,
        text: "Twelve orders this year: you will see our new collections a week before anyone else.\nUnsubscribe: {{ unsubscribeUrl }}"
      }
    }
  },
  {
    key: "win-back",
    name: "Win-back after 90 quiet days",
    purpose: "marketing",
    subject: "{{ contact.firstName | default: \"Bonjour\" }}, vous nous manquez",
    html: `<p>Cela fait trois mois : voici -10 % avec le code RETOUR10 sur votre prochaine commande.</p>${unsubscribeFooter.fr}`,
    text: "Cela fait trois mois : voici -10 % avec le code RETOUR10 sur votre prochaine commande.\nSe désabonner : {{ unsubscribeUrl }}",
    locales: {
      en: {
        subject: "{{ contact.firstName | default: \"Hello\" }}, we miss you",
        html: `<p>It has been three months: here is 10% off your next order with the code RETOUR10.</p>${unsubscribeFooter.en}`,
        text: "It has been three months: here is 10% off your next order with the code RETOUR10.\nUnsubscribe: {{ unsubscribeUrl }}"
      }
    }
  }
]

/** How many views of red shoes within 30 days make the same-colour offer. */
export const redShoeViews = 3

const redShoes = {
  all: [
    { path: "event.payload.colour", op: "eq", value: "red" },
    { path: "event.payload.category", op: "eq", value: "shoes" }
  ]
} as const

/** The rules: when E happens, if C holds, do A. */
export const rules: NonNullable<SetupDeclaration["rules"]> = [
  {
    key: "order-confirmation",
    name: "Order confirmation",
    on: "order.placed",
    actions: [{ type: "sendEmail", templateKey: "order-confirmation", transactional: true }]
  },
  {
    key: "password-reset",
    name: "Password reset mail",
    on: "password.reset_requested",
    actions: [{ type: "sendEmail", templateKey: "password-reset", transactional: true }]
  },
  {
    key: "abandoned-cart",
    name: "Cart reminder at D+1",
    on: "cart.updated",
    when: { path: "event.payload.itemCount", op: "gt", value: 0 },
    delay: "1 day",
    // Not if the customer ordered since, nor if the cart changed since (its newer state is reminded instead).
    unless: {
      any: [
        { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
        { count: { event: "cart.updated", sinceTrigger: true }, op: "gte", value: 1 }
      ]
    },
    limits: { oncePer: "event.payload.cartId" },
    actions: [{ type: "sendEmail", templateKey: "cart-reminder" }]
  },
  {
    key: "same-colour-offer",
    name: "Red shoes offer after several views",
    on: "page.viewed",
    when: {
      all: [
        ...redShoes.all,
        { count: { event: "page.viewed", within: "30 days", where: redShoes }, op: "gte", value: redShoeViews }
      ]
    },
    limits: { cooldown: "30 days" },
    actions: [{ type: "sendEmail", templateKey: "same-colour-offer" }, { type: "addTag", tag: "likes-red" }]
  },
  {
    key: "fan-welcome",
    name: "Mail on reaching fan",
    on: "contact.stage_changed",
    when: { path: "event.payload.to", op: "eq", value: "fan" },
    limits: { oncePerContact: true },
    actions: [{ type: "sendEmail", templateKey: "fan-welcome" }]
  },
  {
    key: "addict-welcome",
    name: "Mail on reaching addict",
    on: "contact.stage_changed",
    when: { path: "event.payload.to", op: "eq", value: "addict" },
    limits: { oncePerContact: true },
    actions: [{ type: "sendEmail", templateKey: "addict-welcome" }]
  },
  {
    key: "win-back",
    name: "Win-back after 90 quiet days",
    on: "order.placed",
    delay: "90 days",
    unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
    actions: [{ type: "sendEmail", templateKey: "win-back" }]
  }
]

/** The shop's CRM, as code. */
export const declaration: SetupDeclaration = {
  fields: [
    { key: "locale", label: "Language", type: "select", options: ["fr-FR", "en-GB"] },
    { key: "shoeSize", label: "Shoe size", type: "integer" },
    { key: "favouriteColour", label: "Favourite colour", type: "select", options: ["red", "black", "white", "blue", "green"] }
  ],
  lifecycle: { preset: "classic" },
  templates,
  rules
}
