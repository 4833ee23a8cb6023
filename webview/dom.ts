/**
 * A tiny element builder. Text always goes through textContent (run names and variant files are
 * user data), and nothing sets a `style` attribute, which the webview's CSP would block.
 */
type Child = Node | string | null | undefined | false;

interface Props {
  class?: string;
  title?: string;
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.title) el.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces the children of `el` only when the new list differs (keeps focus and scroll otherwise). */
export function setChildren(el: Element, children: Element[]): void {
  const current = el.children;
  if (current.length === children.length && children.every((c, i) => current[i] === c)) return;
  el.replaceChildren(...children);
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
