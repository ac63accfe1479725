// Health as the pages show it: never colour alone -- every status has an
// icon and a word, and the colour comes on top.

import {h} from "./dom.js";

export const STATUSES = ["passing", "warning", "critical"];
const ICONS = {passing: "✓", warning: "!", critical: "✕", none: "–"};
const RANK = {none: 0, passing: 1, warning: 2, critical: 3};

export function counts(checks) {
  const result = {passing: 0, warning: 0, critical: 0};
  for (const check of checks) {
    if (check.Status in result) result[check.Status] += 1;
  }
  return result;
}

/** The worst status of some checks: "critical", "warning", "passing", or "none". */
export function worst(checks) {
  let status = "none";
  for (const check of checks) {
    const s = check.Status in RANK ? check.Status : "critical";
    if (RANK[s] > RANK[status]) status = s;
  }
  return status;
}

export function worstOfCounts(c) {
  return c.critical ? "critical" : c.warning ? "warning" : c.passing ? "passing" : "none";
}

/** One status as a badge: "✓ passing", or "✓ 3 passing" with a count. */
export function badge(status, count) {
  const label = status === "none" ? "no checks" : status;
  return h("span", {class: `badge status-${status}`, data: {status}},
    h("span", {class: "icon", "aria-hidden": "true"}, ICONS[status] || "?"),
    count === undefined ? ` ${label}` : ` ${count} ${label}`);
}

/** Passing / warning / critical counts; statuses with none are left out. */
export function summary(c) {
  const shown = STATUSES.filter((s) => c[s] > 0);
  if (shown.length === 0) return h("span", {class: "health-summary"}, badge("none"));
  return h("span", {class: "health-summary", data: {status: worstOfCounts(c)}},
    shown.flatMap((s, i) => (i ? [" ", badge(s, c[s])] : [badge(s, c[s])])));
}

/** A check as a list item: status, name, notes and output. */
export function checkItem(check) {
  return h("li", {class: `check status-${check.Status}`, data: {status: check.Status, check: check.CheckID}},
    h("div", {class: "check-head"},
      badge(check.Status),
      h("span", {class: "check-name"}, check.Name || check.CheckID),
      check.Name && check.Name !== check.CheckID ? h("code", {class: "check-id"}, check.CheckID) : null,
      check.Type ? h("span", {class: "muted"}, check.Type) : null),
    check.Notes ? h("p", {class: "check-notes"}, check.Notes) : null,
    check.Output ? h("pre", {class: "check-output"}, check.Output) : null);
}

export function checkList(checks, emptyText = "No health checks.") {
  if (checks.length === 0) return h("p", {class: "muted"}, emptyText);
  const sorted = [...checks].sort((a, b) => RANK[b.Status] - RANK[a.Status] || (a.Name < b.Name ? -1 : 1));
  return h("ul", {class: "checks"}, sorted.map(checkItem));
}

/** The status filter's choices, for the list pages. */
export const FILTER_CHOICES = [
  ["", "All statuses"],
  ["passing", "Passing"],
  ["warning", "Warning"],
  ["critical", "Critical"],
  ["none", "No checks"],
];
