// /ui/<dc>/kv/<key>/edit and /ui/<dc>/kv/<folder>/create: view, edit and
// create keys. Saving uses ?cas=<ModifyIndex>: a key someone else changed in
// the meantime is never overwritten silently; both values are shown instead.

import {api, describeError} from "../api.js";
import {confirmDialog, details, h} from "../dom.js";
import {base64ToBytes, bytesToBase64, bytesToText, looksLikeJSON, parseJSON, textToBytes, validFlags} from "../kv.js";
import {watch} from "../live.js";
import {baseName, href, parentFolder} from "../paths.js";
import {pageTitle} from "../router.js";
import {ready} from "./common.js";
import {breadcrumbs} from "./kv.js";

function decodeEntry(entry) {
  const bytes = base64ToBytes(entry.Value || "");
  return {...entry, bytes, text: bytesToText(bytes)};
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A value as a person reads it: its text, or its base64 when not UTF-8. */
function shown(bytes) {
  const text = bytesToText(bytes);
  return text === null ? {label: "base64", text: bytesToBase64(bytes)} : {label: "text", text};
}

function valueField({id, label}) {
  return {
    label: h("label", {for: id}, label),
    textarea: h("textarea", {id, name: "value", rows: 12, spellcheck: "false", class: "value-editor"}),
  };
}

function flagsField(value) {
  return h("div", {class: "field"},
    h("label", {for: "kv-flags"}, "Flags"),
    h("input", {id: "kv-flags", name: "flags", inputmode: "numeric", pattern: "[0-9]+", value: String(value),
      "aria-describedby": "kv-flags-hint"}),
    h("p", {id: "kv-flags-hint", class: "hint"}, "An unsigned 64-bit number that clients may use as they like."));
}

export function render(ctx) {
  if (ctx.route.name === "kv-create") renderCreate(ctx);
  else renderEdit(ctx);
}

// -- create ---------------------------------------------------------------------

function renderCreate(ctx) {
  const {dc, main, route, router} = ctx;
  const folder = route.folder;
  const status = h("p", {class: "notice", role: "status"});
  const nameInput = h("input", {id: "kv-name", name: "name", required: true, autocomplete: "off",
    "aria-describedby": "kv-name-hint"});
  const value = valueField({id: "kv-value", label: "Value"});
  const valueBox = h("div", {class: "field"}, value.label, value.textarea);
  nameInput.addEventListener("input", () => {
    valueBox.hidden = nameInput.value.endsWith("/");
  });
  const form = h("form", {class: "editor", on: {submit: save}},
    h("div", {class: "field"},
      h("label", {for: "kv-name"}, "Key or folder name"),
      h("div", {class: "prefixed"}, folder ? h("span", {class: "prefix"}, folder) : null, nameInput),
      h("p", {id: "kv-name-hint", class: "hint"}, "End the name with / to create a folder; a / inside it makes folders on the way.")),
    valueBox,
    flagsField(0),
    h("div", {class: "actions"},
      h("button", {type: "submit", class: "button primary"}, "Save"),
      h("a", {class: "button", href: href.kvFolder(dc, folder)}, "Cancel")));
  main.append(breadcrumbs(dc, folder, "Create"),
    pageTitle(folder ? `Create in ${folder}` : "Create key or folder"), status, form);
  ready(ctx, "kv-create");

  async function save(event) {
    event.preventDefault();
    const name = nameInput.value;
    const flags = form.elements.flags.value.trim() || "0";
    if (!name || name === "/" || name.startsWith("/")) {
      status.textContent = "Give the key a name (it cannot start with /).";
      nameInput.focus();
      return;
    }
    if (!validFlags(flags)) {
      status.textContent = "Flags must be a whole number from 0 to 18446744073709551615.";
      form.elements.flags.focus();
      return;
    }
    const key = folder + name;
    const isFolder = key.endsWith("/");
    try {
      // cas=0: only if there is no such key yet.
      const result = await api.kvPut(key, isFolder ? "" : textToBytes(value.textarea.value), {dc, cas: 0, flags});
      if (result.data !== true) {
        status.replaceChildren(`${key} exists already: `,
          h("a", {href: isFolder ? href.kvFolder(dc, key) : href.kvEdit(dc, key)}, "open it"), ".");
        return;
      }
    } catch (error) {
      status.textContent = `Could not create ${key}: ${describeError(error)}`;
      return;
    }
    router.navigate(isFolder ? href.kvFolder(dc, key) : href.kvEdit(dc, key));
  }
}

// -- edit -------------------------------------------------------------------------

function renderEdit(ctx) {
  const {dc, main, route, router, signal} = ctx;
  const key = route.key;
  const folder = parentFolder(key);
  let loaded = null;  // the entry as last read: {ModifyIndex, Flags, bytes, text, ...}
  let view = "text";

  const status = h("p", {class: "notice", role: "status"});
  const conflictBox = h("div", {class: "conflict", role: "alert", hidden: true});
  const body = h("div", null, h("p", {class: "loading"}, "Loading…"));
  main.append(breadcrumbs(dc, folder, baseName(key)), pageTitle(baseName(key)),
    h("p", null, "Key ", h("code", {class: "full-key"}, key)), status, conflictBox, body);

  const value = valueField({id: "kv-value", label: "Value"});
  const jsonNote = h("p", {class: "hint", id: "kv-json", "aria-live": "polite"});
  const formatButton = h("button", {type: "button", class: "button small", hidden: true, on: {click: formatJSON}},
    "Format JSON");
  const textRadio = h("input", {type: "radio", name: "view", value: "text", id: "view-text", checked: true,
    on: {change: () => setView("text")}});
  const base64Radio = h("input", {type: "radio", name: "view", value: "base64", id: "view-base64",
    on: {change: () => setView("base64")}});
  const binaryNote = h("p", {class: "hint", hidden: true}, "This value is not UTF-8 text; it is shown and edited as base64.");
  const flags = flagsField(0);
  const meta = h("div");
  const form = h("form", {class: "editor", on: {submit: save}},
    h("fieldset", {class: "view-choice"}, h("legend", null, "Show the value as"),
      h("span", {class: "radio"}, textRadio, h("label", {for: "view-text"}, "Text")),
      h("span", {class: "radio"}, base64Radio, h("label", {for: "view-base64"}, "Base64"))),
    binaryNote,
    h("div", {class: "field"}, value.label, value.textarea, h("div", {class: "json-line"}, jsonNote, formatButton)),
    flags,
    h("div", {class: "actions"},
      h("button", {type: "submit", class: "button primary"}, "Save"),
      h("a", {class: "button", href: href.kvFolder(dc, folder)}, "Back to ", folder || "Key/Value"),
      h("button", {type: "button", class: "button danger", on: {click: remove}}, "Delete")),
    meta);
  value.textarea.addEventListener("input", checkJSON);
  const flagsInput = flags.querySelector("input");

  function editorBytes() {
    if (view === "text") return textToBytes(value.textarea.value);
    return base64ToBytes(value.textarea.value.replace(/\s+/g, ""));  // throws on bad base64
  }

  function dirty() {
    if (!loaded) return false;
    try {
      return !sameBytes(editorBytes(), loaded.bytes) || flagsInput.value.trim() !== String(loaded.Flags);
    } catch {
      return true;
    }
  }

  /** Whether the editor holds exactly this entry's value and flags. */
  function showsInEditor(entry) {
    if (!loaded) return false;
    try {
      return sameBytes(editorBytes(), base64ToBytes(entry.Value || "")) && flagsInput.value.trim() === String(entry.Flags);
    } catch {
      return false;
    }
  }

  function setView(next) {
    let bytes;
    try {
      bytes = editorBytes();
    } catch {
      status.textContent = "The value is not valid base64.";
      textRadio.checked = view === "text";
      base64Radio.checked = view === "base64";
      return;
    }
    const text = bytesToText(bytes);
    if (next === "text" && text === null) {
      status.textContent = "This value is not UTF-8 text: it can only be shown as base64.";
      base64Radio.checked = true;
      return;
    }
    view = next;
    value.textarea.value = next === "text" ? text : bytesToBase64(bytes);
    checkJSON();
  }

  function checkJSON() {
    const text = value.textarea.value;
    if (view !== "text" || !looksLikeJSON(text)) {
      jsonNote.textContent = "";
      formatButton.hidden = true;
      return;
    }
    const parsed = parseJSON(text);
    jsonNote.textContent = parsed.ok ? "Valid JSON." : `Not valid JSON: ${parsed.error}`;
    formatButton.hidden = !parsed.ok;
  }

  function formatJSON() {
    const parsed = parseJSON(value.textarea.value);
    if (parsed.ok) value.textarea.value = JSON.stringify(parsed.value, null, 2);
    checkJSON();
  }

  /** Show an entry in the editor, dropping any edits. */
  function load(entry) {
    loaded = decodeEntry(entry);
    const binary = loaded.text === null;
    view = binary ? "base64" : view;
    textRadio.disabled = binary;
    binaryNote.hidden = !binary;
    textRadio.checked = view === "text";
    base64Radio.checked = view === "base64";
    value.textarea.value = view === "text" ? loaded.text : bytesToBase64(loaded.bytes);
    flagsInput.value = String(loaded.Flags);
    meta.replaceChildren(h("h2", null, "Details"), details([
      ["Create index", String(loaded.CreateIndex)],
      ["Modify index", String(loaded.ModifyIndex)],
      ["Lock index", String(loaded.LockIndex)],
      ["Locked by session", loaded.Session ? h("code", null, loaded.Session) : "none"],
    ]));
    checkJSON();
    if (!form.isConnected) body.replaceChildren(form);
  }

  function missing() {
    loaded = null;
    body.replaceChildren(h("p", {class: "empty"}, `There is no key ${key}. `,
      h("a", {href: href.kvCreate(dc, folder)}, "Create one"), "."));
  }

  function showConflict(mine, myFlags, current) {
    conflictBox.hidden = false;
    if (current === null) {
      conflictBox.replaceChildren(
        h("h2", null, "This key was deleted since you opened it"),
        h("p", null, "Nothing was saved. Your value is kept below."),
        h("pre", {class: "value-view"}, shown(mine).text),
        h("div", {class: "actions"},
          h("button", {type: "button", class: "button primary", on: {click: () => write(mine, myFlags, 0)}},
            "Create it again with my value"),
          h("a", {class: "button", href: href.kvFolder(dc, folder)}, "Leave it deleted")));
    } else {
      const theirs = decodeEntry(current);
      const a = shown(mine), b = shown(theirs.bytes);
      conflictBox.replaceChildren(
        h("h2", null, "Someone else changed this key since you opened it"),
        h("p", null, `Nothing was saved: the key is now at modify index ${theirs.ModifyIndex}, not ${loaded.ModifyIndex}. Compare the two values and choose.`),
        h("div", {class: "compare"},
          h("section", {class: "side mine", "aria-labelledby": "conflict-mine"},
            h("h3", {id: "conflict-mine"}, `Your value (${a.label})`),
            h("pre", {class: "value-view", data: {side: "mine"}}, a.text),
            myFlags !== String(theirs.Flags) ? h("p", null, `Flags ${myFlags}`) : null),
          h("section", {class: "side theirs", "aria-labelledby": "conflict-theirs"},
            h("h3", {id: "conflict-theirs"}, `Current value (${b.label})`),
            h("pre", {class: "value-view", data: {side: "theirs"}}, b.text),
            myFlags !== String(theirs.Flags) ? h("p", null, `Flags ${theirs.Flags}`) : null)),
        h("div", {class: "actions"},
          h("button", {type: "button", class: "button primary",
            on: {click: () => write(mine, myFlags, theirs.ModifyIndex)}}, "Save mine over it"),
          h("button", {type: "button", class: "button", on: {click: () => { hideConflict(); load(current); status.textContent = "Showing the current value."; }}},
            "Use the current value")));
    }
    conflictBox.querySelector("h2").tabIndex = -1;
    conflictBox.querySelector("h2").focus();
  }

  function hideConflict() {
    conflictBox.hidden = true;
    conflictBox.replaceChildren();
  }

  /** PUT with ?cas=index; a refusal shows the conflict, never overwrites. */
  async function write(bytes, flagsText, index) {
    let result;
    try {
      result = await api.kvPut(key, bytes, {dc, cas: index, flags: flagsText});
    } catch (error) {
      status.textContent = `Could not save: ${describeError(error)}`;
      return;
    }
    if (result.data === true) {
      hideConflict();
      const fresh = await api.kvGet(key, {dc});
      if (fresh.status === 200 && fresh.data && fresh.data[0]) load(fresh.data[0]);
      status.textContent = `Saved ${key}.`;
      return;
    }
    const current = await api.kvGet(key, {dc});
    showConflict(bytes, flagsText, current.status === 200 && current.data ? current.data[0] : null);
    status.textContent = "Not saved: the key changed.";
  }

  async function save(event) {
    event.preventDefault();
    let bytes;
    try {
      bytes = editorBytes();
    } catch {
      status.textContent = "The value is not valid base64.";
      return;
    }
    const flagsText = flagsInput.value.trim() || "0";
    if (!validFlags(flagsText)) {
      status.textContent = "Flags must be a whole number from 0 to 18446744073709551615.";
      flagsInput.focus();
      return;
    }
    await write(bytes, flagsText, loaded ? loaded.ModifyIndex : 0);
  }

  async function remove() {
    const ok = await confirmDialog({title: "Delete key?", message: `The key ${key} will be deleted.`,
      confirmLabel: "Delete"});
    if (!ok) return;
    try {
      await api.kvDelete(key, {dc});
    } catch (error) {
      status.textContent = `Could not delete ${key}: ${describeError(error)}`;
      return;
    }
    router.navigate(href.kvFolder(dc, folder));
  }

  // Follow the key: an untouched editor shows a new value at once; one with
  // edits keeps them and says the key changed (saving then shows both).
  watch("/v1/kv/" + key.split("/").map(encodeURIComponent).join("/"), {dc, signal, accept: [404], onData(data) {
    const entry = Array.isArray(data) && data[0] ? data[0] : null;
    if (loaded === null && entry === null) missing();
    else if (entry === null) status.textContent = `${key} was deleted on the server.`;
    else if (showsInEditor(entry)) load(entry);  // our own save, or the same edit
    else if (loaded === null || !dirty()) {
      if (loaded !== null && entry.ModifyIndex !== loaded.ModifyIndex) status.textContent = "The key changed on the server; showing its new value.";
      load(entry);
    } else if (entry.ModifyIndex !== loaded.ModifyIndex) {
      status.textContent = "This key changed on the server since you opened it. Saving will show both values first.";
    }
    ready(ctx, "kv-edit");
  }});
}
