// /ui/settings: the ACL token every request carries (X-Consul-Token).

import {getToken, setToken} from "../api.js";
import {h} from "../dom.js";
import {pageTitle} from "../router.js";
import {ready} from "./common.js";

export function render(ctx) {
  const status = h("p", {class: "notice", role: "status"});
  const input = h("input", {id: "acl-token", name: "token", type: "password", autocomplete: "off",
    spellcheck: "false", value: getToken(), "aria-describedby": "acl-token-hint"});
  const form = h("form", {class: "editor", on: {submit(event) {
    event.preventDefault();
    setToken(input.value.trim());
    status.textContent = input.value.trim() ? "The token is saved; every request now sends it." : "No token: requests are anonymous.";
  }}},
  h("div", {class: "field"},
    h("label", {for: "acl-token"}, "ACL token"),
    input,
    h("p", {id: "acl-token-hint", class: "hint"},
      "Sent as the X-Consul-Token header with every request this page makes. It is kept in this browser only (local storage).")),
  h("div", {class: "actions"},
    h("button", {type: "submit", class: "button primary"}, "Save"),
    h("button", {type: "button", class: "button", on: {click() {
      input.value = "";
      setToken("");
      status.textContent = "The token is removed: requests are anonymous.";
    }}}, "Remove token")));
  ctx.main.append(pageTitle("Settings"), status, form);
  ready(ctx, "settings");
}
