// The dashboard's stylesheet and script, served from memory (no build step, nothing to copy into
// dist). The script only draws the charts and drives the upload's progress bar: every page reads
// and works without it.

// Colours checked against WCAG 2.1 AA (4.5:1 for text on its background): #1f2937 on #ffffff is
// 14.7:1, #ffffff on #1d4ed8 is 6.7:1, #374151 on #f3f4f6 is 9.4:1, #991b1b on #fef2f2 is 7.7:1.
export const css = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1f2937;background:#fff}
body{margin:0}
a{color:#1d4ed8}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#1d4ed8;color:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:0}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:#f3f4f6;border-bottom:1px solid #d1d5db}
header .brand{font-weight:700;color:#111827;text-decoration:none;font-size:1.1rem}
nav ul{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;margin:0;padding:0}
nav a{display:inline-block;padding:.4rem .6rem;border-radius:.375rem;text-decoration:none;color:#374151}
nav a[aria-current="page"]{background:#1d4ed8;color:#fff}
nav a:hover{text-decoration:underline}
main{padding:1rem;max-width:72rem;margin:0 auto}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
section{margin-bottom:1.5rem}
figure{margin:0 0 1.5rem}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,28rem),1fr))}
.card{border:1px solid #d1d5db;border-radius:.5rem;padding:1rem;background:#fff;min-width:0}
.chart{position:relative;width:100%;min-height:16rem}
.chart canvas{max-width:100%}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{padding:.4rem .5rem;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th[scope="col"]{background:#f9fafb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.empty{padding:.75rem 1rem;background:#f3f4f6;border-radius:.375rem;color:#374151}
.note{color:#4b5563;font-size:.9rem}
.flash{padding:.75rem 1rem;border-radius:.375rem;background:#ecfdf5;color:#065f46;border:1px solid #6ee7b7}
.flash.error{background:#fef2f2;color:#991b1b;border-color:#fca5a5}
.below{color:#991b1b;font-weight:600}
button,.button{font:inherit;padding:.45rem .9rem;border-radius:.375rem;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer;min-height:2.5rem}
button:hover{background:#1e40af}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}
label.inline{display:inline;font-weight:400}
input[type="search"],input[type="file"],select{font:inherit;padding:.4rem;border:1px solid #6b7280;border-radius:.375rem;max-width:100%}
progress{width:100%;height:1.25rem}
.mail-body{border:1px solid #d1d5db;border-radius:.375rem;padding:.75rem;white-space:pre-wrap;overflow-wrap:anywhere;background:#f9fafb}
iframe.mail-html{width:100%;min-height:16rem;border:1px solid #d1d5db;border-radius:.375rem;background:#fff}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dl.details dt{font-weight:600}
dl.details dd{margin:0;overflow-wrap:anywhere}
.lang{margin:0}
.card>h2:first-child,figcaption>h2{margin-top:0}
form.period{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-bottom:1rem}
form.period label{margin:0}
@media (max-width:40rem){
  header{padding:.5rem}
  main{padding:.75rem}
  h1{font-size:1.35rem}
  dl.details{grid-template-columns:1fr}
  th,td{padding:.35rem}
}
`

export const js = `
(function () {
  "use strict";
  function drawCharts() {
    if (typeof window.Chart !== "function") return;
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      var canvas = canvases[i];
      var name = canvas.getAttribute("data-chart");
      var block = document.querySelector('script[data-chart-data="' + name + '"]');
      if (!block) continue;
      var data = JSON.parse(block.textContent || "{}");
      var horizontal = canvas.getAttribute("data-chart-axis") === "y";
      new window.Chart(canvas, {
        type: canvas.getAttribute("data-chart-type") || "bar",
        data: data,
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          locale: document.documentElement.lang || "en",
          indexAxis: horizontal ? "y" : "x",
          plugins: { legend: { position: "bottom" } }
        }
      });
    }
  }
  function upload() {
    var form = document.getElementById("import-form");
    if (!form || typeof XMLHttpRequest !== "function" || typeof FormData !== "function") return;
    var bar = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("accept", "application/json");
      xhr.setRequestHeader("x-csrf-token", form.getAttribute("data-csrf") || "");
      bar.hidden = false; bar.value = 0; bar.max = 100;
      status.textContent = form.getAttribute("data-uploading") || "";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.max = 100; bar.value = Math.round((e.loaded / e.total) * 50); }
      });
      xhr.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
        if (xhr.status !== 202 || !answer || typeof answer.id !== "string") {
          status.textContent = (answer && answer.detail) || ("HTTP " + xhr.status);
          bar.hidden = true;
          return;
        }
        poll(answer);
      });
      xhr.addEventListener("error", function () { status.textContent = form.getAttribute("data-network-error") || ""; bar.hidden = true; });
      xhr.send(new FormData(form));
    });
    function poll(answer) {
      var running = form.getAttribute("data-running") || "{rows}";
      var pollUrl = (form.getAttribute("data-poll") || "").replace("{id}", encodeURIComponent(answer.id));
      var reportUrl = (form.getAttribute("data-report") || "").replace("{id}", encodeURIComponent(answer.id));
      function tick(tries) {
        var r = new XMLHttpRequest();
        r.open("GET", pollUrl);
        r.setRequestHeader("accept", "application/json");
        r.addEventListener("load", function () {
          var run = null;
          try { run = JSON.parse(r.responseText); } catch (e) { run = null; }
          if (!run) { status.textContent = "HTTP " + r.status; return; }
          var p = run.progress || {};
          status.textContent = running.replace("{rows}", String(p.rowsRead || 0));
          bar.setAttribute("data-processed", String(p.rowsRead || 0));
          if (p.bytesTotal) bar.value = 50 + Math.round((p.bytesRead / p.bytesTotal) * 50);
          if (run.status === "done" || run.status === "failed") { bar.value = 100; window.location.assign(reportUrl); return; }
          if (tries < 600) setTimeout(function () { tick(tries + 1); }, 250);
        });
        r.send();
      }
      tick(0);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { drawCharts(); upload(); });
  else { drawCharts(); upload(); }
})();
`
