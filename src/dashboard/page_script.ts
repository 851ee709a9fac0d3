/**
 * The dashboard page's one inline script, run under the page's
 * Content-Security-Policy nonce: it listens to `api/events`, re-reads the
 * counts and the rows shown when an update of the queue arrives (one read
 * at a time, 300 ms apart at least, never by polling), follows a shown job's progress, and
 * sends the actions as JSON POSTs. It puts every value into the page with
 * `textContent` or as a property, never as markup. Text only.
 *
 * @module
 */

/** The script of the page (plain JavaScript, no build step). */
export const SCRIPT = `"use strict";
(() => {
  const d = document.body.dataset;
  const base = d.base, queue = d.queue, readOnly = d.readonly === "1";
  const $ = (sel) => document.querySelector(sel);
  const enc = encodeURIComponent;
  const qpath = (name) => "queues/" + enc(name);
  const time = (ms) => ms === undefined || ms === null ? "\\u2014" : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
  const json = (v) => v === undefined ? "\\u2014" : JSON.stringify(v, null, 2);
  const link = (params) => base + "?" + new URLSearchParams(params).toString();

  const noticeEl = $("#notice");
  let noticeTimer = 0;
  function notice(text, bad) {
    noticeEl.textContent = text;
    noticeEl.className = "show" + (bad ? " bad" : "");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { noticeEl.className = ""; }, 4000);
  }

  async function call(method, path, body) {
    const init = { method, headers: { accept: "application/json" } };
    if (method === "POST") {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    const res = await fetch(base + "api/" + path, init);
    const out = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(out.error || ("HTTP " + res.status));
    return out;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function button(action, label, data, danger) {
    const b = el("button", label, danger ? "danger" : "");
    b.type = "button";
    b.dataset.action = action;
    for (const k in data) b.dataset[k] = data[k];
    return b;
  }
  function jobActions(job) {
    const cell = el("td", undefined, "nowrap");
    if (readOnly) return cell;
    if (job.status === "failed" || job.status === "cancelled") cell.append(button("retry", "Retry", { id: job.id }));
    if (job.status === "waiting" || job.status === "pending" || job.status === "processing") cell.append(button("cancel", "Cancel", { id: job.id }));
    cell.append(" ", button("remove", "Remove", { id: job.id }, true));
    return cell;
  }
  function jobRow(job) {
    const tr = el("tr");
    tr.dataset.jobId = job.id;
    const a = el("a", job.id);
    a.href = link({ queue, job: job.id });
    const id = el("td", undefined, "mono");
    id.append(a);
    const status = el("td");
    status.append(el("span", job.status, "badge s-" + job.status));
    const prog = el("td", undefined, "nowrap");
    const bar = el("progress");
    bar.max = 1;
    bar.value = job.progress;
    prog.append(bar, " " + Math.round(job.progress * 100) + "%");
    tr.append(id, el("td", job.type), status, el("td", job.attempt + "/" + job.maxAttempts, "num"),
      prog, el("td", job.key || "", "mono"), el("td", time(job.createdAt), "mono"),
      el("td", time(job.updatedAt), "mono"), jobActions(job));
    return tr;
  }

  function countsOf(stats) {
    const out = {};
    for (const k in stats) if (typeof stats[k] === "number") out[k] = stats[k];
    return out;
  }
  function showQueue(s) {
    const counts = countsOf(s.stats);
    for (const row of document.querySelectorAll("tr[data-queue-row]")) {
      if (row.dataset.queueRow !== s.name) continue;
      for (const cell of row.querySelectorAll("[data-count]")) cell.textContent = String(counts[cell.dataset.count] ?? 0);
      const state = row.querySelector("[data-paused]");
      if (state) state.textContent = s.paused ? "paused" : "running";
      for (const b of row.querySelectorAll("button[data-action=pause],button[data-action=resume]")) {
        b.hidden = (b.dataset.action === "pause") === s.paused;
      }
    }
    if (s.name !== queue) return;
    for (const tab of document.querySelectorAll("[data-tab-count]")) {
      tab.textContent = String(tab.dataset.tabCount === "" ? total(counts) : counts[tab.dataset.tabCount] ?? 0);
    }
    const badge = $("#queue-paused");
    if (badge) badge.hidden = !s.paused;
    const body = $("#types");
    if (body) showTypes(body, s);
  }
  const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  function showTypes(body, s) {
    const statuses = d.statuses.split(" ");
    const types = new Set([...Object.keys(s.stats.byType), ...s.pausedTypes]);
    const rows = [...types].sort().map((type) => {
      const c = s.stats.byType[type] || {}, paused = s.pausedTypes.includes(type);
      const tr = el("tr");
      tr.dataset.type = type;
      tr.append(el("td", type));
      for (const st of statuses) tr.append(el("td", String(c[st] ?? 0), "num"));
      tr.append(el("td", paused ? "paused" : "running"));
      const act = el("td");
      if (!readOnly) act.append(paused ? button("resume", "Resume", { type }) : button("pause", "Pause", { type }));
      tr.append(act);
      return tr;
    });
    body.replaceChildren(...rows);
  }

  function showJob(job) {
    for (const f of document.querySelectorAll("[data-field]")) {
      const name = f.dataset.field;
      const err = job.error || {};
      const v = name === "progress" ? Math.round(job.progress * 100) + "%"
        : name === "attempts" ? job.attempt + " of " + job.maxAttempts
        : name.endsWith("At") ? time(job[name])
        : name === "errorName" ? (err.name || "\\u2014")
        : name === "errorMessage" ? (job.error ? err.message : "\\u2014")
        : name === "stack" ? (err.stack || "\\u2014")
        : name === "flow" ? (job.flow ? job.flow.ref + " of " + job.flow.id +
          (job.flow.dependsOn.length ? ", after " + job.flow.dependsOn.join(", ") : "") : "\\u2014")
        : name === "data" || name === "result" || name === "metadata" ? json(job[name])
        : job[name] === undefined || job[name] === "" ? "\\u2014" : String(job[name]);
      f.textContent = v;
    }
    const bar = $("#job-progress");
    if (bar) bar.value = job.progress;
  }

  let busy = false, again = false;
  async function refresh() {
    const all = await call("GET", "queues");
    for (const s of all) showQueue(s);
    if (d.job) {
      try { showJob(await call("GET", qpath(queue) + "/jobs/" + enc(d.job))); }
      catch (err) { notice(err.message, true); }
      return;
    }
    const body = $("#jobs");
    if (!body) return;
    const params = { limit: d.limit };
    for (const k of ["status", "type", "q", "cursor"]) if (d[k]) params[k] = d[k];
    const page = await call("GET", qpath(queue) + "/jobs?" + new URLSearchParams(params).toString());
    body.replaceChildren(...page.jobs.map(jobRow));
    const empty = $("#jobs-empty");
    if (empty) empty.hidden = page.jobs.length > 0;
  }
  // One refresh at a time, then a pause of 300 ms or twice what it took
  // (counting a big queue is slow), then one more if updates came meanwhile.
  function kick() {
    if (busy) { again = true; return; }
    busy = true;
    const started = Date.now();
    refresh().catch((err) => notice(err.message, true)).finally(() => {
      const pause = Math.max(300, 2 * (Date.now() - started));
      setTimeout(() => { busy = false; if (again) { again = false; kick(); } }, pause);
    });
  }

  const live = $("#live");
  const source = new EventSource(base + "api/events?queue=" + enc(queue));
  source.addEventListener("open", () => { live.textContent = "live"; live.classList.add("on"); kick(); });
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.classList.remove("on"); });
  source.addEventListener("resync", kick);
  source.addEventListener("update", (e) => {
    const msg = JSON.parse(e.data);
    if (msg.queue !== queue) return;
    if (d.job && msg.update.jobId === d.job) {
      const u = msg.update;
      const bar = $("#job-progress");
      if (bar) bar.value = u.progress;
      for (const f of document.querySelectorAll("[data-field=status],[data-field=progress],[data-field=message]")) {
        const n = f.dataset.field;
        f.textContent = n === "progress" ? Math.round(u.progress * 100) + "%" : (u[n] || "\\u2014");
      }
    }
    kick();
  });

  const ACTIONS = { "retry": "retried", "cancel": "cancelled", "remove": "removed", "pause": "paused", "resume": "resumed" };
  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b || readOnly) return;
    const a = b.dataset.action, name = b.dataset.queue || queue;
    let path = qpath(name) + "/" + a, body = {};
    if (b.dataset.id) path = qpath(name) + "/jobs/" + enc(b.dataset.id) + "/" + a;
    if (b.dataset.type) body = { type: b.dataset.type };
    call("POST", path, body).then((r) => {
      notice(a === "retry-failed" ? r.retried + " job(s) retried"
        : r.changed === false ? "nothing to change" : (ACTIONS[a] || "done"));
      kick();
    }, (err) => notice(err.message, true));
  });
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-post]");
    if (!form || readOnly) return;
    e.preventDefault();
    const fields = Object.fromEntries(new FormData(form));
    const kind = form.dataset.post;
    let body = fields;
    if (kind === "clean") {
      body = { status: fields.status, olderThan: Number(fields.minutes || 0) * 60000 };
      if (!confirm("Remove " + fields.status + " jobs older than " + (fields.minutes || 0) + " min?")) return;
    }
    call("POST", qpath(queue) + "/" + kind, body).then((r) => {
      notice(kind === "clean" ? r.removed + " job(s) removed" : r.changed ? "paused" : "already paused");
      kick();
    }, (err) => notice(err.message, true));
  });
})();
`;
