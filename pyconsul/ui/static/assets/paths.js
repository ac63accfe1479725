// The UI's addresses are Consul's UI's, so bookmarks and pasted links work:
//   <base>                          -> <base><dc>/services
//   <base><dc>/services[/<name>]    <base><dc>/nodes[/<node>]
//   <base><dc>/kv/[<folder>/]       <base><dc>/kv/<key>/edit
//   <base><dc>/kv/[<folder>/]create <base>settings

const meta = document.querySelector('meta[name="pyconsul-ui-content-path"]');
export const BASE = meta ? meta.content : "/ui/";

const seg = encodeURIComponent;

function kvPath(key) {
  return key.split("/").map(seg).join("/");
}

export const href = {
  root: () => BASE,
  settings: () => BASE + "settings",
  services: (dc, query) => BASE + seg(dc) + "/services" + (query || ""),
  service: (dc, name) => BASE + seg(dc) + "/services/" + seg(name),
  nodes: (dc, query) => BASE + seg(dc) + "/nodes" + (query || ""),
  node: (dc, node) => BASE + seg(dc) + "/nodes/" + seg(node),
  // A folder is "" (the root) or ends with "/".
  kvFolder: (dc, folder) => BASE + seg(dc) + "/kv/" + kvPath(folder),
  kvEdit: (dc, key) => BASE + seg(dc) + "/kv/" + kvPath(key) + "/edit",
  kvCreate: (dc, folder) => BASE + seg(dc) + "/kv/" + kvPath(folder) + "create",
};

function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The route of a pathname: {name, dc, ...}. */
export function parse(pathname) {
  if (!pathname.startsWith(BASE)) return {name: "notfound"};
  const relative = pathname.slice(BASE.length);
  if (relative === "") return {name: "root"};
  if (relative === "settings" || relative === "settings/") return {name: "settings"};
  const slash = relative.indexOf("/");
  const dc = decode(slash < 0 ? relative : relative.slice(0, slash));
  const rest = slash < 0 ? "" : relative.slice(slash + 1);
  if (rest === "") return {name: "dc", dc};
  const [section, ...more] = rest.split("/");
  if (section === "services" || section === "nodes") {
    const list = section === "services" ? "services" : "nodes";
    if (more.length === 0 || more[0] === "") return {name: list, dc};
    // Consul's UI adds a tab (".../web/instances"); the page is the same.
    return {name: list === "services" ? "service" : "node", dc, id: decode(more[0])};
  }
  if (section === "kv") {
    const keyPath = more.join("/");
    if (keyPath === "" ) return {name: "kv", dc, folder: ""};
    if (keyPath === "create" || keyPath.endsWith("/create")) {
      return {name: "kv-create", dc, folder: decode(keyPath.slice(0, -"create".length))};
    }
    if (keyPath.endsWith("/edit")) return {name: "kv-edit", dc, key: decode(keyPath.slice(0, -"/edit".length))};
    const folder = decode(keyPath);
    return {name: "kv", dc, folder: folder.endsWith("/") ? folder : folder + "/"};
  }
  return {name: "notfound", dc};
}

/** The parent folder of a key or folder ("a/b/" and "a/c" are in "a/"). */
export function parentFolder(key) {
  const trimmed = key.endsWith("/") ? key.slice(0, -1) : key;
  const at = trimmed.lastIndexOf("/");
  return at < 0 ? "" : trimmed.slice(0, at + 1);
}

/** The last part of a key or folder, as a listing shows it ("b/" of "a/b/"). */
export function baseName(key) {
  const folder = key.endsWith("/");
  const trimmed = folder ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) + (folder ? "/" : "");
}
