/**
 * The duty console (值班管理): who is on duty now per desk, sign-on and hand-over with the open items, the duty
 * log of a desk (people's entries and the system's, 大事记 filter) and today's roster — kept current from /ws/ops/
 * (topic "duty", and "incidents", whose events the duty log shows).
 */
import {api} from "../lib/api.js";
import {byId, el, flash} from "../lib/dom.js";
import {OpsSocket, livePill} from "../lib/ops-socket.js";

const RELOAD_DELAY_MS = 500;
const root = byId("duty");
const me = root.dataset.user;
const writes = Boolean(root.dataset.writes);
const strings = byId("duty-strings").dataset;
const state = {board: [], deskId: null};

const message = (text) => flash(byId("duty-message"), text, 8000);
const time = (iso) => (iso ? iso.slice(11, 16) : "");
const deskOf = (id) => state.board.find((desk) => desk.id === id);

async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    message(error.message || strings.loadFailed);
    return undefined;
  }
}

function person(p) {
  return el(
    "li",
    {class: `duty-person${p.signed_on ? " is-on" : ""}`, dataset: {username: p.username}},
    el("span", {class: "role"}, p.role_label),
    el("strong", {}, p.name),
    p.phone ? el("a", {class: "phone", href: `tel:${p.phone}`}, p.phone) : null,
    el("span", {class: "badge"}, p.signed_on ? strings.signedOn : strings.notSignedOn),
  );
}

function deskCard(desk) {
  const mine = desk.on_duty.find((p) => p.username === me);
  const session = desk.session;
  const actions = [];
  if (mine && !mine.signed_on && desk.shift) {
    actions.push(el("button", {type: "button", class: "sign-on", onclick: () => signOn(desk)}, strings.signOn));
  }
  if (session && session.signed_on_by.username === me) {
    actions.push(el("button", {type: "button", class: "hand-over", onclick: () => selectDesk(desk.id, true)}, strings.handOver));
  }
  return el(
    "li",
    {class: `desk-card${desk.id === state.deskId ? " is-selected" : ""}`, dataset: {desk: desk.code}},
    el(
      "header",
      {onclick: () => selectDesk(desk.id)},
      el("h3", {}, desk.name),
      el("span", {class: "shift"}, desk.shift ? `${desk.shift.name} ${time(desk.shift.start)}–${time(desk.shift.end)}` : strings.noShift),
    ),
    desk.on_duty.length ? el("ul", {class: "people"}, desk.on_duty.map(person)) : el("p", {class: "empty"}, strings.nobody),
    session ? el("p", {class: "session"}, `${strings.openSession} ${time(session.signed_on_at)} · ${session.signed_on_by.name}`) : null,
    actions.length ? el("div", {class: "actions"}, actions) : null,
  );
}

function renderBoard() {
  byId("desk-cards").replaceChildren(...state.board.map(deskCard));
  const select = byId("log-desk");
  select.replaceChildren(...state.board.map((desk) => el("option", {value: desk.id, selected: desk.id === state.deskId}, desk.name)));
  renderItems();
}

function renderItems() {
  const desk = deskOf(state.deskId);
  byId("items-desk").textContent = desk ? `· ${desk.name}` : "";
  const items = desk?.open_items ?? [];
  byId("item-list").replaceChildren(
    ...(items.length
      ? items.map((item) =>
          el(
            "li",
            {dataset: {item: item.id}},
            el("span", {class: "text"}, item.text),
            item.shifts > 1 ? el("span", {class: "carried"}, `${strings.carried} ${item.shifts - 1}`) : null,
            writes ? el("button", {type: "button", onclick: () => closeItem(item)}, strings.done) : null,
          ),
        )
      : [el("li", {class: "empty"}, strings.noItems)]),
  );
}

async function loadBoard() {
  state.board = (await api("/api/duty/now/")) ?? [];
  if (!deskOf(state.deskId)) {
    const mine = state.board.find((desk) => desk.on_duty.some((p) => p.username === me));
    state.deskId = (mine ?? state.board[0])?.id ?? null;
  }
  renderBoard();
}

async function loadLog() {
  const list = byId("log-list");
  if (state.deskId === null) return list.replaceChildren();
  const major = byId("major-only").checked ? "?major=1" : "";
  const log = await api(`/api/duty/desks/${state.deskId}/log/${major}`);
  const rows = [...log.entries].reverse(); // newest first
  list.replaceChildren(
    ...(rows.length
      ? rows.map((entry) =>
          el(
            "li",
            {class: `log-entry ${entry.source}${entry.major ? " major" : ""}`},
            el("time", {datetime: entry.at}, time(entry.at)),
            entry.major ? el("span", {class: "tag"}, strings.major) : null,
            el("span", {class: "text"}, entry.text),
            el("span", {class: "who"}, entry.author ? entry.author.name : strings.system),
          ),
        )
      : [el("li", {class: "empty"}, strings.noEntries)]),
  );
  document.body.dataset.logEntries = String(log.entries.length);
}

async function loadRoster() {
  const roster = await api(`/api/duty/roster/?date=${root.dataset.today}`);
  const rows = roster.flatMap((desk) =>
    desk.shifts.map((shift, index) =>
      el(
        "tr",
        {},
        index === 0 ? el("th", {rowspan: desk.shifts.length, scope: "row"}, desk.name) : null,
        el("td", {}, `${shift.name} ${time(shift.start)}–${time(shift.end)}`),
        el("td", {}, shift.people.map((p) => el("span", {class: "roster-person"}, `${p.role_label} ${p.name}`))),
      ),
    ),
  );
  byId("roster-table").tBodies[0].replaceChildren(...rows);
}

async function loadHandover() {
  const box = byId("handover-box");
  const desk = deskOf(state.deskId);
  const session = desk?.session;
  if (!session || session.signed_on_by.username !== me) {
    box.hidden = true;
    return;
  }
  const preview = await api(`/api/duty/sessions/${session.id}/hand-over/`);
  const submit = byId("handover-submit");
  const boxes = preview.items.map((item) => el("input", {type: "checkbox", value: item.id, onchange: () => update()}));
  const update = () => (submit.disabled = !boxes.every((b) => b.checked));
  byId("confirm-list").replaceChildren(...preview.items.map((item, i) => el("li", {}, el("label", {}, boxes[i], ` ${item.text}`))));
  byId("incident-carry").replaceChildren(
    ...preview.incidents.map((ref) => el("li", {}, el("span", {class: "tag"}, strings.willCarry), ` ${ref.number} ${ref.label}`)),
  );
  submit.onclick = () =>
    guarded(async () => {
      submit.disabled = true;
      await api(`/api/duty/sessions/${session.id}/hand-over/`, {
        json: {confirmed_item_ids: preview.items.map((item) => item.id), notes: byId("handover-notes").value},
      });
      byId("handover-notes").value = "";
      message(strings.handedOverOk);
      await refresh();
    });
  update();
  box.hidden = false;
}

async function selectDesk(id, focusHandover = false) {
  state.deskId = id;
  renderBoard();
  await guarded(() => Promise.all([loadLog(), loadHandover()]));
  if (focusHandover) byId("handover-box").scrollIntoView({block: "nearest"});
}

async function signOn(desk) {
  await guarded(async () => {
    await api(`/api/duty/desks/${desk.id}/sign-on/`, {json: {}});
    state.deskId = desk.id;
    message(strings.signedOnOk);
    await refresh();
  });
}

async function closeItem(item) {
  await guarded(async () => {
    await api(`/api/duty/items/${item.id}/done/`, {method: "POST"});
    await refresh();
  });
}

async function refresh() {
  await guarded(async () => {
    await loadBoard();
    await Promise.all([loadLog(), loadHandover()]);
  });
}

let reloadTimer = null;
function refreshSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(refresh, RELOAD_DELAY_MS);
}

byId("log-desk").addEventListener("change", (event) => selectDesk(Number(event.target.value)));
byId("major-only").addEventListener("change", () => guarded(loadLog));
byId("log-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    await api(`/api/duty/desks/${state.deskId}/log/`, {json: {text: byId("log-text").value, kind: byId("log-kind").value}});
    byId("log-text").value = "";
    await loadLog();
  });
});
byId("item-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    await api(`/api/duty/desks/${state.deskId}/items/`, {json: {text: byId("item-text").value}});
    byId("item-text").value = "";
    await refresh();
  });
});

await refresh();
await guarded(loadRoster);
document.body.dataset.dutyReady = "1";
new OpsSocket({topics: ["duty", "incidents"], onEvent: refreshSoon, onStatus: livePill(byId("live-pill"))}).start();
