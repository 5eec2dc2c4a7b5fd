/**
 * The inbox widget (我的通知) any console can include (notify/inbox.html): the signed-in user's unacknowledged
 * notices with a 确认 button each. It follows the live feed's "notices" topic, whose events reach only their
 * recipient and carry ids, never text; on each one it reads the inbox again from /api/notify/inbox/ and opens
 * itself when something new and unacknowledged arrived.
 *
 *   startInbox(document.getElementById("notify-inbox"));
 */
import {NOTIFICATION_ACKNOWLEDGED, NOTIFICATION_ESCALATED, NOTIFICATION_SENT} from "/events.js";
import {api} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {OpsSocket} from "../lib/ops-socket.js";
import {arrived, unacknowledged} from "./inbox-items.js";

const RELOAD_ON = new Set([NOTIFICATION_SENT, NOTIFICATION_ESCALATED, NOTIFICATION_ACKNOWLEDGED]);

function timeText(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleString("zh-CN", {hour12: false});
}

export function startInbox(root) {
  const strings = root.dataset;
  const toggle = root.querySelector(".inbox-toggle");
  const count = root.querySelector(".inbox-count");
  const panel = root.querySelector(".inbox-panel");
  const list = root.querySelector(".inbox-list");
  const message = root.querySelector(".inbox-message");
  let shown = [];

  const setOpen = (open) => {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setOpen(panel.hidden));

  async function acknowledge(item, button) {
    button.disabled = true;
    try {
      await api(item.ack_url, {method: "POST"});
      message.textContent = strings.acknowledged;
      await reload();
    } catch (error) {
      button.disabled = false;
      message.textContent = `${strings.ackFailed} ${error.message}`;
    }
  }

  function row(item) {
    const button = el("button", {type: "button", class: "inbox-ack"}, strings.ack);
    button.addEventListener("click", () => acknowledge(item, button));
    return el(
      "li",
      {class: "inbox-item", dataset: {id: item.id, severity: item.severity}},
      el("div", {class: "inbox-head"},
        el("span", {class: "inbox-severity"}, item.severity_label),
        el("strong", {class: "inbox-subject"}, item.subject)),
      el("p", {class: "inbox-body"}, item.body),
      el("div", {class: "inbox-meta"},
        el("span", {}, `${strings.from}：${item.sender || "—"}`),
        el("time", {datetime: item.created_at}, timeText(item.created_at)),
        item.ack_deadline ? el("span", {class: "inbox-deadline"}, `${strings.ackBy} ${timeText(item.ack_deadline)}`) : null),
      button,
    );
  }

  async function reload() {
    let inbox;
    try {
      inbox = await api("/api/notify/inbox/");
    } catch (error) {
      message.textContent = error.message;
      return;
    }
    const now = unacknowledged(inbox);
    const fresh = arrived(shown, now);
    shown = now;
    count.textContent = String(now.length);
    root.dataset.unacknowledged = String(now.length);
    list.replaceChildren(...(now.length ? now.map(row) : [el("li", {class: "inbox-none"}, strings.none)]));
    if (fresh.length) {
      message.textContent = "";
      setOpen(true);
    }
  }

  const socket = new OpsSocket({
    topics: ["notices"],
    onSnapshot: () => reload(),
    onEvent: (event) => {
      if (RELOAD_ON.has(event.type)) reload();
    },
    onStatus: (state) => {
      root.dataset.live = state;
    },
  });
  socket.start();
  return socket;
}

const root = document.getElementById("notify-inbox");
if (root) startInbox(root);
