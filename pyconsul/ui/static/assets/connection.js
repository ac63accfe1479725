// The page's one line about the agent's reachability: shown while any live
// query is failing, with when it will try again; hidden once they all work.

const failing = new Map();  // watcher -> message

function show() {
  const el = document.getElementById("connection");
  if (!el) return;
  if (failing.size === 0) {
    el.hidden = true;
    el.textContent = "";
    el.removeAttribute("data-state");
    return;
  }
  const message = [...failing.values()].pop();
  el.hidden = false;
  el.dataset.state = "failing";
  el.textContent = message;
}

export function reportFailure(watcher, message) {
  failing.set(watcher, message);
  show();
}

export function reportOk(watcher) {
  if (failing.delete(watcher)) show();
}

/** A watcher that stopped (its page was left) no longer counts. */
export function forget(watcher) {
  reportOk(watcher);
}
