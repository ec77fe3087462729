// Preact with htm: components as tagged templates, no build step. Both are
// served by the server from node_modules (lib/server/web_files.ts).
import { h, render } from "preact";
import htm from "htm";

/** `html\`<div class=${c}>…</div>\`` makes Preact elements. */
export const html = htm.bind(h);
export { render };
