// Tokenise .funnel texts with the real TextMate engine VS Code uses (vscode-textmate with
// the Oniguruma regex engine compiled to WebAssembly) and the extension's own grammar.
//
// stdin:  a JSON object {name: text, ...}
// stdout: a JSON object {name: [[{text, scopes}, ...] for each line], ...}
//
// Driven by tests/test_vscode_grammar.py; run by hand with
//   echo '{"a": "stage s \"x\" { sla 2h }"}' | node test/tokenize.js
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const root = path.join(__dirname, '..');
const grammarPath = path.join(root, 'syntaxes', 'funnel.tmLanguage.json');

async function main() {
  const wasm = fs.readFileSync(path.join(root, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.funnel') return null;
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar('source.funnel');
  if (grammar === null) throw new Error('the grammar did not load');

  const inputs = JSON.parse(fs.readFileSync(0, 'utf8'));
  const out = {};
  for (const [name, text] of Object.entries(inputs)) {
    let state = vsctm.INITIAL;
    const lines = [];
    // Lines as the editor splits them (CRLF, CR or LF); the last line may be empty.
    for (const line of text.split(/\r\n|\r|\n/)) {
      const result = grammar.tokenizeLine(line, state, 0);
      if (result.stoppedEarly) throw new Error(`${name}: tokenising stopped early`);
      lines.push(
        result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes })),
      );
      state = result.ruleStack;
    }
    out[name] = lines;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
