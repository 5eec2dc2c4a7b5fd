/**
 * The import screen (/imports/): starts an import as a background job (POST /api/core/jobs/) and shows every
 * recent job with a progress bar that follows it, polling the jobs API (no live feed needed, works offline):
 * twice a second while a job is waiting or running, every ten seconds otherwise. Cancel and retry go to the
 * job's own endpoints. Every text comes from the page (translated server-side).
 */
import {api, fieldErrors} from "../lib/api.js";
import {byId, el, flash} from "../lib/dom.js";

const config = JSON.parse(byId("imports-config").textContent);
const strings = config.strings;
const BUSY_POLL_MS = 500;
const IDLE_POLL_MS = 10000;

const form = byId("import-form");
const kindSelect = byId("import-kind");
const fileInput = byId("import-file");
const message = byId("import-message");
const list = byId("import-jobs");
let pollTimer = null;

function showOptions() {
  for (const fieldset of form.querySelectorAll(".imports-options")) {
    const shown = fieldset.dataset.kind === kindSelect.value;
    fieldset.hidden = !shown;
    fieldset.disabled = !shown; // a hidden kind's fields are not sent
  }
  fileInput.accept = kindSelect.selectedOptions[0]?.dataset.accept ?? "";
}

function percent(job) {
  if (job.state === "succeeded") return 100;
  return job.total ? Math.min(100, Math.round((100 * job.done) / job.total)) : null;
}

function action(label, url) {
  return el("button", {type: "button", class: "imports-job-action", onclick: () => act(url)}, label);
}

function jobItem(job) {
  const share = percent(job);
  const bar = el("progress", {max: 100, "aria-label": job.title});
  if (share !== null) bar.value = share; // without a value the bar shows it is busy without a figure
  const figures = job.total ? `${job.done} / ${job.total}` : "";
  return el(
    "li",
    {class: "imports-job", dataset: {job: job.id, state: job.state}},
    el(
      "div",
      {class: "imports-job-head"},
      el("strong", {}, job.title),
      el("span", {class: "imports-job-kind"}, job.kind_label),
      el("span", {class: "imports-job-state"}, strings.states[job.state] ?? job.state),
    ),
    el(
      "div",
      {class: "imports-job-progress"},
      bar,
      el("span", {class: "imports-job-percent"}, share === null ? "" : `${share}%`),
    ),
    el(
      "div",
      {class: "imports-job-stage"},
      job.finished ? "" : job.stage_label,
      figures ? el("span", {class: "imports-job-figures"}, figures) : null,
      job.finished ? null : action(strings.cancel, `/api/core/jobs/${job.id}/cancel/`),
      job.state === "failed" ? action(strings.retry, `/api/core/jobs/${job.id}/retry/`) : null,
    ),
    job.error && job.state !== "aborted" ? el("p", {class: "imports-job-error"}, job.error) : null,
    job.result ? el("details", {class: "imports-job-result"}, el("summary", {}, strings.result), el("pre", {}, JSON.stringify(job.result, null, 2))) : null,
  );
}

function render(jobs) {
  list.replaceChildren(...(jobs.length ? jobs.map(jobItem) : [el("li", {class: "imports-empty"}, strings.noJobs)]));
}

async function refresh() {
  clearTimeout(pollTimer);
  let busy = false;
  try {
    const {results} = await api("/api/core/jobs/");
    render(results);
    busy = results.some((job) => !job.finished);
  } catch (error) {
    flash(message, `${strings.requestFailed}: ${error.message}`);
  }
  pollTimer = setTimeout(refresh, busy ? BUSY_POLL_MS : IDLE_POLL_MS);
}

async function act(url) {
  try {
    await api(url, {method: "POST"});
  } catch (error) {
    flash(message, `${strings.requestFailed}: ${error.message}`);
  }
  refresh();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("/api/core/jobs/", {form: new FormData(form)});
    flash(message, strings.started);
    form.reset();
    showOptions();
  } catch (error) {
    const errors = fieldErrors(error.data);
    flash(message, Object.keys(errors).length ? Object.entries(errors).map(([field, text]) => `${field}: ${text}`).join("; ") : error.message, 10000);
  } finally {
    button.disabled = false;
  }
  refresh();
});

kindSelect.addEventListener("change", showOptions);
showOptions();
refresh();
