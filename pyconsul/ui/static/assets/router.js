// History-API navigation: links under the UI's base open without a reload,
// the back button works, and each page is a module loaded when first shown.

import {BASE, parse} from "./paths.js";

const PAGES = {
  services: () => import("./pages/services.js"),
  service: () => import("./pages/service.js"),
  nodes: () => import("./pages/nodes.js"),
  node: () => import("./pages/node.js"),
  kv: () => import("./pages/kv.js"),
  "kv-edit": () => import("./pages/kv_edit.js"),
  "kv-create": () => import("./pages/kv_edit.js"),
  settings: () => import("./pages/settings.js"),
  notfound: () => import("./pages/notfound.js"),
};

export class Router {
  /** onRoute(route, {signal, first}) shows a route; resolve() may redirect it. */
  constructor({main, resolve, onNavigate}) {
    this.main = main;
    this.resolve = resolve;
    this.onNavigate = onNavigate;
    this.controller = null;
    this.first = true;
    document.addEventListener("click", (event) => this.onClick(event));
    window.addEventListener("popstate", () => this.show());
  }

  onClick(event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
    event.preventDefault();
    this.navigate(url.pathname + url.search);
  }

  navigate(url, {replace = false} = {}) {
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    return this.show();
  }

  /** Change the query string without showing the page again (filters). */
  setQuery(search) {
    history.replaceState(null, "", location.pathname + search);
  }

  async show() {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const first = this.first;
    this.first = false;
    let route = parse(location.pathname);
    const redirect = await this.resolve(route, controller.signal);
    if (controller.signal.aborted) return;
    if (redirect) {
      history.replaceState(null, "", redirect);
      route = parse(location.pathname);
    }
    this.onNavigate(route);
    const module = await (PAGES[route.name] || PAGES.notfound)();
    if (controller.signal.aborted) return;
    const ctx = {
      route,
      dc: route.dc,
      main: this.main,
      signal: controller.signal,
      query: new URLSearchParams(location.search),
      router: this,
    };
    this.main.replaceChildren();
    this.main.removeAttribute("data-ready");
    module.render(ctx);
    if (!first) {
      const heading = this.main.querySelector("h1");
      (heading || this.main).focus({preventScroll: false});
    }
  }
}

/** The page's h1, focusable so navigation can move the focus there. */
export function pageTitle(text, ...more) {
  document.title = `${text} - Consul`;
  const h1 = document.createElement("h1");
  h1.tabIndex = -1;
  h1.textContent = text;
  for (const node of more) h1.append(node);
  return h1;
}
