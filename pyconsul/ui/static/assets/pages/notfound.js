// Any other address under the UI.

import {h} from "../dom.js";
import {href} from "../paths.js";
import {pageTitle} from "../router.js";
import {ready} from "./common.js";

export function render(ctx) {
  ctx.main.append(pageTitle("Page not found"),
    h("p", null, "The UI has no page at this address. ",
      ctx.dc ? h("a", {href: href.services(ctx.dc)}, "Go to the services") : h("a", {href: href.root()}, "Go to the start"),
      "."));
  ready(ctx, "notfound");
}
