/**
 * The crew app /mdt/ (crews/pages.py): a unit's MDT (mdt.js) or a repair crew's orders (repair.js) on a phone or
 * tablet. It is the inspector app's kind of PWA: grid/sw.js keeps the shell and the last answers for offline
 * use, and presses that must reach the server go through the same outbox (grid/tablet-outbox.js), sent in order
 * with their idempotency keys when the network is back.
 */
import {byId, flash} from "../lib/dom.js";
import {createMap} from "../grid/grid-map.js";
import {Outbox, syncState} from "../grid/tablet-outbox.js";
import {startMdt} from "./mdt.js";
import {startRepair} from "./repair.js";

const config = JSON.parse(byId("crew-config").textContent);
const S = config.strings;

/** "{n} waiting" with {n: 2} → "2 waiting". */
function format(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (match, name) => String(values[name] ?? match));
}

function paintNet() {
  const net = byId("net-state");
  net.dataset.online = navigator.onLine ? "1" : "0";
  net.textContent = navigator.onLine ? S.online : S.offline;
}

function paintSync(app) {
  const sync = syncState(app.records, app.outbox);
  byId("sync-state").dataset.state = sync.state;
  const text = {
    idle: S.allSent,
    sending: S.sending,
    queued: navigator.onLine ? S.queued : S.queuedOffline,
    failed: S.failed,
  }[sync.state];
  byId("sync-text").textContent = format(text, {n: sync.n, reason: sync.reason ?? ""});
}

function showMode(mode) {
  for (const name of ["unit", "repair"]) {
    byId(`tab-${name}`).setAttribute("aria-selected", String(name === mode));
    byId(`pane-${name}`).hidden = name !== mode;
  }
}

async function main() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/mdt/sw.js", {scope: "/mdt/"}).catch((error) => console.warn("service worker", error));
  }
  const {map, ready} = createMap("map", {theme: "light"});
  const app = {
    config,
    S,
    format,
    map,
    ready,
    records: [],
    outbox: new Outbox(config.user),
    toast: (text) => flash(byId("toast"), text, 4000),
    say: (text) => flash(byId("crew-message"), text, 8000),
  };
  paintNet();
  window.addEventListener("online", paintNet);
  window.addEventListener("offline", paintNet);
  app.outbox.addEventListener("change", async () => {
    app.records = await app.outbox.records();
    paintSync(app);
    app.onRecords?.();
  });
  await app.outbox.open();

  const modes = config.modes;
  byId("mode-tabs").hidden = modes.length < 2;
  for (const mode of modes) byId(`tab-${mode}`).addEventListener("click", () => showMode(mode));
  showMode(modes[0]);
  await ready;
  if (modes.includes("unit")) startMdt(app);
  if (modes.includes("repair")) startRepair(app);
}

main();
