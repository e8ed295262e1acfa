/** A tiny element builder: `h('a', { href: '#/x', class: 'link' }, 'text')`; `on:click` attaches a listener. */
type Attr = string | number | boolean | null | undefined | ((event: Event) => void);
export type Child = Node | string | number | null | undefined | false;

type Listener = (event: Event) => void;

/** The listeners h attached, per element: `patch` hands them to the element that stays in its place. */
const listeners = new WeakMap<Element, Array<[string, Listener]>>();

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const own: Array<[string, Listener]> = [];
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on:') && typeof value === 'function') {
      element.addEventListener(name.slice(3), value);
      own.push([name.slice(3), value]);
    } else element.setAttribute(name, value === true ? '' : String(value));
  }
  if (own.length) listeners.set(element, own);
  append(element, children);
  return element;
}

function append(parent: Node, children: Array<Child | Child[]>): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `parent`. */
export function fill(parent: Element, ...children: Array<Child | Child[]>): void {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Makes what is inside `parent` look like `children`, changing only what differs: an element that
 * stays keeps the keyboard focus and a text that stays keeps the person's selection, so a page can
 * draw itself again at every poll. Nodes match by position and tag, or, for elements with a
 * `data-key`, by key among their siblings (rows that come, go or move).
 */
export function patch(parent: Element, ...children: Array<Child | Child[]>): void {
  const next = document.createDocumentFragment();
  append(next, children);
  reconcile(parent, next);
}

function reconcile(parent: Node, next: Node): void {
  const wanted = [...next.childNodes];
  const wantedKeys = new Set(wanted.map(keyOf));
  const keyed = new Map<string, ChildNode>();
  for (const node of [...parent.childNodes]) {
    const key = keyOf(node);
    if (key === null) continue;
    // Gone first, so that a row leaving moves none of those after it (a move would drop their focus).
    if (!wantedKeys.has(key)) node.remove();
    else keyed.set(key, node);
  }
  let cursor = parent.firstChild;
  for (const node of wanted) {
    const key = keyOf(node);
    let match: ChildNode | null = null;
    if (key !== null) {
      match = keyed.get(key) ?? null;
      keyed.delete(key);
    } else if (cursor && keyOf(cursor) === null) match = cursor;
    if (match && sameKind(match, node)) {
      update(match, node);
      if (match === cursor) cursor = cursor.nextSibling;
      else parent.insertBefore(match, cursor);
    } else {
      parent.insertBefore(node, cursor);
    }
  }
  while (cursor) {
    const after: ChildNode | null = cursor.nextSibling;
    cursor.remove();
    cursor = after;
  }
}

function keyOf(node: Node): string | null {
  return node instanceof Element ? node.getAttribute('data-key') : null;
}

function sameKind(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
  return (
    !(a instanceof Element) ||
    (a.id === (b as Element).id && a.getAttribute('type') === (b as Element).getAttribute('type'))
  );
}

function update(old: ChildNode, next: Node): void {
  if (!(old instanceof Element)) {
    if (old.nodeValue !== next.nodeValue) old.nodeValue = next.nodeValue;
    return;
  }
  const target = next as Element;
  for (const name of old.getAttributeNames()) if (!target.hasAttribute(name)) old.removeAttribute(name);
  for (const name of target.getAttributeNames()) {
    const value = target.getAttribute(name)!;
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  for (const [type, listener] of listeners.get(old) ?? []) old.removeEventListener(type, listener);
  const own = listeners.get(target) ?? [];
  for (const [type, listener] of own) old.addEventListener(type, listener);
  listeners.set(old, own);
  reconcile(old, target);
}

/**
 * A table from a header row and rows of cells (none: a row saying so); `caption` names it for screen
 * readers. `keys` (one per row: an id) lets `patch` keep a row across polls as others come and go.
 */
export function table(
  caption: string,
  head: string[],
  rows: Child[][],
  attrs: Record<string, Attr> = {},
  keys?: Array<string | number>,
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((cell) => h('th', { scope: 'col' }, cell)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: head.length, class: 'muted' }, 'No data.'))
          : rows.map((row, index) =>
              h(
                'tr',
                { 'data-key': keys?.[index] },
                row.map((cell) => h('td', {}, cell)),
              ),
            ),
      ),
    ),
  );
}

export function section(title: string, id: string, ...children: Array<Child | Child[]>): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': `${id}-title`, id },
    h('h3', { id: `${id}-title` }, title),
    ...children,
  );
}
