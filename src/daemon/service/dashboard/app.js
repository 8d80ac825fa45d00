/*
 * The dashboard: polls /api/overview every two seconds and draws it.  No
 * outside resources; text goes in with textContent, never as HTML.  With
 * tokens configured the API answers 401 until a token is given; the token
 * is kept in this tab's sessionStorage and sent as a bearer.
 */
"use strict";

const POLL_MS = 2000;
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined)
      e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function headers() {
  const t = sessionStorage.getItem("loomd-token");
  return t ? { Authorization: "Bearer " + t } : {};
}

async function api(path) {
  const r = await fetch(path, { headers: headers(), cache: "no-store" });
  if (r.status === 401) {
    $("#auth").hidden = false;
    throw new Error("a token with role read is needed");
  }
  const body = await r.json();
  if (!r.ok)
    throw new Error((body.error && body.error.message) || r.statusText);
  return body;
}

function duration(s) {
  if (s < 1) return (s * 1000).toFixed(0) + " ms";
  if (s < 90) return s.toFixed(1) + " s";
  if (s < 5400) return (s / 60).toFixed(1) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}

function rate(r) {
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

/* A sparkline: finished jobs per step (line and area), depth (dashed). */
function sparkline(finished, depth) {
  const W = 240, H = 40, NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "spark");
  const path = (values, cls, area) => {
    if (values.length < 2) return;
    const max = Math.max(1, ...values);
    const pts = values.map((v, i) =>
      [(i / (values.length - 1)) * W, H - 2 - (v / max) * (H - 4)]);
    let d = "M" + pts.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join("L");
    if (area) d += `L${W},${H}L0,${H}Z`;
    const p = document.createElementNS(NS, "path");
    p.setAttribute("d", d);
    p.setAttribute("class", cls);
    svg.append(p);
  };
  path(finished, "area", true);
  path(finished, "rate", false);
  path(depth, "depth", false);
  return svg;
}

function drawSummary(o) {
  const items = [
    ["version", o.version], ["up", duration(o.uptime)],
    ["running", o.jobs.running], ["waiting", o.jobs.pending + o.jobs.queued],
    ["connections", o.connections], ["workers", o.workers],
    ["executor queued", o.executor.queued],
    ["loop lag", Math.max(0, ...o.loops.map((l) => l.lag_ms)).toFixed(2) + " ms"],
  ];
  $("#summary").replaceChildren(...items.map(([k, v]) =>
    el("div", {}, el("dt", {}, k), el("dd", {}, v))));
}

function drawQueues(o) {
  const queues = o.queues.slice().sort((a, b) => a.name.localeCompare(b.name));
  if (queues.length === 0) return;
  $("#queues").replaceChildren(...queues.map((q) => {
    const c = q.counts || {};
    const failed = (c.failed || 0) + (c.timed_out || 0);
    return el("article", { class: "queue", "data-queue": q.name },
      el("h3", {}, q.name, q.paused ? el("span", { class: "badge" }, "paused") : null),
      el("div", { class: "nums" },
        el("div", { class: "depth" }, el("span", {}, "depth"), el("b", {}, q.depth)),
        el("div", { class: "running" }, el("span", {}, "running"), el("b", {}, q.running)),
        el("div", { class: "rate" }, el("span", {}, "per s"), el("b", {}, rate(q.rate))),
        el("div", { class: "failed" }, el("span", {}, "failed"), el("b", {}, failed))),
      sparkline(q.finished_history || [], q.depth_history || []),
      el("div", { class: "legend" },
        `${c.done || 0} done of ${c.submitted || 0} submitted; last ` +
        `${duration((q.finished_history || []).length * o.history_step)}`));
  }));
}

function jobLink(id) {
  const a = el("a", { href: "#job-" + id }, id);
  a.addEventListener("click", (ev) => { ev.preventDefault(); showJob(id); });
  return a;
}

function progress(p) {
  if (!p || !p.total) return p && p.message ? p.message : "";
  const pct = Math.max(0, Math.min(100, (100 * p.done) / p.total));
  const fill = el("i");
  fill.style.width = pct + "%";	/* CSSOM: the page's CSP allows no inline style */
  const bar = el("span", { class: "bar" }, fill);
  return el("span", {}, bar, ` ${p.done}/${p.total} `, p.message || "");
}

function drawRunning(o) {
  $("#running-count").textContent = o.jobs.running;
  $("#running tbody").replaceChildren(...o.running.map((j) =>
    el("tr", {}, el("td", {}, jobLink(j.id)), el("td", {}, j.type),
      el("td", {}, j.name || ""), el("td", {}, j.queue), el("td", {}, j.attempt),
      el("td", {}, duration(Math.max(0, o.now - j.started_at))),
      el("td", {}, progress(j.progress)))));
}

function drawFailures(o) {
  $("#failures tbody").replaceChildren(...o.failures.map((f) =>
    el("tr", { "data-job": f.id }, el("td", {}, jobLink(f.id)), el("td", {}, f.type),
      el("td", {}, f.name), el("td", {}, f.queue), el("td", {}, f.state),
      el("td", {}, f.attempt), el("td", { class: "code" }, f.error.code),
      el("td", { class: "message" }, f.error.message),
      el("td", {}, duration(Math.max(0, o.now - f.finished_at)) + " ago"))));
}

function drawWorkers(o) {
  const list = o.workers_list || [];
  $("#workers-count").textContent = o.workers;
  if (list.length === 0) return;
  $("#workers").replaceChildren(el("table", { class: "jobs" },
    el("thead", {}, el("tr", {}, ...["id", "name", "types", "running", "concurrency"]
      .map((h) => el("th", {}, h)))),
    el("tbody", {}, ...list.map((w) => el("tr", {}, el("td", {}, w.id),
      el("td", {}, w.name || ""), el("td", {}, (w.types || []).join(", ")),
      el("td", {}, w.running), el("td", {}, w.concurrency))))));
}

async function showJob(id) {
  const out = $("#job");
  $("#job-id").value = id;
  out.hidden = false;
  try {
    out.textContent = JSON.stringify(await api("/api/job/" + id), null, 2);
  } catch (e) {
    out.textContent = `job ${id}: ${e.message}`;
  }
}

async function poll() {
  const status = $("#status");
  try {
    const o = await api("/api/overview");
    drawSummary(o);
    drawQueues(o);
    drawWorkers(o);
    drawRunning(o);
    drawFailures(o);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.classList.remove("bad");
    $("#auth").hidden = true;
  } catch (e) {
    status.textContent = e.message;
    status.classList.add("bad");
  }
  setTimeout(poll, POLL_MS);
}

$("#auth").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("loomd-token", $("#token").value);
  $("#token").value = "";
});
$("#lookup").addEventListener("submit", (ev) => {
  ev.preventDefault();
  showJob($("#job-id").value.trim());
});
poll();
