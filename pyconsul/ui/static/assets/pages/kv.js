// /ui/<dc>/kv/<folder>/: one level of the key/value store, folders by "/".

import {api, describeError} from "../api.js";
import {cell, confirmDialog, h, replaceContent, table} from "../dom.js";
import {watch} from "../live.js";
import {baseName, href, parentFolder} from "../paths.js";
import {pageTitle} from "../router.js";
import {loading, plural, ready} from "./common.js";

export function breadcrumbs(dc, folder, last) {
  const items = [h("li", null, h("a", {href: href.kvFolder(dc, ""), "aria-current": folder === "" && !last ? "page" : null},
    "Key/Value"))];
  let path = "";
  for (const part of folder.split("/").slice(0, -1)) {
    path += part + "/";
    const current = path === folder && !last;
    items.push(h("li", null, h("a", {href: href.kvFolder(dc, path), "aria-current": current ? "page" : null}, part + "/")));
  }
  if (last) items.push(h("li", null, h("span", {"aria-current": "page"}, last)));
  return h("nav", {class: "breadcrumbs", "aria-label": "Breadcrumb"}, h("ol", null, items));
}

export function render(ctx) {
  const {dc, main, signal, route, router} = ctx;
  const folder = route.folder;
  const notice = h("p", {class: "notice", role: "status"});
  const count = h("p", {class: "count"});
  const results = h("div", {class: "results"}, loading(ctx));
  const actions = h("div", {class: "actions"},
    h("a", {class: "button primary", href: href.kvCreate(dc, folder)}, "Create"),
    folder ? h("button", {type: "button", class: "button danger", on: {click: deleteFolder}}, "Delete folder") : null);
  main.append(breadcrumbs(dc, folder), pageTitle(folder ? baseName(folder) : "Key/Value"), actions, notice, count, results);

  async function remove(key) {
    const isFolder = key.endsWith("/");
    const ok = await confirmDialog({
      title: isFolder ? "Delete folder?" : "Delete key?",
      message: isFolder ? `The folder ${key} and every key in it will be deleted.` : `The key ${key} will be deleted.`,
      confirmLabel: "Delete",
    });
    if (!ok) return false;
    try {
      await api.kvDelete(key, {dc, recurse: isFolder});
      notice.textContent = `${isFolder ? "Folder" : "Key"} ${key} was deleted.`;
      return true;
    } catch (error) {
      notice.textContent = `Could not delete ${key}: ${describeError(error)}`;
      return false;
    }
  }

  async function deleteFolder() {
    if (await remove(folder)) router.navigate(href.kvFolder(dc, parentFolder(folder)));
  }

  function draw(keys) {
    // The folder's own key ("a/" itself) is not one of its entries.
    const entries = keys.filter((k) => k !== folder).sort((a, b) => {
      const fa = a.endsWith("/"), fb = b.endsWith("/");
      return fa !== fb ? (fa ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0;
    });
    count.textContent = entries.length ? plural(entries.length, "entry", "entries") : "";
    replaceContent(results, entries.length === 0
      ? h("p", {class: "empty"}, folder ? "This folder is empty." : "There are no keys yet.")
      : table({
        caption: folder ? "Keys in " + folder : "Keys",
        className: "kv",
        columns: ["Name", "Kind", ""],
        rows: entries.map((key) => {
          const isFolder = key.endsWith("/");
          const name = baseName(key);
          return h("tr", {data: {key}},
            cell("Name", h("a", {href: isFolder ? href.kvFolder(dc, key) : href.kvEdit(dc, key),
              class: isFolder ? "kv-folder" : "kv-key", data: {focus: "kv:" + key}},
            name)),
            cell("Kind", isFolder ? "folder" : "key"),
            cell("Actions", h("button", {type: "button", class: "button danger small", data: {focus: "delete:" + key},
              "aria-label": `Delete ${isFolder ? "folder" : "key"} ${name}`, on: {click: () => remove(key)}}, "Delete")));
        }),
      }));
    ready(ctx, "kv");
  }

  watch("/v1/kv/" + folder.split("/").map(encodeURIComponent).join("/"), {
    dc, signal, query: {keys: true, separator: "/"}, accept: [404], emptyValue: [],
    onData: (keys) => draw(keys || []),
  });
}
