// Building the DOM: one small element factory, so pages build whole lists
// off-document and put them in with one replaceChildren (fast for 1,000 rows),
// and text always goes in as text, never as HTML.

/**
 * h("a", {href: "/x", class: "link", data: {focus: "svc:web"}}, "text", child, [more])
 * Attributes: class, text, data (dataset), on (event listeners), hidden and
 * other boolean properties given as true/false; everything else setAttribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const name in attrs) {
      const value = attrs[name];
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else if (name === "data") Object.assign(el.dataset, value);
      else if (name === "on") for (const type in value) el.addEventListener(type, value[type]);
      else if (value === true) el.setAttribute(name, "");
      else el.setAttribute(name, value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** A fragment of many nodes, for one replaceChildren. */
export function fragment(...children) {
  const f = document.createDocumentFragment();
  append(f, children);
  return f;
}

/**
 * Replace what `container` shows, keeping the keyboard focus on the
 * element with the same data-focus key if it was inside (live updates
 * must not throw a keyboard user back to the top).
 */
export function replaceContent(container, ...children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focus : undefined;
  container.replaceChildren(fragment(...children));
  if (key !== undefined) {
    const again = container.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) again.focus({preventScroll: true});
  }
}

/** A table whose cells say their column's name on narrow screens. */
export function table({caption, columns, rows, className}) {
  return h("div", {class: "table-wrap"},
    h("table", {class: "responsive " + (className || "")},
      caption ? h("caption", {class: "visually-hidden"}, caption) : null,
      h("thead", null, h("tr", null, columns.map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", null, rows)));
}

export function cell(label, ...children) {
  return h("td", {data: {label}}, ...children);
}

/** A definition list of [term, description] pairs. */
export function details(pairs) {
  return h("dl", {class: "details"},
    pairs.filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([term, value]) => [h("dt", null, term), h("dd", null, value)]));
}

export function tagList(tags) {
  if (!tags || tags.length === 0) return h("span", {class: "muted"}, "no tags");
  return h("ul", {class: "tags", "aria-label": "Tags"}, tags.map((t) => h("li", {class: "tag"}, t)));
}

export function metaList(meta) {
  const entries = Object.entries(meta || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return h("span", {class: "muted"}, "none");
  return h("dl", {class: "meta"}, entries.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

/** An accessible confirmation: a modal <dialog>; resolves true on confirm. */
export function confirmDialog({title, message, confirmLabel, danger = true}) {
  return new Promise((resolve) => {
    const dialog = h("dialog", {class: "confirm", "aria-labelledby": "confirm-title"},
      h("form", {method: "dialog"},
        h("h2", {id: "confirm-title"}, title),
        h("p", null, message),
        h("div", {class: "actions"},
          h("button", {value: "cancel", class: "button"}, "Cancel"),
          h("button", {value: "confirm", class: danger ? "button danger" : "button primary"},
            confirmLabel))));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    dialog.querySelector('button[value="cancel"]').focus();
  });
}

export function byName(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
