// Parses Mermaid flowcharts with the real Mermaid library, for tests/test_target_mermaid.py.
//
// Mermaid needs a DOM, which plain Node lacks: happy-dom provides one.
// stdin:  a JSON object {name: mermaid source, ...}
// stdout: a JSON object {"version": mermaid's version, "results": {name: result}}, where a
//   result is {"ok": false, "error": message} or {"ok": true, "type": diagram type,
//   "vertices": {id: {"text", "labelType", "shown", "icon", "classes"}},
//   "edges": [{"start", "end", "text", "labelType", "shown", "icon"}],
//   "subgraphs": [{"id", "title", "labelType", "shown", "icon", "nodes"}]}.
// "shown" is the text a browser displays for the label: Mermaid's own steps for a plain
// (non-Markdown) HTML label (createText: line breaks to <br />, its entity codes decoded to
// character references), then the HTML parsed by happy-dom and read back, <br> as "\n".
// (Mermaid's DOMPurify step is left out: under happy-dom, DOMPurify drops the text before the
// first tag, which a browser keeps.)  "icon" says whether Mermaid would put a Font Awesome
// icon into the label, "katex" whether it would render part of it as KaTeX.
import { Window } from "happy-dom";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const window = new Window();
for (const key of ["window", "document", "navigator", "DOMParser", "Element", "HTMLElement",
  "SVGElement", "Node", "MutationObserver", "getComputedStyle"]) {
  if (globalThis[key] === undefined) {
    const value = key === "window" ? window : window[key];
    Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
}

const require = createRequire(import.meta.url);
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
const version = require("mermaid/package.json").version;

// Mermaid's decodeEntities (utils): its private codes back to character references.
const decodeEntities = (text) =>
  text.replace(/\uFB02\u00B0\u00B0/g, "&#").replace(/\uFB02\u00B0/g, "&").replace(/\u00B6\u00DF/g, ";");
const ICON = /(fa[bklrs]?):fa-([\w-]+)/;
const KATEX = /\$\$(.*?)\$\$/;

function look(text, labelType) {
  const raw = text ?? "";
  // createText, non-Markdown branch: nonMarkdownToHTML, then decodeEntities.
  const html = decodeEntities(`<p>${raw.replace(/\\n|\n/g, "<br />")}</p>`);
  const div = window.document.createElement("div");
  div.innerHTML = html;
  for (const br of [...div.querySelectorAll("br")]) br.replaceWith("\n");
  return {
    text: raw,
    labelType: labelType ?? null,
    shown: div.textContent,
    icon: ICON.test(html),
    katex: KATEX.test(raw),
  };
}

const sources = JSON.parse(readFileSync(0, "utf8"));
const results = {};
for (const [name, text] of Object.entries(sources)) {
  try {
    await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    const vertices = {};
    for (const [id, v] of db.getVertices()) {
      vertices[id] = { ...look(v.text, v.labelType), classes: v.classes ?? [] };
    }
    const edges = db.getEdges().map((e) => ({ start: e.start, end: e.end, ...look(e.text, e.labelType) }));
    const subgraphs = db.getSubGraphs().map((s) => ({ id: s.id, nodes: s.nodes, ...look(s.title, s.labelType) }));
    results[name] = { ok: true, type: diagram.type, vertices, edges, subgraphs };
  } catch (err) {
    results[name] = { ok: false, error: String(err && err.message ? err.message : err) };
  }
}
process.stdout.write(JSON.stringify({ version, results }));
