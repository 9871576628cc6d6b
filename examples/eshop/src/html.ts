// Minimal server-rendered pages: one layout, escaping for every value that comes from data.

/** Escapes text for HTML content and quoted attributes. */
export const esc = (value: unknown): string =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** The page around every view: navigation, who is signed in, the cart count. */
export const layout = (title: string, body: string, who: { readonly email: string | null; readonly cartCount: number }): string => `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Boutique Lumière</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1d1d1f}
nav{display:flex;gap:1rem;flex-wrap:wrap;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
nav .me{margin-left:auto}
ul.products{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
ul.products li{border:1px solid #ddd;border-radius:.5rem;padding:1rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:50%;border:1px solid #999;vertical-align:middle;margin-right:.3rem}
label{display:block;margin:.5rem 0 .2rem}
input{padding:.4rem;font-size:1rem}
button{padding:.5rem 1rem;font-size:1rem;margin-top:.5rem}
.notice{background:#eef6ee;border:1px solid #9c9;padding:.5rem 1rem}
.error{background:#fbeaea;border:1px solid #c99;padding:.5rem 1rem}
</style>
</head>
<body>
<nav aria-label="Boutique">
<a href="/">Boutique Lumière</a>
<a href="/?colour=red">Collection rouge</a>
<a href="/cart">Panier (${who.cartCount})</a>
<a class="me" href="/account">${who.email === null ? "Se connecter / Créer un compte" : esc(who.email)}</a>
</nav>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>`
