"use strict";
// The coordinators' dashboard: one page, hash routes, the API under /api/v1/, live over Server-Sent Events.
const T = {
  en: { overview: "Overview", ledger: "Ledger", calendar: "Outages", travel: "Time travel", backLive: "Back to live",
    daysToDeadline: "days to the deadline", householdsWithoutService: "households without service now", openOutages: "open outages",
    openLedgerEntries: "open ledger entries", agentsOnline: "agents online", agentsSilent: "agents silent", overall: "done overall",
    byCommunity: "Progress by community (bar: done; line: planned)", byUtility: "Progress by utility", latest: "Latest events",
    status: "Status", open: "open", closed: "closed", all: "all", cls: "Class", kind: "Kind", organisation: "Organisation", community: "Community",
    any: "any", exportCSV: "Export CSV (Excel)", raised: "Raised", deadline: "Deadline", subject: "Subject", message: "Message",
    buildings: "Buildings", building: "Building", households: "Households", workItems: "Work items", outages: "Outages", inspections: "Inspections",
    window: "Window", actual: "Actual", service: "Service", overlap: "overlaps another outage of the building", incident: "Incident",
    durations: "Durations", timeline: "Timeline", time: "Time", source: "Source", asOf: "as of", live: "live", at: "as it stood at",
    percent: "Done", planned: "Planned", noEntries: "No entries.", failed: "Cannot load", item: "Work item", none: "none" },
  zh: { overview: "总览", ledger: "督查台账", calendar: "停电停水日历", travel: "时间回溯", backLive: "回到实时",
    daysToDeadline: "距截止日（天）", householdsWithoutService: "当前停供户数", openOutages: "未结束的停供", openLedgerEntries: "未销号台账",
    agentsOnline: "在线代理", agentsSilent: "失联代理", overall: "总体完成", byCommunity: "各小区进度（条：已完成；竖线：计划）",
    byUtility: "各专业进度", latest: "最新事件", status: "状态", open: "未销号", closed: "已销号", all: "全部", cls: "类别", kind: "类型",
    organisation: "责任单位", community: "小区", any: "全部", exportCSV: "导出 CSV（Excel）", raised: "提出时间", deadline: "整改期限",
    subject: "对象", message: "内容", buildings: "楼栋", building: "楼栋", households: "户数", workItems: "工程项目", outages: "停供",
    inspections: "验收", window: "计划时段", actual: "实际", service: "专业", overlap: "与本楼其他停供重叠", incident: "事件详情",
    durations: "时长", timeline: "经过", time: "时间", source: "来源", asOf: "截至", live: "实时", at: "回溯至", percent: "完成",
    planned: "计划", noEntries: "无记录。", failed: "无法加载", item: "工程项目", none: "无" },
};
let lang = localStorage.getItem("conduit-lang") || ((navigator.language || "").startsWith("zh") ? "zh" : "en");
let plan = null, span = null, state = null, stateOf = null, overview = null, at = null, painted = false;
const recent = [];
const t = (key) => (T[lang] || T.en)[key] || key;
const $ = (selector) => document.querySelector(selector);
const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const named = (thing) => thing && thing.name ? (thing.name[lang] || thing.name.en || thing.id) : "";
const byId = (list, id) => (list || []).find((x) => x.id === id);
const communityName = (id) => named(byId(plan.communities, id)) || id;
const organisationName = (id) => named(byId(plan.organisations, id)) || id;
const itemTitle = (id) => { const item = byId(plan.workItems, id); return item ? (item.title[lang] || item.title.en) : id; };

function when(iso) {
  if (!iso) return "";
  const options = { timeZone: plan && plan.timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try { return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", options).format(new Date(iso)); } catch (e) { return iso; }
}

async function get(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    throw new Error(problem.detail || response.statusText);
  }
  return response.json();
}
const moment = () => (at ? "at=" + encodeURIComponent(at) : "");
const withMoment = (path) => { const m = moment(); return m ? path + (path.includes("?") ? "&" : "?") + m : path; };

// The overview is small and is all the overview route needs; the whole state (hundreds of kilobytes) is fetched
// only for the routes that show it, and again only when the overview says it has moved on.
const needsState = (name) => name !== "" && name !== "overview";
async function loadState() {
  const key = (at || "live") + "#" + overview.lastSequence;
  if (stateOf === key) return;
  state = await get(withMoment("/api/v1/state"));
  stateOf = key;
}
async function refresh() {
  overview = await get(withMoment("/api/v1/overview"));
  await render();
}

let pending = null;
function scheduleRefresh() {
  if (pending || at) return;
  pending = setTimeout(async () => { pending = null; try { await refresh(); } catch (e) { /* the next event retries */ } }, 150);
}

function figure(key, value) {
  return `<div class="card"><div class="value" data-figure="${key}">${esc(value)}</div><div class="label">${t(key)}</div></div>`;
}

function bar(label, rollup, href) {
  const done = Math.max(0, Math.min(100, rollup.percentComplete)), planned = Math.max(0, Math.min(100, rollup.expectedPercent));
  const late = rollup.itemsLate > 0 || done + 0.05 < planned;
  const name = href ? `<a href="${href}">${esc(label)}</a>` : esc(label);
  return `<div class="bar-row"><span>${name}</span><div class="bar" title="${done.toFixed(1)}% / ${planned.toFixed(1)}%">` +
    `<div class="done${late ? " late" : ""}" style="width:${done}%"></div><div class="plan" style="left:${planned}%"></div></div>` +
    `<span data-percent="${esc(label)}">${done.toFixed(1)}%</span></div>`;
}

function eventLine(m) {
  const e = m.event || {};
  const what = e.data && (e.data.status || e.data.kind) ? `${e.type.replace("conduit.", "")} ${e.data.status || ""}${e.data.percent !== undefined ? " " + e.data.percent + "%" : ""}` : (e.type || "");
  return `<li data-sequence="${m.sequence}" data-id="${esc(e.id)}"><span class="muted">#${m.sequence} ${esc(when(e.time || m.recordedTime))}</span> ${esc(organisationName((e.source || "/").split("/")[1]))}: ${esc(what)} ${esc(e.workitem ? itemTitle(e.workitem) : (e.subject || ""))}</li>`;
}

function viewOverview() {
  const o = overview;
  let html = `<div class="cards">` +
    figure("daysToDeadline", o.daysToDeadline ?? "—") + figure("householdsWithoutService", o.householdsWithoutService) +
    figure("openOutages", o.openOutages) + figure("openLedgerEntries", o.openLedgerEntries) +
    figure("agentsOnline", o.agentsOnline) + figure("agentsSilent", o.agentsSilent) +
    figure("overall", o.overall.percentComplete.toFixed(1) + "%") + `</div>`;
  html += `<section><h2>${t("byCommunity")}</h2>` + Object.entries(o.communities).map(([id, r]) => bar(communityName(id), r, "#/community/" + id)).join("") + `</section>`;
  html += `<section><h2>${t("byUtility")}</h2>` + Object.entries(o.utilities).map(([id, r]) => bar(id, r)).join("") + `</section>`;
  html += `<section><h2>${t("latest")}</h2><ul class="events" id="events">${recent.map(eventLine).join("")}</ul></section>`;
  return html;
}

const ledgerFilters = { status: "open", class: "", kind: "", organisation: "", community: "" };
async function viewLedger() {
  const query = Object.entries(ledgerFilters).filter(([, v]) => v).map(([k, v]) => k + "=" + encodeURIComponent(v)).join("&");
  const entries = await get(withMoment("/api/v1/ledger?" + query));
  const list = Array.isArray(entries) ? entries : (entries.entries || []);
  const select = (name, values, label) => `<label>${label} <select data-filter="${name}">` +
    values.map(([v, text]) => `<option value="${esc(v)}"${ledgerFilters[name] === v ? " selected" : ""}>${esc(text)}</option>`).join("") + `</select></label>`;
  const kinds = [...new Set(Object.values(state.ledger || {}).map((e) => e.kind))].sort();
  let html = `<section><div class="filters">` +
    select("status", [["open", t("open")], ["closed", t("closed")], ["all", t("all")]], t("status")) +
    select("class", [["", t("any")], ["condition", "condition"], ["violation", "violation"]], t("cls")) +
    select("kind", [["", t("any")]].concat(kinds.map((k) => [k, k])), t("kind")) +
    select("organisation", [["", t("any")]].concat(plan.organisations.map((x) => [x.id, named(x)])), t("organisation")) +
    select("community", [["", t("any")]].concat(plan.communities.map((x) => [x.id, named(x)])), t("community")) +
    `<a id="ledger-csv" download href="${esc(withMoment("/api/v1/ledger?format=csv&" + query))}">${t("exportCSV")}</a></div>`;
  if (!list.length) return html + `<p class="muted">${t("noEntries")}</p></section>`;
  html += `<table id="ledger-table"><tr><th>${t("cls")}</th><th>${t("kind")}</th><th>${t("organisation")}</th><th>${t("subject")}</th><th>${t("raised")}</th><th>${t("deadline")}</th><th>${t("message")}</th></tr>`;
  for (const e of list) {
    const subject = e.workItem || e.outage || e.key.split("/").slice(1).join("/");
    html += `<tr data-key="${esc(e.key)}"><td class="${e.class === "violation" ? "violation" : ""}">${esc(e.class)}</td><td>${esc(e.kind)}</td>` +
      `<td>${esc(organisationName(e.organisation))}</td><td><a href="#/incident/${encodeURIComponent(subject)}">${esc(e.workItem ? itemTitle(e.workItem) : subject)}</a></td>` +
      `<td>${esc(when(e.raisedAt))}</td><td>${esc(e.deadline || "")}</td><td>${esc(e.message)}</td></tr>`;
  }
  return html + `</table></section>`;
}

function programmeSpan() {
  const starts = plan.workItems.map((w) => w.plannedStart).sort();
  const from = Date.parse((starts[0] || plan.deadline) + "T00:00:00Z") - 30 * 86400000;
  return [from, Date.parse(plan.deadline + "T23:59:59Z") + 30 * 86400000];
}
function bars(outage, [from, to]) {
  const r = outage.report || outage;
  const pos = (iso) => Math.max(0, Math.min(100, (Date.parse(iso) - from) / (to - from) * 100));
  let html = `<div class="timeline">`;
  if (r.windowStart && r.windowEnd) html += `<div class="w" style="left:${pos(r.windowStart)}%;width:${Math.max(0.4, pos(r.windowEnd) - pos(r.windowStart))}%"></div>`;
  if (r.startedAt) html += `<div class="a" style="left:${pos(r.startedAt)}%;width:${Math.max(0.4, pos(r.restoredAt || new Date(to).toISOString()) - pos(r.startedAt))}%"></div>`;
  return html + `</div>`;
}
function overlaps(outages) {
  const marked = new Set();
  const live = outages.filter((o) => o.report.windowStart && o.report.windowEnd && o.report.status !== "cancelled");
  for (let i = 0; i < live.length; i++) for (let j = i + 1; j < live.length; j++) {
    const a = live[i], b = live[j];
    if (a.community !== b.community) continue;
    if (!(a.report.buildings || []).some((x) => (b.report.buildings || []).includes(x))) continue;
    if (Date.parse(a.report.windowStart) < Date.parse(b.report.windowEnd) && Date.parse(b.report.windowStart) < Date.parse(a.report.windowEnd)) { marked.add(a.key); marked.add(b.key); }
  }
  return marked;
}
function outageRows(outages) {
  const range = programmeSpan(), marked = overlaps(state.outages || []);
  return outages.map((o) => `<tr data-outage="${esc(o.key)}"${marked.has(o.key) ? ` class="overlap" title="${t("overlap")}"` : ""}>` +
    `<td><a href="#/incident/${encodeURIComponent(o.key)}">${esc(o.key)}</a></td><td>${esc(communityName(o.community))}</td><td>${esc(o.report.service)}</td>` +
    `<td>${esc((o.report.buildings || []).join(", "))}</td><td>${esc(when(o.report.windowStart))} – ${esc(when(o.report.windowEnd))}</td>` +
    `<td>${esc(when(o.report.startedAt))}${o.report.restoredAt ? " – " + esc(when(o.report.restoredAt)) : ""}</td><td><span class="badge">${esc(o.report.status)}</span></td>` +
    `<td>${bars(o, range)}</td></tr>`).join("");
}
function viewCalendar() {
  const outages = (state.outages || []).slice().sort((a, b) => String(a.report.windowStart || a.reportedAt).localeCompare(String(b.report.windowStart || b.reportedAt)));
  return `<section><h2>${t("outages")}</h2><table id="calendar-table"><tr><th>${t("subject")}</th><th>${t("community")}</th><th>${t("service")}</th><th>${t("buildings")}</th><th>${t("window")}</th><th>${t("actual")}</th><th>${t("status")}</th><th></th></tr>` +
    outageRows(outages) + `</table></section>`;
}

function viewCommunity(id) {
  const community = byId(plan.communities, id);
  if (!community) return `<p>${t("failed")}: ${esc(id)}</p>`;
  const items = Object.values(state.workitems || {}).filter((w) => w.community === id);
  const outages = (state.outages || []).filter((o) => o.community === id);
  let html = `<section><h2>${esc(named(community))} · ${community.households} ${t("households")}</h2><table id="buildings"><tr><th>${t("building")}</th><th>${t("households")}</th><th>${t("outages")}</th></tr>`;
  for (const b of community.buildings || []) {
    const here = outages.filter((o) => (o.report.buildings || []).includes(b.id));
    html += `<tr data-building="${esc(b.id)}"><td>${esc(b.id)}</td><td>${b.households}</td><td>${here.map((o) => `<a href="#/incident/${encodeURIComponent(o.key)}">${esc(o.report.service)} ${esc(o.report.status)}</a>`).join(", ") || t("none")}</td></tr>`;
  }
  html += `</table></section><section><h2>${t("workItems")}</h2><table><tr><th>${t("item")}</th><th>${t("organisation")}</th><th>${t("status")}</th><th>${t("percent")}</th><th>${t("planned")}</th><th>${t("inspections")}</th></tr>`;
  for (const w of items) {
    const last = (w.inspections || []).slice(-1)[0];
    html += `<tr><td><a href="#/incident/${encodeURIComponent(w.id || "")}">${esc(itemTitle(w.id))}</a></td><td>${esc(organisationName(w.organisation))}</td><td>${esc(w.status || "")}</td>` +
      `<td>${w.percent}%</td><td>${esc(w.plannedStart)} – ${esc(w.plannedFinish)}</td><td>${last ? esc(last.report.kind + " " + (last.report.result || last.report.status)) : t("none")}</td></tr>`;
  }
  html += `</table></section><section><h2>${t("outages")}</h2><table><tr><th>${t("subject")}</th><th>${t("community")}</th><th>${t("service")}</th><th>${t("buildings")}</th><th>${t("window")}</th><th>${t("actual")}</th><th>${t("status")}</th><th></th></tr>${outageRows(outages)}</table></section>`;
  return html;
}

async function viewIncident(subject) {
  const report = await get("/api/v1/incident?subject=" + encodeURIComponent(subject));
  let html = `<section><h2>${t("incident")}: ${esc(report.workitem ? itemTitle(report.workitem.id) : subject)} <span class="muted">${t("asOf")} ${esc(when(report.asOf))}</span></h2>`;
  html += `<h2>${t("durations")}</h2><table><tr><th>${t("kind")}</th><th>${t("subject")}</th><th></th></tr>` +
    (report.durations || []).map((d) => `<tr><td>${esc(d.kind)}</td><td>${esc(d.subject)}</td><td>${Math.round(d.seconds / 3600)} h${d.ongoing ? " …" : ""}</td></tr>`).join("") + `</table>`;
  html += `<h2>${t("timeline")}</h2><table id="incident-timeline"><tr><th>#</th><th>${t("time")}</th><th>${t("kind")}</th><th>${t("source")}</th><th>${t("status")}</th></tr>` +
    (report.timeline || []).map((x) => `<tr><td>${x.sequence ?? ""}</td><td>${esc(when(x.time))}</td><td>${esc(x.kind)}</td><td>${esc(x.source || x.origin)}</td><td>${esc(x.event && x.event.data ? (x.event.data.status || "") + (x.event.data.percent !== undefined ? " " + x.event.data.percent + "%" : "") : "")}</td></tr>`).join("") + `</table></section>`;
  return html;
}

async function render() {
  const route = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  if (needsState(route)) await loadState();
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.documentElement.lang = lang;
  $("#lang").textContent = lang === "zh" ? "EN" : "中文";
  $("#plan-name").textContent = named(plan);
  document.title = "Conduit · " + named(plan);
  $("#communities-nav").innerHTML = plan.communities.map((c) => `<a href="#/community/${c.id}">${esc(named(c))}</a>`).join(" ");
  $("#clock").textContent = (at ? t("at") + " " + when(at) : t("live") + " · " + when(overview.now)) + ` · #${overview.lastSequence}`;
  $("#clock").dataset.sequence = overview.lastSequence;
  $("#clock").dataset.now = overview.now || "";
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === "#/" + route || (route === "" && a.getAttribute("href") === "#/")));
  let html;
  try {
    if (route === "" ) html = viewOverview();
    else if (route === "ledger") html = await viewLedger();
    else if (route === "calendar") html = viewCalendar();
    else if (route.startsWith("community/")) html = viewCommunity(route.slice(10));
    else if (route.startsWith("incident/")) html = await viewIncident(route.slice(9));
    else html = viewOverview();
  } catch (e) { html = `<p class="violation">${t("failed")}: ${esc(e.message)}</p>`; }
  $("#view").innerHTML = html;
  $("#view").dataset.route = route || "overview";
  document.querySelectorAll("[data-filter]").forEach((el) => el.addEventListener("change", () => { ledgerFilters[el.dataset.filter] = el.value; render(); }));
  document.body.dataset.ready = "true";
  // The first overview with its figures, once painted: the next task after the frame that shows it.
  if (!painted && (route === "" || route === "overview")) {
    painted = true;
    requestAnimationFrame(() => setTimeout(() => performance.mark("conduit-overview-painted"), 0));
  }
}

function setupTravel() {
  const slider = $("#slider"), back = $("#back-live");
  if (!span || !span.firstRecordedTime) { slider.disabled = true; return; }
  const from = Date.parse(span.firstRecordedTime), to = Date.parse(span.lastRecordedTime);
  slider.addEventListener("input", () => { $("#travel-at").textContent = when(new Date(from + (to - from) * slider.value / 1000).toISOString()); });
  slider.addEventListener("change", async () => {
    at = slider.value >= 1000 ? null : new Date(from + (to - from) * slider.value / 1000).toISOString();
    back.hidden = !at;
    await refresh();
  });
  back.addEventListener("click", async () => { at = null; slider.value = 1000; back.hidden = true; $("#travel-at").textContent = ""; await refresh(); });
}

// Time travel by link or by the test: #…?at= is not used; window.conduitTravel(iso) sets the moment.
window.conduitTravel = async (iso) => { at = iso; $("#back-live").hidden = !at; await refresh(); };

function connect() {
  const source = new EventSource("/api/v1/stream");
  source.onopen = () => { $("#live").classList.add("on"); document.body.dataset.streaming = "true"; };
  source.onerror = () => $("#live").classList.remove("on");
  source.addEventListener("conduit", (message) => {
    const m = JSON.parse(message.data);
    window.conduitLastEventId = m.sequence;
    recent.unshift(m);
    if (recent.length > 30) recent.length = 30;
    const list = $("#events");
    if (list && !at) {
      list.insertAdjacentHTML("afterbegin", eventLine(m));
      while (list.children.length > 30) list.lastElementChild.remove();
    }
    scheduleRefresh();
  });
}

async function start() {
  $("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("conduit-lang", lang); render(); });
  window.addEventListener("hashchange", render);
  plan = await get("/api/v1/plan");
  span = await get("/api/v1/span").catch(() => null);
  setupTravel();
  await refresh();
  connect();
}
start().catch((e) => { $("#view").innerHTML = `<p class="violation">${t("failed")}: ${esc(e.message)}</p>`; });
