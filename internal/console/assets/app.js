// The Switchyard console: a single page that calls the EventBridge API,
// the live tail and /metrics of the server that serves it. Every piece of
// data is put in the page as text (textContent, attribute values), never
// as HTML, so nothing a bus, rule, event or error message holds can run.
import { sign } from "./sigv4.js";
import { parseMetrics, sumFor, sseParser } from "./parse.js";

const $ = (sel) => document.querySelector(sel);

// h builds an element: h("button", {id: "x", onclick: f}, "text", child).
function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag.replace(/^svg:/, ""));
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function field(label, input) {
  return h("label", {}, h("span", {}, label), input);
}

function toast(msg, bad) {
  const d = h("div", { class: bad ? "bad" : "" }, msg);
  $("#toast").append(d);
  setTimeout(() => d.remove(), bad ? 8000 : 3000);
}

// ---- credentials and signing ----

const cfg = { auth: "none", apiTimeoutMs: 30000 };
const REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
  "eu-north-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "ap-south-1", "sa-east-1", "ca-central-1"];

// session is the signed-in key (sigv4) or the account picked (none), in
// sessionStorage: gone when the tab closes, never in a URL.
function session() {
  try { return JSON.parse(sessionStorage.getItem("switchyard.session") || "null"); } catch { return null; }
}
function setSession(s) {
  if (s) sessionStorage.setItem("switchyard.session", JSON.stringify(s));
  else sessionStorage.removeItem("switchyard.session");
}

function credsOf(s) {
  if (cfg.auth === "sigv4") return { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken };
  // --auth none reads the account from a 12-digit access key id.
  return { accessKeyId: s.account, secretAccessKey: "unused-under-auth-none" };
}

async function signedHeaders(method, path, params, headers, body) {
  const s = session();
  if (!globalThis.crypto || !crypto.subtle) {
    if (cfg.auth === "sigv4") throw new ApiError("ConsoleError", "This page is not a secure context (https or localhost), so the browser cannot sign requests.");
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    headers["Authorization"] = `AWS4-HMAC-SHA256 Credential=${s.account}/${day}/${s.region}/events/aws4_request, SignedHeaders=host, Signature=0`;
    return headers;
  }
  await sign({ method, host: location.host, path, params, headers, body, region: s.region, creds: credsOf(s) });
  return headers;
}

class ApiError extends Error {
  constructor(code, message) { super(message || code); this.code = code; }
}

// api calls an EventBridge operation: POST / with X-Amz-Target, JSON 1.1.
async function api(op, input = {}) {
  const body = JSON.stringify(input);
  const headers = await signedHeaders("POST", "/", [], {
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents." + op }, body);
  let r;
  try {
    r = await fetch("/", { method: "POST", headers, body, credentials: "omit", signal: AbortSignal.timeout(cfg.apiTimeoutMs) });
  } catch (err) {
    if (err.name === "TimeoutError") throw new ApiError("ConsoleTimeout", `The server did not answer ${op} within ${cfg.apiTimeoutMs / 1000} s.`);
    throw err;
  }
  const text = await r.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { message: text }; }
  if (!r.ok) {
    const code = String(data.__type || r.headers.get("x-amzn-ErrorType") || r.status).split("#").pop();
    throw new ApiError(code, data.message || data.Message || text);
  }
  return data;
}

async function all(op, input, key) {
  const out = [];
  let token;
  do {
    const r = await api(op, token ? { ...input, NextToken: token } : input);
    out.push(...(r[key] || []));
    token = r.NextToken;
  } while (token);
  return out;
}

function errText(e) { return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e && e.message || e); }

async function attempt(f, okMsg) {
  try { const r = await f(); if (okMsg) toast(okMsg); return r; } catch (e) { toast(errText(e), true); return undefined; }
}

// ---- metrics ----

// The /metrics counters charted per rule and shown per target.
const RULE_METRICS = ["MatchedEvents", "TriggeredRules"];
const COLORS = ["#0073bb", "#1d8102", "#d13212", "#ec7211", "#8a2be2", "#687078", "#b8860b"];

async function readMetrics() {
  const r = await fetch("/metrics", { credentials: "omit" });
  if (!r.ok) throw new Error("/metrics answered " + r.status);
  return parseMetrics(await r.text());
}

// history keeps, per rule, the samples of its counters taken while its
// page is open: [{t, values: {metric: n}}].
const history = new Map();

function chart(samples, names) {
  const W = 560, H = 160, P = 30;
  const svg = h("svg:svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: "rule-chart" });
  const max = Math.max(1, ...samples.flatMap((s) => names.map((n) => s.values[n] || 0)));
  const t0 = samples.length ? samples[0].t : 0, t1 = samples.length ? samples[samples.length - 1].t : 1;
  const x = (t) => P + (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * (W - 2 * P));
  const y = (v) => H - P + 10 - (v / max) * (H - 2 * P);
  svg.append(h("svg:line", { x1: P, y1: y(0), x2: W - P, y2: y(0), stroke: "#aab7b8" }));
  svg.append(h("svg:text", { x: 2, y: y(max) + 4 }, String(max)));
  svg.append(h("svg:text", { x: 2, y: y(0) + 4 }, "0"));
  names.forEach((n, i) => {
    const pts = samples.map((s) => `${x(s.t).toFixed(1)},${y(s.values[n] || 0).toFixed(1)}`).join(" ");
    svg.append(h("svg:polyline", { points: pts, stroke: COLORS[i % COLORS.length], "data-metric": n }));
  });
  return svg;
}

// ---- views ----

const views = {};
let current = { view: "buses" };
let cleanup = [];

function go(view, args = {}) {
  for (const f of cleanup) f();
  cleanup = [];
  current = { view, ...args };
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === view);
  const main = $("#main");
  main.replaceChildren();
  Promise.resolve(views[view](main, current)).catch((e) => main.append(h("p", { class: "status bad" }, errText(e))));
}

function table(headers, rows, id) {
  return h("table", { id }, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "None."))));
}

views.buses = async (main) => {
  const list = h("section", {}, h("h2", {}, "Event buses"));
  const name = h("input", { id: "bus-name", placeholder: "orders", required: true });
  const create = h("section", {}, h("h2", {}, "Create event bus"),
    h("form", { id: "bus-create", onsubmit: async (e) => {
      e.preventDefault();
      if (await attempt(() => api("CreateEventBus", { Name: name.value.trim() }), "Event bus created")) go("buses");
    } }, field("Name", name), h("button", { class: "primary", id: "bus-create-submit" }, "Create")));
  main.append(list, create);
  const buses = await all("ListEventBuses", {}, "EventBuses");
  list.append(table(["Name", "ARN", ""], buses.map((b) => h("tr", { "data-bus": b.Name },
    h("td", {}, h("button", { class: "link", onclick: () => go("bus", { bus: b.Name }) }, b.Name)),
    h("td", { class: "muted" }, b.Arn),
    h("td", {}, b.Name === "default" ? "" : h("button", { class: "danger", onclick: async () => {
      if (!confirm(`Delete event bus ${b.Name}?`)) return;
      if (await attempt(() => api("DeleteEventBus", { Name: b.Name }), "Event bus deleted") !== undefined) go("buses");
    } }, "Delete")))), "bus-list"));
};

views.bus = async (main, { bus }) => {
  const desc = await api("DescribeEventBus", { Name: bus });
  const rules = h("section", {}, h("h2", {}, "Rules of ", h("span", { id: "bus-title" }, bus)),
    h("p", {}, h("button", { class: "primary", id: "rule-new", onclick: () => go("rule", { bus }) }, "Create rule")));
  const policy = h("textarea", { id: "bus-policy", value: desc.Policy ? JSON.stringify(JSON.parse(desc.Policy), null, 2) : "" });
  const pol = h("section", {}, h("h2", {}, "Resource policy"),
    h("p", { class: "muted" }, "Who else may put events on this bus (PutPermission with a whole policy)."), policy,
    h("p", {}, h("button", { onclick: async () => {
      const p = policy.value.trim();
      if (p === "") await attempt(() => api("RemovePermission", { EventBusName: bus, RemoveAllPermissions: true }), "Policy removed");
      else await attempt(() => api("PutPermission", { EventBusName: bus, Policy: p }), "Policy saved");
    } }, "Save policy")));
  main.append(h("p", {}, h("button", { class: "link", onclick: () => go("buses") }, "← Event buses")), rules, pol);
  const list = await all("ListRules", { EventBusName: bus }, "Rules");
  rules.append(table(["Name", "State", "Pattern / schedule", ""], list.map((r) => h("tr", { "data-rule": r.Name },
    h("td", {}, h("button", { class: "link", onclick: () => go("ruleDetail", { bus, rule: r.Name }) }, r.Name)),
    h("td", {}, r.State),
    h("td", {}, h("code", {}, r.EventPattern || r.ScheduleExpression || "")),
    h("td", {}, h("button", { onclick: () => go("rule", { bus, rule: r.Name }) }, "Edit"), " ",
      h("button", { class: "danger", onclick: async () => {
        if (!confirm(`Delete rule ${r.Name} and its targets?`)) return;
        const ok = await attempt(async () => {
          const ts = await all("ListTargetsByRule", { Rule: r.Name, EventBusName: bus }, "Targets");
          if (ts.length) await api("RemoveTargets", { Rule: r.Name, EventBusName: bus, Ids: ts.map((t) => t.Id) });
          await api("DeleteRule", { Name: r.Name, EventBusName: bus });
          return true;
        }, "Rule deleted");
        if (ok) go("bus", { bus });
      } }, "Delete")))), "rule-list"));
};

// The sample event the sandbox starts with, and what live validation
// tests a pattern against when the sandbox is empty.
function sampleEvent(s) {
  return {
    version: "0", id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "OrderCreated", source: "app.orders",
    account: s.account, time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), region: s.region, resources: [],
    detail: { id: 1, total: 42.5, state: "created" },
  };
}

// captured holds the events the live tail showed, for the sandbox.
const captured = [];

views.rule = async (main, { bus, rule }) => {
  const s = session();
  let existing = null;
  if (rule) existing = await api("DescribeRule", { Name: rule, EventBusName: bus });
  const name = h("input", { id: "rule-name", value: rule || "", readonly: !!rule });
  const descr = h("input", { id: "rule-description", value: existing?.Description || "" });
  const state = h("select", { id: "rule-state" }, h("option", {}, "ENABLED"), h("option", {}, "DISABLED"));
  if (existing) state.value = existing.State === "DISABLED" ? "DISABLED" : "ENABLED";
  // A new rule starts with an example pattern; a scheduled rule without
  // one keeps none.
  const pattern = h("textarea", { id: "rule-pattern", spellcheck: "false",
    value: existing?.EventPattern ? JSON.stringify(JSON.parse(existing.EventPattern), null, 2)
      : existing ? "" : '{\n  "source": ["app.orders"]\n}' });
  const schedule = h("input", { id: "rule-schedule", size: 30, value: existing?.ScheduleExpression || "",
    placeholder: "optional: rate(5 minutes) or cron(...)" });
  const validity = h("div", { id: "pattern-status", class: "status muted" }, "…");
  const sample = h("textarea", { id: "sandbox-event", spellcheck: "false", value: JSON.stringify(sampleEvent(s), null, 2) });
  const verdict = h("div", { id: "sandbox-result", class: "status muted" }, "…");
  const pick = h("select", { id: "sandbox-captured", onchange: () => {
    const ev = captured[Number(pick.value)];
    if (ev) { sample.value = JSON.stringify(ev, null, 2); check(); }
  } }, h("option", { value: "" }, captured.length ? `${captured.length} captured from the live tail…` : "No events captured from the live tail yet"),
  captured.map((ev, i) => h("option", { value: i }, `${ev.source} / ${ev["detail-type"]} / ${ev.id}`)));

  // check validates the pattern and tests it against the sample event
  // through TestEventPattern, as the user types (debounced); answers of
  // older edits are dropped.
  let seq = 0, timer;
  async function check() {
    const n = ++seq;
    if (pattern.value.trim() === "") {
      validity.className = "status muted"; validity.textContent = "No pattern: the rule runs on its schedule only.";
      verdict.className = "status muted"; verdict.textContent = "No pattern to test.";
      return;
    }
    let ev = sample.value;
    let evOK = true;
    try { JSON.parse(ev); } catch (e) { evOK = false; ev = JSON.stringify(sampleEvent(s)); }
    try {
      const r = await api("TestEventPattern", { EventPattern: pattern.value, Event: ev });
      if (n !== seq) return;
      validity.className = "status ok"; validity.textContent = "Pattern is valid.";
      if (!evOK) { verdict.className = "status bad"; verdict.textContent = "The sample event is not JSON."; }
      else { verdict.className = "status " + (r.Result ? "ok" : "bad"); verdict.textContent = r.Result ? "Match: the rule would route this event." : "No match."; }
    } catch (e) {
      if (n !== seq) return;
      if (e.code === "InvalidEventPatternException") {
        validity.className = "status bad"; validity.textContent = errText(e);
        verdict.className = "status muted"; verdict.textContent = "Fix the pattern to test it.";
      } else {
        // The pattern is valid, the event is not one TestEventPattern takes.
        validity.className = "status ok"; validity.textContent = "Pattern is valid.";
        verdict.className = "status bad"; verdict.textContent = "Sample event refused: " + errText(e);
      }
    }
  }
  const later = () => { clearTimeout(timer); validity.className = "status muted"; timer = setTimeout(check, 250); };
  pattern.addEventListener("input", later);
  sample.addEventListener("input", later);

  const form = h("form", { id: "rule-form", onsubmit: async (e) => {
    e.preventDefault();
    const input = { Name: name.value.trim(), EventBusName: bus, State: state.value };
    if (pattern.value.trim()) input.EventPattern = pattern.value;
    if (schedule.value.trim()) input.ScheduleExpression = schedule.value.trim();
    if (descr.value) input.Description = descr.value;
    if (existing?.RoleArn) input.RoleArn = existing.RoleArn;
    if (await attempt(() => api("PutRule", input), "Rule saved")) go("ruleDetail", { bus, rule: input.Name });
  } }, field("Name", name), field("Description", descr), field("State", state),
  field("Schedule", schedule), h("h3", {}, "Event pattern"), pattern, validity,
  h("p", {}, h("button", { class: "primary", id: "rule-save" }, "Save rule")));
  main.append(h("p", {}, h("button", { class: "link", onclick: () => go("bus", { bus }) }, "← Rules of " + bus)),
    h("div", { class: "row" },
      h("section", {}, h("h2", {}, rule ? "Edit rule " + rule : "Create rule on " + bus), form),
      h("section", {}, h("h2", {}, "Sandbox"),
        h("p", { class: "muted" }, "Edit the event, or take one the live tail captured, to see whether the pattern matches it."),
        pick, sample, verdict, h("p", {}, h("button", { type: "button", id: "sandbox-test", onclick: check }, "Test")))));
  check();
};

const TARGET_KINDS = [
  ["http", "HTTP endpoint (URL)", "http://127.0.0.1:8080/events"],
  ["api-destination", "API destination (ARN)", "arn:aws:events:REGION:ACCOUNT:api-destination/NAME/ID"],
  ["sqs", "SQS queue (ARN)", "arn:aws:sqs:REGION:ACCOUNT:queue"],
  ["sns", "SNS topic (ARN)", "arn:aws:sns:REGION:ACCOUNT:topic"],
  ["lambda", "Lambda function (ARN)", "arn:aws:lambda:REGION:ACCOUNT:function:name"],
  ["bus", "Event bus (ARN)", "arn:aws:events:REGION:ACCOUNT:event-bus/name"],
  ["other", "Other (ARN)", "arn:aws:..."],
];

views.ruleDetail = async (main, { bus, rule }) => {
  const s = session();
  const r = await api("DescribeRule", { Name: rule, EventBusName: bus });
  const targets = await all("ListTargetsByRule", { Rule: rule, EventBusName: bus }, "Targets");
  const id = h("input", { id: "target-id", value: "target-" + (targets.length + 1) });
  const kind = h("select", { id: "target-kind", onchange: () => { arn.placeholder = TARGET_KINDS.find((k) => k[0] === kind.value)[2]; } },
    TARGET_KINDS.map(([v, l]) => h("option", { value: v }, l)));
  const arn = h("input", { id: "target-arn", size: 60, placeholder: TARGET_KINDS[0][2] });
  const input = h("input", { id: "target-input", size: 60, placeholder: "optional: constant JSON sent instead of the event" });
  const role = h("input", { id: "target-role", size: 60, placeholder: "optional: role ARN" });
  const dlq = h("input", { id: "target-dlq", size: 60, placeholder: "optional: SQS queue ARN for dead letters" });
  const counts = new Map();
  const rows = targets.map((t) => {
    const c = h("td", { class: "num", "data-dlq": t.Id }, "–");
    const inv = h("td", { class: "num", "data-invocations": t.Id }, "–");
    const failed = h("td", { class: "num", "data-failed": t.Id }, "–");
    counts.set(t.Id, { c, inv, failed });
    return h("tr", { "data-target": t.Id }, h("td", {}, t.Id), h("td", {}, h("code", {}, t.Arn)),
      h("td", { class: "muted" }, t.DeadLetterConfig?.Arn || ""), inv, failed, c,
      h("td", {}, h("button", { class: "danger", onclick: async () => {
        if (await attempt(() => api("RemoveTargets", { Rule: rule, EventBusName: bus, Ids: [t.Id] }), "Target removed")) go("ruleDetail", { bus, rule });
      } }, "Remove")));
  });
  const legend = h("div", { class: "legend" });
  const chartBox = h("div", { id: "rule-chart-box" });
  const totals = h("p", { id: "rule-totals", class: "muted" });
  main.append(h("p", {}, h("button", { class: "link", onclick: () => go("bus", { bus }) }, "← Rules of " + bus)),
    h("section", {}, h("h2", {}, "Rule ", h("span", { id: "rule-title" }, rule)),
      h("p", {}, "State: ", r.State, " · ", h("button", { onclick: () => go("rule", { bus, rule }) }, "Edit")),
      h("pre", {}, r.EventPattern ? JSON.stringify(JSON.parse(r.EventPattern), null, 2) : r.ScheduleExpression || "")),
    h("section", {}, h("h2", {}, "Targets"),
      table(["Id", "Target", "Dead-letter queue", "Invocations", "Failed", "Sent to DLQ", ""], rows, "target-list"),
      h("h3", {}, "Add target"),
      h("form", { id: "target-form", onsubmit: async (e) => {
        e.preventDefault();
        const t = { Id: id.value.trim(), Arn: arn.value.trim() };
        if (input.value.trim()) t.Input = input.value.trim();
        if (role.value.trim()) t.RoleArn = role.value.trim();
        if (dlq.value.trim()) t.DeadLetterConfig = { Arn: dlq.value.trim() };
        const res = await attempt(() => api("PutTargets", { Rule: rule, EventBusName: bus, Targets: [t] }));
        if (!res) return;
        if (res.FailedEntryCount) { toast(res.FailedEntries.map((f) => `${f.ErrorCode}: ${f.ErrorMessage}`).join("; "), true); return; }
        toast("Target added");
        go("ruleDetail", { bus, rule });
      } }, field("Id", id), field("Kind", kind), field("URL or ARN", arn), field("Input", input), field("Role", role),
      field("Dead-letter queue", dlq), h("button", { class: "primary", id: "target-add" }, "Add target"))),
    h("section", {}, h("h2", {}, "Metrics"), h("p", { class: "muted" }, "Counters from /metrics, sampled every 5 s while this page is open."),
      legend, chartBox, totals));

  const key = `${s.account}/${s.region}/${bus}/${rule}`;
  if (!history.has(key)) history.set(key, []);
  const samples = history.get(key);
  const names = [...RULE_METRICS, "Invocations", "FailedInvocations", "InvocationsSentToDlq"];
  legend.replaceChildren(...names.map((n, i) => {
    const sw = h("i"); sw.style.background = COLORS[i % COLORS.length];
    return h("span", {}, sw, n);
  }));
  async function sample() {
    let series;
    try { series = await readMetrics(); } catch (e) { totals.textContent = errText(e); return; }
    const values = {};
    for (const n of names) values[n] = sumFor(series, n, s, bus, rule);
    samples.push({ t: Date.now(), values });
    if (samples.length > 120) samples.shift();
    chartBox.replaceChildren(chart(samples, names));
    totals.textContent = names.map((n) => `${n} ${values[n]}`).join(" · ");
    for (const [tid, c] of counts) {
      c.inv.textContent = sumFor(series, "Invocations", s, bus, rule, tid);
      c.failed.textContent = sumFor(series, "FailedInvocations", s, bus, rule, tid);
      c.c.textContent = sumFor(series, "InvocationsSentToDlq", s, bus, rule, tid);
    }
  }
  sample();
  const iv = setInterval(sample, 5000);
  cleanup.push(() => clearInterval(iv));
};

views.connections = async (main) => {
  const conns = await all("ListConnections", {}, "Connections");
  const dests = await all("ListApiDestinations", {}, "ApiDestinations");
  const cname = h("input", { id: "conn-name" });
  const ctype = h("select", { id: "conn-type" }, h("option", { value: "API_KEY" }, "API key"), h("option", { value: "BASIC" }, "Basic"));
  const k1 = h("input", { id: "conn-key", placeholder: "header name / username" });
  const k2 = h("input", { id: "conn-secret", type: "password", placeholder: "key value / password", autocomplete: "off" });
  const dname = h("input", { id: "dest-name" });
  const dconn = h("select", { id: "dest-conn" }, conns.map((c) => h("option", { value: c.ConnectionArn }, c.Name)));
  const dend = h("input", { id: "dest-endpoint", size: 50, placeholder: "https://example.com/hook" });
  const dmethod = h("select", { id: "dest-method" }, ["POST", "PUT", "PATCH", "GET", "DELETE", "HEAD", "OPTIONS"].map((m) => h("option", {}, m)));
  const drate = h("input", { id: "dest-rate", type: "number", min: 1, max: 300, placeholder: "300" });
  main.append(
    h("section", {}, h("h2", {}, "Connections"),
      table(["Name", "Authorization", "State", ""], conns.map((c) => h("tr", { "data-connection": c.Name }, h("td", {}, c.Name),
        h("td", {}, c.AuthorizationType), h("td", {}, c.ConnectionState),
        h("td", {}, h("button", { class: "danger", onclick: async () => {
          if (await attempt(() => api("DeleteConnection", { Name: c.Name }), "Connection deleted")) go("connections");
        } }, "Delete")))), "conn-list"),
      h("h3", {}, "Create connection"),
      h("form", { id: "conn-form", onsubmit: async (e) => {
        e.preventDefault();
        const p = ctype.value === "API_KEY" ? { ApiKeyAuthParameters: { ApiKeyName: k1.value, ApiKeyValue: k2.value } }
          : { BasicAuthParameters: { Username: k1.value, Password: k2.value } };
        if (await attempt(() => api("CreateConnection", { Name: cname.value.trim(), AuthorizationType: ctype.value, AuthParameters: p }), "Connection created")) go("connections");
      } }, field("Name", cname), field("Authorization", ctype), field("Key name / user", k1), field("Value / password", k2),
      h("button", { class: "primary" }, "Create connection"))),
    h("section", {}, h("h2", {}, "API destinations"),
      table(["Name", "Endpoint", "Method", "State", ""], dests.map((d) => h("tr", { "data-destination": d.Name }, h("td", {}, d.Name),
        h("td", {}, h("code", {}, d.InvocationEndpoint)), h("td", {}, d.HttpMethod), h("td", {}, d.ApiDestinationState),
        h("td", {}, h("button", { class: "danger", onclick: async () => {
          if (await attempt(() => api("DeleteApiDestination", { Name: d.Name }), "API destination deleted")) go("connections");
        } }, "Delete")))), "dest-list"),
      h("h3", {}, "Create API destination"),
      h("form", { id: "dest-form", onsubmit: async (e) => {
        e.preventDefault();
        const input = { Name: dname.value.trim(), ConnectionArn: dconn.value, InvocationEndpoint: dend.value.trim(), HttpMethod: dmethod.value };
        if (drate.value) input.InvocationRateLimitPerSecond = Number(drate.value);
        if (await attempt(() => api("CreateApiDestination", input), "API destination created")) go("connections");
      } }, field("Name", dname), field("Connection", dconn), field("Endpoint", dend), field("Method", dmethod),
      field("Rate limit /s", drate), h("button", { class: "primary" }, "Create API destination"))));
};

views.archives = async (main, { watch }) => {
  const archives = await all("ListArchives", {}, "Archives");
  const replays = await all("ListReplays", {}, "Replays");
  const buses = await all("ListEventBuses", {}, "EventBuses");
  const aname = h("input", { id: "archive-name" });
  const abus = h("select", { id: "archive-bus" }, buses.map((b) => h("option", { value: b.Arn }, b.Name)));
  const apat = h("input", { id: "archive-pattern", size: 50, placeholder: "optional event pattern" });
  const aret = h("input", { id: "archive-retention", type: "number", min: 0, placeholder: "days, 0 = forever" });
  const rname = h("input", { id: "replay-name" });
  const rarch = h("select", { id: "replay-archive" }, archives.map((a) => h("option", { value: a.ArchiveName }, a.ArchiveName)));
  // datetime-local inputs hold the browser's local time, as new Date()
  // reads them back.
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  const rstart = h("input", { id: "replay-start", type: "datetime-local", value: local(Date.now() - 3600e3) });
  const rend = h("input", { id: "replay-end", type: "datetime-local", value: local(Date.now() + 60e3) });
  const rdest = h("select", { id: "replay-dest" }, buses.map((b) => h("option", { value: b.Arn }, b.Name)));
  const progress = h("div", { id: "replay-progress" });
  main.append(
    h("section", {}, h("h2", {}, "Archives"),
      table(["Name", "Source", "State", "Events", "Size", "Retention"], archives.map((a) => h("tr", { "data-archive": a.ArchiveName },
        h("td", {}, a.ArchiveName), h("td", { class: "muted" }, a.EventSourceArn), h("td", {}, a.State),
        h("td", { class: "num" }, a.EventCount ?? ""), h("td", { class: "num" }, a.SizeBytes ?? ""), h("td", {}, a.RetentionDays ?? "")))),
      h("h3", {}, "Create archive"),
      h("form", { id: "archive-form", onsubmit: async (e) => {
        e.preventDefault();
        const input = { ArchiveName: aname.value.trim(), EventSourceArn: abus.value };
        if (apat.value.trim()) input.EventPattern = apat.value.trim();
        if (aret.value) input.RetentionDays = Number(aret.value);
        if (await attempt(() => api("CreateArchive", input), "Archive created")) go("archives");
      } }, field("Name", aname), field("Source bus", abus), field("Pattern", apat), field("Retention", aret),
      h("button", { class: "primary" }, "Create archive"))),
    h("section", {}, h("h2", {}, "Replays"),
      table(["Name", "Archive", "State", "Started", "Last replayed", ""], replays.map((r) => h("tr", { "data-replay": r.ReplayName },
        h("td", {}, r.ReplayName), h("td", {}, String(r.EventSourceArn || "").split("/").pop()), h("td", {}, r.State),
        h("td", {}, fmtTime(r.ReplayStartTime)), h("td", {}, fmtTime(r.EventLastReplayedTime)),
        h("td", {}, h("button", { onclick: () => watchReplay(r.ReplayName, progress) }, "Progress"))))),
      h("h3", {}, "Start replay"),
      h("form", { id: "replay-form", onsubmit: async (e) => {
        e.preventDefault();
        const arch = archives.find((a) => a.ArchiveName === rarch.value);
        if (!arch) { toast("Create an archive first", true); return; }
        const input = { ReplayName: rname.value.trim(), EventSourceArn: archiveArn(arch),
          EventStartTime: new Date(rstart.value).getTime() / 1000, EventEndTime: new Date(rend.value).getTime() / 1000,
          Destination: { Arn: rdest.value } };
        if (await attempt(() => api("StartReplay", input), "Replay started")) go("archives", { watch: input.ReplayName });
      } }, field("Name", rname), field("Archive", rarch), field("From", rstart), field("To", rend), field("Destination bus", rdest),
      h("button", { class: "primary" }, "Start replay")), progress));
  if (watch) watchReplay(watch, progress);
};

function archiveArn(a) {
  const s = session();
  const partition = s.region.startsWith("cn-") ? "aws-cn" : s.region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  return `arn:${partition}:events:${s.region}:${s.account}:archive/${a.ArchiveName}`;
}

function fmtTime(t) {
  if (t === undefined || t === null) return "";
  const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// watchReplay polls DescribeReplay until the replay ends.
function watchReplay(name, box) {
  const out = h("pre", { id: "replay-state" }, "…");
  box.replaceChildren(h("h3", {}, "Replay ", name), out);
  let stop = false;
  cleanup.push(() => { stop = true; });
  (async () => {
    while (!stop) {
      try {
        const d = await api("DescribeReplay", { ReplayName: name });
        out.textContent = `State: ${d.State}${d.StateReason ? " (" + d.StateReason + ")" : ""}\n` +
          `Events from ${fmtTime(d.EventStartTime)} to ${fmtTime(d.EventEndTime)}\n` +
          `Last replayed: ${fmtTime(d.EventLastReplayedTime) || "–"}\nStarted ${fmtTime(d.ReplayStartTime)}` +
          (d.ReplayEndTime ? `, ended ${fmtTime(d.ReplayEndTime)}` : "");
        if (["COMPLETED", "FAILED", "CANCELLED"].includes(d.State)) return;
      } catch (e) { out.textContent = errText(e); return; }
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
}

views.put = async (main) => {
  const buses = await all("ListEventBuses", {}, "EventBuses");
  const bus = h("select", { id: "put-bus" }, buses.map((b) => h("option", { value: b.Name }, b.Name)));
  if (current.bus) bus.value = current.bus;
  const source = h("input", { id: "put-source", value: "app.orders" });
  const dtype = h("input", { id: "put-detail-type", value: "OrderCreated" });
  const detail = h("textarea", { id: "put-detail", value: '{\n  "id": 1,\n  "total": 42.5\n}' });
  const result = h("div", { id: "put-result", class: "status muted" }, "");
  main.append(h("section", {}, h("h2", {}, "Put events"),
    h("form", { id: "put-form", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await api("PutEvents", { Entries: [{ EventBusName: bus.value, Source: source.value, DetailType: dtype.value, Detail: detail.value }] });
        const en = r.Entries[0];
        if (en.ErrorCode) { result.className = "status bad"; result.textContent = `${en.ErrorCode}: ${en.ErrorMessage}`; }
        else { result.className = "status ok"; result.textContent = "Event accepted: " + en.EventId; }
      } catch (err) { result.className = "status bad"; result.textContent = errText(err); }
    } }, field("Event bus", bus), field("Source", source), field("Detail type", dtype), h("h3", {}, "Detail"), detail,
    h("p", {}, h("button", { class: "primary", id: "put-submit" }, "Put event")), result)));
};

// The tail: a signed GET read as a stream (EventSource cannot send an
// Authorization header), parsed as Server-Sent Events.
views.tail = async (main) => {
  const buses = await all("ListEventBuses", {}, "EventBuses");
  const bus = h("select", { id: "tail-bus" }, buses.map((b) => h("option", { value: b.Name }, b.Name)));
  if (current.bus) bus.value = current.bus;
  const pat = h("textarea", { id: "tail-pattern", spellcheck: "false", placeholder: "optional event pattern, e.g. {\"source\":[\"app.orders\"]}" });
  const status = h("div", { id: "tail-status", class: "status muted" }, "Stopped.");
  const list = h("ul", { id: "tail-events" });
  let abort = null;
  const startBtn = h("button", { class: "primary", id: "tail-start", type: "submit" }, "Start");
  const stopBtn = h("button", { id: "tail-stop", type: "button", disabled: true, onclick: () => abort && abort.abort() }, "Stop");
  cleanup.push(() => abort && abort.abort());
  main.append(h("section", {}, h("h2", {}, "Live tail"),
    h("p", { class: "muted" }, "Events accepted on the bus from now on that match the pattern. Captured events are offered in the rule sandbox."),
    h("form", { id: "tail-form", onsubmit: async (e) => {
      e.preventDefault();
      if (abort) abort.abort();
      const ctl = new AbortController();
      abort = ctl;
      startBtn.disabled = true; stopBtn.disabled = false;
      try { await tail(bus.value, pat.value.trim(), ctl.signal, status, list); }
      catch (err) { if (!ctl.signal.aborted) { status.className = "status bad"; status.textContent = errText(err); } }
      if (ctl.signal.aborted) { status.className = "status muted"; status.textContent = "Stopped."; }
      if (abort === ctl) { startBtn.disabled = false; stopBtn.disabled = true; abort = null; }
    } }, field("Event bus", bus), h("h3", {}, "Pattern"), pat, h("p", {}, startBtn, " ", stopBtn)), status, list));
};

async function tail(bus, pattern, signal, status, list) {
  const params = [["EventBusName", bus]];
  if (pattern) params.push(["EventPattern", pattern]);
  const headers = await signedHeaders("GET", "/_switchyard/tail", params, {}, "");
  const qs = params.map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
  status.className = "status muted"; status.textContent = "Connecting…";
  const r = await fetch("/_switchyard/tail?" + qs, { headers, signal, credentials: "omit" });
  if (!r.ok) {
    let d = {};
    try { d = await r.json(); } catch { /* not JSON */ }
    throw new ApiError(d.__type || String(r.status), d.message || r.statusText);
  }
  const push = sseParser((type, data) => {
    if (type === "ready") { status.className = "status ok"; status.textContent = "Tailing " + bus + "…"; }
    else if (type === "error") { status.className = "status bad"; status.textContent = data; }
    else if (type === "event") {
      let ev;
      try { ev = JSON.parse(data); } catch { return; }
      captured.unshift(ev);
      if (captured.length > 50) captured.pop();
      list.prepend(h("li", { "data-event-id": ev.id }, h("pre", {}, JSON.stringify(ev, null, 2))));
      while (list.children.length > 200) list.lastChild.remove();
    }
  });
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    push(value);
  }
  status.className = "status muted"; status.textContent = "The tail ended.";
}

// ---- sign-in and start ----

function signIn(main) {
  const form = h("form", { id: "signin-form" });
  // Any region may be typed (the server refuses what is not an AWS
  // region, with AWS's message); the list only suggests.
  const region = h("input", { id: "signin-region", list: "signin-regions", value: "us-east-1", required: true, autocomplete: "off" });
  const regions = h("datalist", { id: "signin-regions" }, REGIONS.map((r) => h("option", { value: r })));
  const msg = h("div", { id: "signin-error", class: "status", role: "alert" });
  if (cfg.auth === "sigv4") {
    const key = h("input", { id: "signin-key", autocomplete: "username", required: true });
    const secret = h("input", { id: "signin-secret", type: "password", autocomplete: "current-password", required: true });
    const token = h("input", { id: "signin-token", type: "password", autocomplete: "off", placeholder: "optional" });
    form.append(field("Access key id", key), field("Secret access key", secret), field("Session token", token), field("Region", region));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const s = { accessKeyId: key.value.trim(), secretAccessKey: secret.value, sessionToken: token.value || undefined, region: region.value.trim() };
      setSession(s);
      try {
        // The account is the key's: the ARN of the default bus says it,
        // or, for a key that may not describe it, the principal ARN of
        // AccessDeniedException's "User: arn:aws:iam::<account>:...":
        // the signature was good, the key only lacks the permission.
        try {
          const d = await api("DescribeEventBus", { Name: "default" });
          s.account = d.Arn.split(":")[4];
        } catch (err) {
          const m = err.code === "AccessDeniedException" && /arn:[\w-]+:(?:iam|sts)::(\d{12}):/.exec(err.message);
          if (!m) throw err;
          s.account = m[1];
        }
        setSession(s);
        start();
      } catch (err) { setSession(null); msg.className = "status bad"; msg.textContent = errText(err); }
    });
  } else {
    const account = h("input", { id: "signin-account", value: "123456789012", pattern: "[0-9]{12}", required: true });
    form.append(h("p", { class: "muted" }, "This server runs with --auth none (dev mode): pick the account and region to act in."),
      field("Account", account), field("Region", region));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const sess = { account: account.value.trim(), region: region.value.trim() };
      setSession(sess);
      // One call checks the region before the console opens.
      api("ListEventBuses", { Limit: 1 }).then(start, (err) => { setSession(null); msg.className = "status bad"; msg.textContent = errText(err); });
    });
  }
  form.append(regions, h("button", { class: "primary", id: "signin-submit" }, cfg.auth === "sigv4" ? "Sign in" : "Open console"), msg);
  main.replaceChildren(h("section", {}, h("h2", {}, cfg.auth === "sigv4" ? "Sign in" : "Account and region"), form));
}

function start() {
  const s = session();
  $("#nav").hidden = false;
  $("#who").replaceChildren(h("span", { id: "who-scope" }, `${s.account} · ${s.region}`),
    h("button", { id: "signout", onclick: () => { setSession(null); render(); } }, cfg.auth === "sigv4" ? "Sign out" : "Switch"));
  go("buses");
}

function render() {
  for (const f of cleanup) f();
  cleanup = [];
  $("#nav").hidden = true;
  $("#who").replaceChildren();
  const s = session();
  if (s && s.account) start();
  else signIn($("#main"));
}

async function boot() {
  try { Object.assign(cfg, await (await fetch("config.json", { credentials: "omit" })).json()); } catch { /* defaults */ }
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => go(b.dataset.view));
  render();
}

boot();
