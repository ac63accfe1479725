// Pieces the list pages share: the filter bar, and saying a page is ready.

import {h} from "../dom.js";
import {FILTER_CHOICES} from "../health.js";

/**
 * A search form whose fields live in the address (?filter=&status=&tag=), so a
 * filtered list can be bookmarked. onChange() runs on every edit.
 */
export function filterBar(ctx, {searchLabel, tags, onChange}) {
  const values = {
    filter: ctx.query.get("filter") || "",
    status: ctx.query.get("status") || "",
    tag: ctx.query.get("tag") || "",
  };
  const update = () => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(values)) if (value) query.set(name, value);
    const text = query.toString();
    ctx.router.setQuery(text ? "?" + text : "");
    onChange(values);
  };
  const search = h("input", {type: "search", id: "filter-search", name: "filter", value: values.filter,
    autocomplete: "off", on: {input: (e) => { values.filter = e.target.value; update(); }}});
  const status = h("select", {id: "filter-status", name: "status",
    on: {change: (e) => { values.status = e.target.value; update(); }}},
  FILTER_CHOICES.map(([value, label]) => h("option", {value, selected: value === values.status}, label)));
  const tagSelect = tags ? h("select", {id: "filter-tag", name: "tag",
    on: {change: (e) => { values.tag = e.target.value; update(); }}}) : null;
  const form = h("form", {class: "filters", role: "search", on: {submit: (e) => e.preventDefault()}},
    h("div", {class: "field"}, h("label", {for: "filter-search"}, searchLabel), search),
    h("div", {class: "field"}, h("label", {for: "filter-status"}, "Health"), status),
    tagSelect ? h("div", {class: "field"}, h("label", {for: "filter-tag"}, "Tag"), tagSelect) : null);
  return {
    form,
    values,
    /** The tag choices change with the catalog; the chosen one is kept. */
    setTags(all) {
      if (!tagSelect) return;
      const chosen = values.tag;
      const names = [...new Set(all)].sort();
      if (chosen && !names.includes(chosen)) names.unshift(chosen);
      tagSelect.replaceChildren(h("option", {value: ""}, "All tags"),
        ...names.map((t) => h("option", {value: t, selected: t === chosen}, t)));
    },
  };
}

/** Matches the search text (case-insensitive) against any of `texts`. */
export function matches(search, ...texts) {
  if (!search) return true;
  const needle = search.toLowerCase();
  return texts.some((t) => t && String(t).toLowerCase().includes(needle));
}

/** Marks the page as showing its data: for people (aria-busy) and for timing. */
export function ready(ctx, name) {
  if (ctx.main.dataset.ready) return;
  ctx.main.dataset.ready = "true";
  ctx.main.removeAttribute("aria-busy");
  performance.mark("ui:inserted:" + name);
  // Shown: after the next frame has been laid out and painted.
  requestAnimationFrame(() => setTimeout(() => performance.mark("ui:ready:" + name), 0));
}

export function loading(ctx) {
  ctx.main.setAttribute("aria-busy", "true");
  return h("p", {class: "loading"}, "Loading…");
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many || one + "s"}`;
}
