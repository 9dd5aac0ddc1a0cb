// dom.js — owns building elements. Every piece of text goes in through
// textContent or a text node, never through HTML parsing, so a client named
// `<img src=x onerror=alert(1)>` shows exactly that text.

/**
 * el('a', {class: 'link', href: '#/', text: 'Home'}, child, ...)
 * Props: `text` (textContent), `class`, `dataset` (object), `on<event>` (a
 * function, added as a listener), anything else as an attribute (`true` means
 * present, `false`/null/undefined means left out). Children may be nodes,
 * strings (added as text), arrays of those, or null/false (skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);

  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? '' : String(value));
  }

  add(node, ...children);
  return node;
}

/** Appends children as el() does: text as text nodes, null/false skipped. */
export function add(parent, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) add(parent, ...child);
    else if (child instanceof Node) parent.append(child);
    else parent.append(document.createTextNode(String(child)));
  }
}

/** Removes every child of `node`. */
export function clear(node) {
  node.replaceChildren();
}

/** Ids for label/input pairs that must not depend on data. */
let nextUid = 0;
export function uid(prefix) {
  nextUid += 1;
  return `${prefix}-${nextUid}`;
}
