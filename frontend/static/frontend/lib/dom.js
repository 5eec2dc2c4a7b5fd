/**
 * The one element builder of the consoles. Text is always added as text (a text node or an attribute value),
 * never parsed as HTML, so names, addresses and notes typed by users cannot inject markup.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

function build(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style") Object.entries(value).forEach(([property, v]) => node.style.setProperty(property, v));
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false).map((child) => (typeof child === "object" ? child : String(child))));
  return node;
}

/**
 * `el("button", {class: "x", dataset: {id}, style: {"--agency": color}, onclick}, "text", child)`: attributes,
 * data, CSS properties, event listeners and children (nested lists flattened; null, undefined and false skipped).
 */
export function el(tag, attributes = {}, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** The same for SVG elements (charts). */
export function svg(tag, attributes = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}

export const byId = (id) => document.getElementById(id);

/** Shows `text` in a message box until the next message; no text hides the box. */
export function showText(box, text) {
  box.textContent = text ?? "";
  box.hidden = !text;
}

/** Shows `text` in the page's message box for `ms`, then hides it again (a later message restarts the clock). */
export function flash(box, text, ms = 5000) {
  showText(box, text);
  clearTimeout(box.flashTimer);
  if (text) box.flashTimer = setTimeout(() => (box.hidden = true), ms);
}
