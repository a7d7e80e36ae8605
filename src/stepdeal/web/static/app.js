// stepdeal web app: a single page with hash routing over the JSON API (/api).
// Plain modern JavaScript, no build step; plots with Plotly (served by the app).
"use strict";

// ------------------------------------------------------------------ helpers

const TOKEN_KEY = "stepdeal.token";
const DRAFT_KEY = "stepdeal.draft";
const PLOT_CONFIG = { responsive: true, displaylogo: false };
const SLIDER_MID = 500; // slider position of an uncertainty's median (range 0..1000)

/** Build an element: h("div", {class: "x", testid: "y", onclick: fn}, child, ...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "testid") el.dataset.testid = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const present = (children) => children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);

/** Append children, skipping null/undefined/false. */
function add(el, ...children) {
  el.append(...present(children));
  return el;
}

/** Replace an element's children, skipping null/undefined/false. */
function fill(el, ...children) {
  el.replaceChildren(...present(children));
  return el;
}

function fmt(x, digits = 2) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  return x.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function fmtSig(x, sig = 3) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  if (x === 0) return "0";
  return Number(x.toPrecision(sig)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

/** "2026-11-28T03:24:40+0000" -> "2026-11-28 03:24:40 UTC" */
function fmtDate(s) {
  if (!s) return "";
  return String(s).replace("T", " ").replace(/(\+00:?00|Z)$/, " UTC");
}

function plural(n, word) {
  return `${fmt(n, 0)} ${word}${n === 1 ? "" : "s"}`;
}

function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

function saveText(text, filename, type) {
  saveBlob(new Blob([text], { type }), filename);
}

function saveJson(obj, filename) {
  saveText(JSON.stringify(obj, null, 1), filename, "application/json");
}

function csvCell(v) {
  if (v === null || v === undefined) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text from rows (objects) and a column list. */
function toCsv(rows, columns) {
  const cols = columns || [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [cols.map(csvCell).join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\n") + "\n";
}

function slug(s) {
  return String(s).replace(/[^A-Za-z0-9_.-]+/g, "-");
}

// ------------------------------------------------------------------ token and API

/** Read a token from #token=... or ?token=..., keep it in sessionStorage, strip it. */
function initToken() {
  const url = new URL(location.href);
  let token = null;
  if (url.searchParams.has("token")) {
    token = url.searchParams.get("token");
    url.searchParams.delete("token");
  }
  let hash = url.hash;
  const m = hash.match(/(?:^#|[&?])token=([^&]*)/);
  if (m) {
    token = decodeURIComponent(m[1]);
    hash = hash.replace(/[&?]?token=[^&]*/, "").replace(/^#&/, "#");
    if (hash === "#" || hash === "") hash = "#/";
  }
  if (token !== null) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", url.pathname + url.search + hash);
  }
}

class ApiError extends Error {
  constructor(status, problems) {
    super(problems.map(problemText).join("; "));
    this.status = status;
    this.problems = problems;
  }
}

function problemText(p) {
  let s = "";
  if (p.line !== null && p.line !== undefined) s += `line ${p.line}: `;
  if (p.path) s += `${p.path}: `;
  s += p.message || "error";
  if (!/[.!?]$/.test(s)) s += ".";
  if (p.fix) s += ` Fix: ${p.fix}`;
  return s;
}

/** fetch /api with the token and JSON body; throws ApiError with problems on 4xx/5xx. */
async function api(method, path, body, opts = {}) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal: opts.signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, [{ message: `the server did not answer (${err.message})`, fix: "is `stepdeal serve` still running?" }]);
  }
  if (!r.ok) {
    let problems;
    try {
      const j = await r.json();
      if (Array.isArray(j.problems)) problems = j.problems;
      else if (Array.isArray(j.detail)) problems = j.detail.map((d) => ({ path: (d.loc || []).join("."), message: d.msg }));
      else problems = [{ message: j.detail ? String(j.detail) : `${r.status} ${r.statusText}` }];
    } catch {
      problems = [{ message: `${r.status} ${r.statusText}` }];
    }
    if (r.status === 401) problems = problems.map((p) => ({ ...p, fix: "open the address printed by `stepdeal serve` (it carries #token=...)" }));
    throw new ApiError(r.status, problems);
  }
  if (opts.raw) return r;
  return r.json();
}

/** Download a file answered by the API (with the token header) and save it. */
async function downloadApi(method, path, body, fallbackName) {
  const r = await api(method, path, body, { raw: true });
  const cd = r.headers.get("content-disposition") || "";
  const m = cd.match(/filename="?([^";]+)"?/);
  saveBlob(await r.blob(), m ? m[1] : fallbackName);
}

function problemsBox(err, testid = "problems") {
  const problems = err instanceof ApiError ? err.problems : [{ message: String(err && err.message ? err.message : err) }];
  return h(
    "div",
    { class: "problems", role: "alert", testid },
    h("strong", {}, problems.length === 1 ? "Problem" : `${problems.length} problems`),
    h("ul", {}, problems.map((p) => h("li", { "data-line": p.line ?? "" }, problemText(p)))),
  );
}

// ------------------------------------------------------------------ scenario refs

/** Route ref ("b:NAME", "s:ID", "draft") to an API source. */
function sourceOf(ref) {
  if (ref.startsWith("b:")) return { name: ref.slice(2) };
  if (ref.startsWith("s:")) return { saved: Number(ref.slice(2)) };
  if (ref === "draft") return { yaml: sessionStorage.getItem(DRAFT_KEY) || "" };
  return { name: ref };
}

function refLabel(ref) {
  if (ref.startsWith("b:")) return ref.slice(2);
  if (ref.startsWith("s:")) return `saved #${ref.slice(2)}`;
  return "unsaved draft";
}

async function loadYaml(ref) {
  if (ref.startsWith("b:")) return (await api("GET", `/api/scenarios/${encodeURIComponent(ref.slice(2))}`)).yaml;
  if (ref.startsWith("s:")) return (await api("GET", `/api/saved/${Number(ref.slice(2))}`)).yaml;
  return sessionStorage.getItem(DRAFT_KEY) || "";
}

/** Uncertainty values and seed carried in a route's query (?seed=1&u.ID=0.5). */
function valuesFromQuery(q) {
  const values = {};
  for (const [k, v] of q.entries()) if (k.startsWith("u.") && v !== "" && Number.isFinite(Number(v))) values[k.slice(2)] = Number(v);
  return values;
}

function queryOf(values, seed) {
  const q = new URLSearchParams();
  if (seed) q.set("seed", String(seed));
  for (const [k, v] of Object.entries(values || {})) q.set(`u.${k}`, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

function valuesNote(values) {
  const entries = Object.entries(values || {});
  if (!entries.length) return "every uncertainty at its median";
  return entries.map(([k, v]) => `${k} = ${fmtSig(v, 4)}`).join(", ") + " (others at their medians)";
}

function scenarioLinks(ref, current, query = "") {
  const pages = [
    ["compare", "Compare"],
    ["edit", "Edit"],
    ["check", "Check"],
    ["design", "Design"],
    ["ensemble", "Ensemble"],
    ["forecast", "Forecast"],
  ];
  return h(
    "nav",
    { class: "toolbar", "aria-label": "Scenario pages" },
    pages.map(([page, label]) =>
      h("a", { class: page === current ? "button primary" : "button", href: `#/${page}/${ref}${page === "edit" ? "" : query}`, "aria-current": page === current ? "page" : null, testid: `goto-${page}` }, label),
    ),
  );
}

// ------------------------------------------------------------------ units

function periodLabel(period, t) {
  return `${period} ${t}`;
}

/** Unit of an ensemble outcome column. */
function outcomeUnit(col, unit, period) {
  if (col === "expected_resolved") return "concerns";
  if (col === "expected_vetoes") return "vetoes";
  if (col === "expected_pressure") return `${unit} per ${period}`;
  if (col.startsWith("p_verified:")) return "probability";
  if (col.startsWith("periods_to:")) return `${period}s`;
  if (col.endsWith("utility") || col.startsWith("utility:")) return unit;
  return "";
}

function outcomeLabel(col) {
  const names = {
    expected_resolved: "Concerns resolved (expected)",
    target_utility: "Target's utility",
    powers_total_utility: "Powers' total utility",
    expected_pressure: "Pressure (expected)",
    expected_vetoes: "Vetoes (expected)",
  };
  return names[col] || col;
}

// ------------------------------------------------------------------ plots

function plot(el, traces, layout) {
  const base = {
    margin: { l: 70, r: 20, t: 44, b: 96 },
    font: { family: "system-ui, sans-serif", size: 12 },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    legend: { orientation: "h", y: -0.3, yanchor: "top", x: 0 },
  };
  if (typeof Plotly === "undefined") {
    el.replaceChildren(h("p", { class: "muted" }, "Plotly did not load (/static/vendor/plotly.min.js), so the plot cannot be shown."));
    return;
  }
  const filename = slug((layout.title && layout.title.text) || "stepdeal-plot");
  Plotly.newPlot(el, traces, { ...base, ...layout }, { ...PLOT_CONFIG, toImageButtonOptions: { format: "png", filename, scale: 2 } });
  el.dataset.plotted = "true";
}

function purgePlots(root) {
  if (typeof Plotly === "undefined") return;
  root.querySelectorAll(".js-plotly-plot").forEach((el) => Plotly.purge(el));
}

// ------------------------------------------------------------------ router

let page = { id: 0, cleanups: [] };

function alive(id) {
  return page.id === id;
}

function onLeave(fn) {
  page.cleanups.push(fn);
}

const ROUTES = [
  [/^\/?$/, pageGallery],
  [/^\/edit\/(.+)$/, pageEditor],
  [/^\/compare\/(.+)$/, pageCompare],
  [/^\/check\/(.+)$/, pageCheck],
  [/^\/design\/(.+)$/, pageDesign],
  [/^\/ensemble\/(.+)$/, pageEnsemble],
  [/^\/forecast\/(.+)$/, pageForecast],
  [/^\/runs\/?$/, pageRuns],
  [/^\/run\/(\d+)$/, pageRun],
];

function route() {
  for (const fn of page.cleanups) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }
  const main = document.getElementById("main");
  purgePlots(main);
  page = { id: page.id + 1, cleanups: [] };
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  const query = new URLSearchParams(qs || "");
  document.querySelectorAll("header nav a[data-nav]").forEach((a) => {
    const current = (a.dataset.nav === "gallery" && path === "/") || (a.dataset.nav === "runs" && /^\/runs?/.test(path));
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  main.replaceChildren();
  main.dataset.page = "";
  for (const [re, fn] of ROUTES) {
    const m = path.match(re);
    if (m) {
      main.dataset.page = fn.name.replace(/^page/, "").toLowerCase();
      const args = m.slice(1).map(decodeURIComponent);
      Promise.resolve(fn(main, page.id, query, ...args)).catch((err) => {
        if (err && err.name === "AbortError") return;
        if (!(err instanceof ApiError)) console.error(err);
        if (alive(page.id)) add(main, problemsBox(err));
      });
      return;
    }
  }
  add(main, h("h1", {}, "Page not found"), h("p", {}, "No page at ", h("code", {}, location.hash), ". ", h("a", { href: "#/" }, "Back to the gallery"), "."));
}

function setTitle(text) {
  document.title = text ? `${text} · stepdeal` : "stepdeal";
}

// ------------------------------------------------------------------ gallery

async function pageGallery(main, id) {
  setTitle("Gallery");
  add(main,
    h("h1", {}, "Scenarios"),
    h("p", { class: "muted" }, "Built-in scenarios and the ones you saved. Compare the policies, edit a copy, check whether each step is self-enforcing, design a roadmap, run an ensemble over the uncertainties or forecast the stakeholders."),
  );
  const loading = h("p", { class: "status", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading the scenarios…");
  main.append(loading);
  const [builtins, saved] = await Promise.all([api("GET", "/api/scenarios"), api("GET", "/api/saved")]).finally(() => loading.remove());
  if (!alive(id)) return;
  const actions = (ref) =>
    h(
      "div",
      { class: "actions" },
      [
        ["compare", "Compare"],
        ["edit", "Edit"],
        ["check", "Check"],
        ["design", "Design"],
        ["ensemble", "Ensemble"],
        ["forecast", "Forecast"],
      ].map(([p, label], i) => h("a", { class: i === 0 ? "button primary" : "button", href: `#/${p}/${ref}`, testid: `card-${p}` }, label)),
    );
  add(main,
    h("h2", {}, "Built-in"),
    h(
      "div",
      { class: "cards", testid: "builtin-cards" },
      builtins.map((s) =>
        h(
          "article",
          { class: "card", testid: "scenario-card", "data-ref": `b:${s.name}`, "aria-labelledby": `card-b-${slug(s.name)}` },
          h("h3", { id: `card-b-${slug(s.name)}` }, s.title || s.name),
          h("div", { class: "meta" }, h("code", {}, s.name), " · built-in"),
          h("div", {}, h("span", { class: "muted small" }, "Policies: "), s.policies.map((p) => h("span", { class: "tag" }, p))),
          actions(`b:${s.name}`),
        ),
      ),
    ),
    h("h2", {}, "Saved"),
  );
  if (!saved.length) {
    add(main, h("p", { class: "muted", testid: "no-saved" }, "Nothing saved yet: open a built-in in the editor, change it and press Save."));
    return;
  }
  add(main,
    h(
      "div",
      { class: "cards", testid: "saved-cards" },
      saved
        .slice()
        .reverse()
        .map((s) =>
          h(
            "article",
            { class: "card", testid: "scenario-card", "data-ref": `s:${s.id}`, "aria-labelledby": `card-s-${s.id}` },
            h("h3", { id: `card-s-${s.id}` }, `${s.name} `, h("span", { class: "muted" }, `#${s.id}`)),
            h("div", { class: "meta" }, "saved ", fmtDate(s.created), " · sha256 ", h("code", { title: s.sha256 }, String(s.sha256 || "").slice(0, 10))),
            actions(`s:${s.id}`),
          ),
        ),
    ),
  );
}

// ------------------------------------------------------------------ schema form

function singular(word) {
  if (/ies$/.test(word)) return word.replace(/ies$/, "y");
  if (/s$/.test(word)) return word.replace(/s$/, "");
  return "item";
}

let schemaCache = null;

async function getSchema() {
  if (!schemaCache) schemaCache = await api("GET", "/api/schema");
  return schemaCache;
}

/**
 * A form generated from the scenario's JSON schema, editing `data` in place.
 * `changed(structural)` is called after every edit (structural: the form must be rebuilt).
 */
class SchemaForm {
  constructor(root, changed) {
    this.root = root;
    this.changed = changed;
    this.open = new Set(["[]"]);
    this.uid = 0;
  }

  deref(s) {
    let guard = 0;
    while (s && s.$ref && guard++ < 20) {
      const name = s.$ref.replace(/^#\/\$defs\//, "");
      s = { ...this.root.$defs[name], ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$ref")) };
    }
    return s || {};
  }

  matches(s, v) {
    s = this.deref(s);
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).some((x) => this.matches(x, v));
    if ("const" in s) return v === s.const;
    if (s.enum) return s.enum.includes(v);
    switch (s.type) {
      case "string":
        return typeof v === "string";
      case "number":
        return typeof v === "number";
      case "integer":
        return Number.isInteger(v);
      case "boolean":
        return typeof v === "boolean";
      case "array":
        return Array.isArray(v);
      case "object":
        return v !== null && typeof v === "object" && !Array.isArray(v);
      case "null":
        return v === null;
      default:
        return true;
    }
  }

  /** The concrete schema to render for value `v`, or null (then: a YAML snippet). */
  pick(schema, v) {
    let s = this.deref(schema);
    const variants = s.anyOf || s.oneOf;
    if (!variants) return s;
    const meta = { title: s.title, description: s.description, default: s.default };
    const options = variants.map((x) => this.deref(x)).filter((x) => x.type !== "null");
    let chosen = null;
    if (s.discriminator && v && typeof v === "object") {
      const ref = (s.discriminator.mapping || {})[v[s.discriminator.propertyName]];
      if (ref) chosen = this.deref({ $ref: ref });
    } else if (options.length === 1) chosen = options[0];
    else if (v !== undefined && v !== null) {
      let ok = options.filter((x) => this.matches(x, v));
      // YAML 1.1 reads a bare yes/no as a boolean; the scenario accepts it for "yes"/"no"
      if (!ok.length && typeof v === "boolean") ok = options.filter((x) => x.enum && x.enum.includes("yes"));
      if (ok.length === 1) chosen = ok[0];
    }
    if (!chosen) return null;
    return { ...chosen, title: meta.title || chosen.title, description: meta.description || chosen.description, default: meta.default ?? chosen.default };
  }

  defaultFor(schema) {
    const s = this.deref(schema);
    if (s.default !== undefined && s.default !== null) return structuredClone(s.default);
    if ("const" in s) return s.const;
    if (s.enum) return s.enum[0];
    const variants = s.anyOf || s.oneOf;
    if (variants) {
      const first = variants.map((x) => this.deref(x)).find((x) => x.type !== "null");
      return first ? this.defaultFor(first) : null;
    }
    switch (s.type) {
      case "object": {
        const out = {};
        for (const k of s.required || []) out[k] = this.defaultFor(s.properties[k]);
        return out;
      }
      case "array":
        return [];
      case "string":
        return "";
      case "number":
      case "integer":
        return 0;
      case "boolean":
        return false;
      default:
        return null;
    }
  }

  render(container, data, disabled) {
    this.uid = 0;
    const fs = h("fieldset", { disabled: disabled || null, testid: "form-fields" }, h("legend", { class: "muted small" }, "Scenario fields (from the JSON schema)"));
    fs.append(...this.objectBody(this.root, data, []));
    fill(container, fs);
  }

  key(path) {
    return JSON.stringify(path);
  }

  details(path, summary, body, openDefault = false) {
    const k = this.key(path);
    const d = h("details", { open: this.open.has(k) || (openDefault && !this.open.has(`closed:${k}`)) || null, "data-path": path.join(".") }, h("summary", {}, summary), body);
    d.addEventListener("toggle", () => {
      if (d.open) {
        this.open.add(k);
        this.open.delete(`closed:${k}`);
      } else {
        this.open.delete(k);
        this.open.add(`closed:${k}`);
      }
    });
    return d;
  }

  /** The rows of an object's properties (present or required), then an "add field" control. */
  objectBody(schema, obj, path) {
    const s = this.deref(schema);
    const props = s.properties || {};
    const required = new Set(s.required || []);
    const out = [];
    const shown = Object.keys(props).filter((k) => k in obj || required.has(k));
    for (const k of shown) {
      out.push(
        this.field(props[k], obj[k], k, [...path, k], (v) => {
          if (v === undefined) delete obj[k];
          else obj[k] = v;
        }, !required.has(k)),
      );
    }
    const mapSchema = s.additionalProperties && typeof s.additionalProperties === "object" ? s.additionalProperties : s.patternProperties ? Object.values(s.patternProperties)[0] : null;
    for (const k of Object.keys(obj)) {
      if (k in props) continue;
      out.push(
        this.field(mapSchema || {}, obj[k], k, [...path, k], (v) => {
          if (v === undefined) delete obj[k];
          else obj[k] = v;
        }, true),
      );
    }
    const missing = Object.keys(props).filter((k) => !(k in obj) && !required.has(k));
    if (missing.length) {
      const id = `f${++this.uid}`;
      const sel = h("select", { id }, h("option", { value: "" }, "choose…"), missing.map((k) => h("option", { value: k }, props[k].title || k)));
      sel.addEventListener("change", () => {
        const k = sel.value;
        if (!k) return;
        obj[k] = this.defaultFor(props[k]);
        this.open.add(this.key([...path, k]));
        this.changed(true);
      });
      out.push(h("div", { class: "add-row" }, h("label", { for: id }, "Add field"), sel));
    }
    if (mapSchema) {
      const id = `f${++this.uid}`;
      const input = h("input", { id, type: "text", placeholder: "new key (an id)" });
      const btn = h("button", { type: "button" }, "Add");
      btn.addEventListener("click", () => {
        const k = input.value.trim();
        if (!k || k in obj) return;
        obj[k] = this.defaultFor(mapSchema);
        this.changed(true);
      });
      out.push(h("div", { class: "add-row" }, h("label", { for: id }, "Add entry"), input, btn));
    }
    return out;
  }

  removeButton(label, set) {
    return h("button", { type: "button", class: "link danger", title: `remove ${label}`, "aria-label": `remove ${label}`, onclick: () => (set(undefined), this.changed(true)) }, "×");
  }

  field(schema, value, label, path, set, removable) {
    const picked = this.pick(schema, value);
    const s = picked || this.deref(schema);
    const title = s.title && s.title.toLowerCase().replace(/ /g, "_") === String(label).toLowerCase() ? label : label;
    const hint = s.description;
    const rm = removable ? this.removeButton(label, set) : h("span");
    if (!picked || (value !== undefined && value !== null && !this.matches(s, value) && !(s.enum && typeof value === "boolean"))) {
      return this.snippet(value, title, path, set, rm, hint);
    }
    const id = `f${++this.uid}`;
    const row = (control) => h("div", { class: "frow", "data-path": path.join(".") }, h("label", { for: id }, title), control, rm, hint ? h("div", { class: "hint" }, hint) : null);
    if ("const" in s) return row(h("input", { id, type: "text", value: String(s.const), readonly: true }));
    if (s.enum) {
      let current = value;
      if (typeof value === "boolean" && s.enum.includes("yes")) current = value ? "yes" : "no";
      const sel = h("select", { id }, s.enum.map((e) => h("option", { value: String(e), selected: e === current || null }, String(e))));
      if (value === undefined || value === null) sel.value = "";
      sel.addEventListener("change", () => {
        const e = s.enum.find((x) => String(x) === sel.value);
        set(e);
        this.changed(false);
      });
      return row(sel);
    }
    const type = s.type;
    if (type === "boolean") {
      const cb = h("input", { id, type: "checkbox", checked: !!value });
      cb.addEventListener("change", () => (set(cb.checked), this.changed(false)));
      return row(h("div", {}, cb));
    }
    if (type === "number" || type === "integer") {
      const attrs = { id, type: "number", step: type === "integer" ? "1" : "any", value: value ?? "" };
      if (s.minimum !== undefined) attrs.min = s.minimum;
      if (s.maximum !== undefined) attrs.max = s.maximum;
      const inp = h("input", attrs);
      inp.addEventListener("change", () => {
        if (inp.value === "") set(removable ? undefined : null);
        else set(type === "integer" ? Math.round(Number(inp.value)) : Number(inp.value));
        this.changed(false);
      });
      return row(inp);
    }
    if (type === "string") {
      const long = /note|description/i.test(String(label)) || (typeof value === "string" && (value.length > 60 || value.includes("\n")));
      const inp = long ? h("textarea", { id, rows: Math.min(6, 1 + Math.ceil(String(value || "").length / 60)) }) : h("input", { id, type: "text" });
      inp.value = value ?? "";
      inp.addEventListener("input", () => {
        set(inp.value === "" && removable ? undefined : inp.value);
        this.changed(false);
      });
      return row(inp);
    }
    if (type === "array") {
      const arr = Array.isArray(value) ? value : [];
      if (!Array.isArray(value)) set(arr);
      const itemSchema = s.items || {};
      const body = [];
      arr.forEach((item, i) => {
        const itemLabel = item && typeof item === "object" && !Array.isArray(item) ? item.id || item.name || `#${i + 1}` : `#${i + 1}`;
        const setItem = (v) => {
          if (v === undefined) arr.splice(i, 1);
          else arr[i] = v;
        };
        body.push(this.field(itemSchema, item, itemLabel, [...path, i], setItem, true));
      });
      const add = h("button", { type: "button" }, `Add ${singular(String(label))}`);
      add.addEventListener("click", () => {
        arr.push(this.defaultFor(itemSchema));
        this.open.add(this.key(path));
        this.open.add(this.key([...path, arr.length - 1]));
        this.changed(true);
      });
      body.push(h("div", { class: "add-row" }, add));
      return this.details(path, [title, " ", h("span", { class: "muted" }, `(${arr.length})`), " ", removable ? rm : null], h("div", {}, hint ? h("div", { class: "hint muted small" }, hint) : null, body));
    }
    if (type === "object" || s.properties || s.patternProperties) {
      const obj = value && typeof value === "object" ? value : {};
      if (value !== obj) set(obj);
      const summary = [title, " ", h("span", { class: "muted" }, obj.kind ? `(${obj.kind})` : ""), " ", removable ? rm : null];
      return this.details(path, summary, h("div", {}, hint ? h("div", { class: "hint muted small" }, hint) : null, this.objectBody(s, obj, path)));
    }
    return this.snippet(value, title, path, set, rm, hint);
  }

  /** A value the form cannot render as fields: edit it as a small YAML (flow/JSON) snippet. */
  snippet(value, label, path, set, rm, hint) {
    const id = `f${++this.uid}`;
    const ta = h("textarea", { id, class: "snippet", rows: 2, spellcheck: "false", "aria-describedby": `${id}-h` });
    ta.value = value === undefined ? "" : JSON.stringify(value);
    const msg = h("div", { class: "hint", id: `${id}-h` }, (hint ? `${hint}. ` : "") + "YAML snippet (flow style, e.g. {uncertainty: x, scale: 1}).");
    ta.addEventListener(
      "input",
      debounce(async () => {
        const text = ta.value.trim();
        if (text === "") return;
        let v;
        try {
          v = JSON.parse(text);
        } catch {
          try {
            v = (await api("POST", "/api/yaml/parse", { yaml: `v: ${text}` })).data.v;
          } catch (err) {
            msg.textContent = `Not valid YAML: ${err.message}`;
            return;
          }
        }
        msg.textContent = "YAML snippet.";
        set(v);
        this.changed(false);
      }, 400),
    );
    return h("div", { class: "frow", "data-path": path.join(".") }, h("label", { for: id }, label), ta, rm, msg);
  }
}

// ------------------------------------------------------------------ editor

/** Select line n (1-based) of a textarea and scroll it into view. */
function jumpToLine(textarea, n) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, n - 1).reduce((a, l) => a + l.length + 1, 0);
  const end = start + (lines[n - 1] || "").length;
  textarea.focus();
  textarea.setSelectionRange(start, end);
  const lh = parseFloat(getComputedStyle(textarea).lineHeight) || 16;
  textarea.scrollTop = Math.max(0, (n - 1) * lh - textarea.clientHeight / 3);
}

async function pageEditor(main, id, _query, ref) {
  setTitle(`Edit ${refLabel(ref)}`);
  const heading = h("h1", {}, `Edit ${refLabel(ref)}`);
  const textarea = h("textarea", { id: "yaml", class: "code", spellcheck: "false", testid: "yaml-editor", "aria-describedby": "validation" });
  const validation = h("div", { id: "validation", class: "validation", testid: "validation", "aria-live": "polite", "data-state": "pending" });
  const formPane = h("div", { class: "form-pane", testid: "schema-form" }, h("p", { class: "muted" }, "Loading the form…"));
  const saveMsg = h("div", { testid: "save-message", "aria-live": "polite" });
  const saveBtn = h("button", { type: "button", class: "primary", testid: "save" }, "Save");
  const dlBtn = h("button", { type: "button", testid: "download-yaml" }, "Download YAML");
  const cmpBtn = h("button", { type: "button", testid: "compare-this" }, "Compare this");
  add(main,
    heading,
    ref.startsWith("b:") ? h("p", { class: "muted" }, "A built-in cannot be changed: Save stores your edited copy as a new saved scenario.") : null,
    h("div", { class: "toolbar" }, saveBtn, dlBtn, cmpBtn, h("a", { class: "button", href: "#/" }, "Back to the gallery")),
    saveMsg,
    h(
      "div",
      { class: "editor" },
      h("section", { "aria-labelledby": "yaml-label" }, h("h2", {}, h("label", { id: "yaml-label", for: "yaml" }, "Scenario YAML")), textarea, validation),
      h("section", { "aria-label": "Form" }, h("h2", {}, "Form"), h("p", { class: "muted small" }, "Edits here rewrite the YAML on the left (the YAML is the source of truth; comments are not kept when the form rewrites it)."), formPane),
    ),
  );

  const [text, schema] = await Promise.all([loadYaml(ref), getSchema()]);
  if (!alive(id)) return;
  textarea.value = text;
  let data = null;
  let seq = 0;
  const form = new SchemaForm(schema, (structural) => {
    if (structural) renderForm(false);
    dumpSoon();
  });

  function renderForm(disabled) {
    if (!data) {
      formPane.replaceChildren(h("p", { class: "muted" }, "The YAML does not parse; fix it on the left to use the form."));
      return;
    }
    form.render(formPane, data, disabled);
  }

  async function validate() {
    const mine = ++seq;
    validation.dataset.state = "pending";
    const yaml = textarea.value;
    try {
      const r = await api("POST", "/api/validate", { yaml });
      if (mine !== seq || !alive(id)) return;
      validation.dataset.state = "ok";
      validation.replaceChildren(
        h("div", { class: "okbox" }, h("strong", {}, "Valid. "), `${r.name}: ${plural(r.actors, "actor")}, ${plural(r.concerns, "concern")}, ${plural(r.measures, "measure")}; policies ${r.policies.join(", ")}.`),
      );
    } catch (err) {
      if (mine !== seq || !alive(id)) return;
      validation.dataset.state = "error";
      const box = problemsBox(err, "validation-problems");
      box.querySelectorAll("li[data-line]").forEach((li) => {
        const n = Number(li.dataset.line);
        if (!n) return;
        li.append(" ", h("button", { type: "button", class: "link", onclick: () => jumpToLine(textarea, n) }, `go to line ${n}`));
      });
      validation.replaceChildren(box);
    }
  }

  async function parse() {
    try {
      const r = await api("POST", "/api/yaml/parse", { yaml: textarea.value });
      if (!alive(id)) return;
      data = r.data;
      renderForm(false);
    } catch (err) {
      if (!alive(id)) return;
      if (data) renderForm(true);
      else renderForm(false);
    }
  }

  const onType = debounce(() => {
    validate();
    parse();
  }, 400);
  textarea.addEventListener("input", () => {
    validation.dataset.state = "pending";
    onType();
  });
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      // two spaces, as YAML wants (Escape then Tab leaves the editor)
      e.preventDefault();
      textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
      onType();
    }
  });

  const dumpSoon = debounce(async () => {
    try {
      const r = await api("POST", "/api/yaml/dump", { data });
      if (!alive(id)) return;
      textarea.value = r.yaml;
      validate();
    } catch (err) {
      validation.replaceChildren(problemsBox(err, "validation-problems"));
    }
  }, 300);
  onLeave(() => {
    onType.cancel();
    dumpSoon.cancel();
  });

  saveBtn.addEventListener("click", async () => {
    saveBtn.disabled = true;
    saveMsg.replaceChildren(h("span", { class: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Saving…"));
    try {
      const r = await api("POST", "/api/saved", { yaml: textarea.value });
      saveMsg.replaceChildren(h("div", { class: "okbox" }, `Saved as #${r.id} (${r.name}).`));
      location.hash = `#/edit/s:${r.id}`;
    } catch (err) {
      saveMsg.replaceChildren(problemsBox(err, "save-problems"));
    } finally {
      saveBtn.disabled = false;
    }
  });
  dlBtn.addEventListener("click", () => {
    const name = (textarea.value.match(/^name:\s*["']?([^"'\s#]+)/m) || [])[1] || "scenario";
    saveText(textarea.value, `${name}.yaml`, "application/yaml");
  });
  cmpBtn.addEventListener("click", () => {
    sessionStorage.setItem(DRAFT_KEY, textarea.value);
    location.hash = "#/compare/draft";
  });

  await Promise.all([validate(), parse()]);
}

// ------------------------------------------------------------------ compare

/** A select of the scenario's private types of the target (null without types). */
function typeSelect(info, query) {
  const types = info.types || [];
  if (!types.length) return null;
  const sel = h(
    "select",
    { id: "true-type", testid: "true-type" },
    types.map((t) => h("option", { value: t.id }, `${t.id} (prior ${fmt(t.prior, 2)})`)),
  );
  if (query && query.get("type")) sel.value = query.get("type");
  return sel;
}

async function inspect(source) {
  return api("POST", "/api/inspect", source);
}

function summaryRows(result) {
  return Object.entries(result).map(([pid, run]) => {
    const verified = run.steps.filter((s) => s.verified !== null && s.verified !== undefined);
    const last = verified.length ? Math.max(...verified.map((s) => s.verified)) : null;
    return { policy: pid, verified: run.resolved.length, last, vetoes: run.vetoes.length, reversals: (run.reversals || []).length, target: run.expected_target_utility, run };
  });
}

/** Summary table, "why" notes and the three plots of a compare result. */
function renderCompareResult(container, result, info, values, ref) {
  const first = Object.values(result)[0] || {};
  const unit = first.unit || info.unit || "payoff units";
  const period = first.period || info.period || "period";
  const horizon = first.horizon || info.horizon;
  const rows = summaryRows(result);
  const policyNames = Object.fromEntries((info.policies || []).map((p) => [p.id, p]));
  const target = (info.actors || []).find((a) => a.role === "target");
  const table = h(
    "table",
    { testid: "summary-table" },
    h("caption", {}, `Horizon ${horizon} ${period}s (${period} 0 to ${horizon - 1}); utilities are discounted sums in ${unit}.`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Policy"),
        h("th", { scope: "col", class: "num" }, "Concerns verified (concerns)"),
        h("th", { scope: "col" }, "Resolved"),
        h("th", { scope: "col", class: "num" }, `Last verified (${period})`),
        h("th", { scope: "col", class: "num" }, "Vetoes (votes)"),
        h("th", { scope: "col", class: "num" }, `${target ? target.id : "Target"}'s expected utility (${unit})`),
        ref ? h("th", { scope: "col" }, "Pages") : null,
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          { "data-policy": r.policy },
          h("th", { scope: "row" }, r.policy, policyNames[r.policy] && policyNames[r.policy].kind ? h("div", { class: "muted small" }, policyNames[r.policy].kind) : null),
          h("td", { class: "num", "data-col": "verified", testid: `verified-${r.policy}` }, String(r.verified)),
          h("td", { class: "small" }, r.run.resolved.join(", ") || "—"),
          h("td", { class: "num", "data-col": "last" }, r.last === null ? "—" : periodLabel(period, r.last)),
          h("td", { class: "num", "data-col": "vetoes" }, String(r.vetoes)),
          h("td", { class: "num", "data-col": "target" }, fmt(r.target)),
          ref ? h("td", {}, h("a", { href: `#/check/${ref}${queryOf(values, 0)}${values && Object.keys(values).length ? "&" : "?"}policy=${encodeURIComponent(r.policy)}` }, "check")) : null,
        ),
      ),
    ),
  );
  const why = h(
    "ul",
    { class: "why", testid: "why" },
    rows.map((r) => {
      const w = r.run.why;
      if (!w || typeof w !== "object") return null;
      if (!w.stalled) return h("li", {}, h("strong", {}, r.policy), ": does not stall within the horizon.");
      const opts = (w.options || []).slice(0, 3).map((o) => `${o.concerns.join(" + ")} (${fmt(o.gain_vs_wait)} ${w.unit || unit} vs waiting)`);
      return h("li", {}, h("strong", {}, r.policy), `: the target stops at ${periodLabel(period, w.period)}; its next options would lose: ${opts.join("; ") || "none left"}.`);
    }),
  );
  const typed = rows.filter((r) => r.run.types && r.run.types.separation);
  const typesTable = typed.length
    ? h(
        "table",
        { testid: "types-table" },
        h("caption", {}, `What the powers learn about the target's type (true type: ${typed[0].run.types.true_type}); probabilities 0–1, expected values over verification draws.`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Policy"), h("th", { scope: "col" }, "Types revealed"), h("th", { scope: "col" }, "Belief at the end (this run)"), h("th", { scope: "col" }, "Per type"))),
        h(
          "tbody",
          {},
          typed.map((r) => {
            const sep = r.run.types.separation;
            const beliefs = r.run.beliefs || [];
            const end = beliefs.length ? beliefs[beliefs.length - 1] : {};
            const per = Object.entries(sep.types).map(([t, d]) => `${t}: ${d.first_known === null ? "never known" : `known from ${periodLabel(period, d.first_known)} (P ${fmt(d.p_known_at_end, 2)} by the end)`}, ${fmt(d.verified_at_end, 2)} concerns verified`);
            return h(
              "tr",
              { "data-policy": r.policy },
              h("th", { scope: "row" }, r.policy),
              h("td", { "data-col": "verdict" }, sep.verdict),
              h("td", {}, Object.entries(end).map(([t, p]) => `P(${t}) ${fmt(p, 2)}`).join(", ") || "—"),
              h("td", { class: "small" }, per.join("; ")),
            );
          }),
        ),
      )
    : null;
  const vetoList = rows.flatMap((r) => r.run.vetoes.map((v) => ({ ...v, policy: r.policy })));
  const timelines = h("div", { class: "plots", testid: "plot-timeline" });
  const pressure = h("div", { class: "plot", testid: "plot-pressure" });
  const utilities = h("div", { class: "plot", testid: "plot-utilities" });
  fill(container,
    h("h2", {}, "Summary"),
    h("div", { class: "table-wrap" }, table),
    typesTable ? h("h3", {}, "Reassurance: does the policy separate the types?") : null,
    typesTable ? h("div", { class: "table-wrap" }, typesTable) : null,
    h("h3", {}, "Why the target stops"),
    why,
    vetoList.length
      ? h("p", { class: "small", testid: "vetoes" }, h("strong", {}, "Vetoes: "), vetoList.map((v) => `${v.policy}: ${v.member} vetoed ${v.proposal} in ${v.institution} (${periodLabel(period, v.period)})`).join("; "), ".")
      : null,
    h("h2", {}, `Timeline: concerns taken and verified, by ${period}`),
    timelines,
    h("h2", {}, "Pressure and utilities"),
    h("div", { class: "grid2" }, pressure, utilities),
  );
  // one small timeline per policy: a bar from taken to verified per concern
  for (const r of rows) {
    const div = h("div", { class: "plot small", "data-policy": r.policy });
    timelines.append(div);
    const steps = r.run.steps;
    const concerns = steps.map((s) => s.concern);
    const traces = [
      {
        type: "scatter",
        mode: "lines",
        x: steps.flatMap((s) => [s.taken, s.verified ?? horizon - 1, null]),
        y: steps.flatMap((s) => [s.concern, s.concern, null]),
        line: { color: "#9db6e3", width: 6 },
        hoverinfo: "skip",
        showlegend: false,
      },
      { type: "scatter", mode: "markers", name: "taken", x: steps.map((s) => s.taken), y: concerns, marker: { symbol: "circle-open", size: 11, color: "#1f5fbf", line: { width: 2 } }, hovertemplate: `%{y}: taken in ${period} %{x}<extra></extra>` },
      {
        type: "scatter",
        mode: "markers",
        name: "verified",
        x: steps.filter((s) => s.verified !== null && s.verified !== undefined).map((s) => s.verified),
        y: steps.filter((s) => s.verified !== null && s.verified !== undefined).map((s) => s.concern),
        marker: { symbol: "circle", size: 10, color: "#1d7a3a" },
        hovertemplate: `%{y}: verified in ${period} %{x}<extra></extra>`,
      },
    ];
    plot(div, traces, {
      title: { text: `${r.policy}: ${plural(r.verified, "concern")} verified`, font: { size: 13 }, x: 0.02, xanchor: "left" },
      xaxis: { title: { text: period }, range: [-0.5, horizon - 0.5], dtick: horizon > 40 ? 10 : 5, zeroline: false },
      yaxis: { type: "category", categoryarray: concerns.length ? concerns.slice().reverse() : ["(no step)"], automargin: true },
      margin: { l: 150, r: 15, t: 40, b: 45 },
      showlegend: steps.length > 0,
      legend: { orientation: "h", y: 1.0, x: 1, xanchor: "right", yanchor: "bottom", font: { size: 11 } },
      annotations: steps.length ? [] : [{ text: "no step taken", showarrow: false, x: horizon / 2, y: 0, xref: "x", yref: "paper", yanchor: "bottom", font: { color: "#5b6475" } }],
    });
  }
  plot(
    pressure,
    rows.map((r) => ({ type: "scatter", mode: "lines", line: { shape: "hv", width: 2 }, name: r.policy, x: r.run.pressure.map((_, t) => t), y: r.run.pressure, hovertemplate: `${r.policy}, ${period} %{x}: %{y} ${unit} per ${period}<extra></extra>` })),
    { height: 400, title: { text: `Sanctions pressure on the target (${unit} per ${period})`, font: { size: 14 } }, xaxis: { title: { text: period } }, yaxis: { title: { text: `${unit} per ${period}` }, rangemode: "tozero" } },
  );
  const actors = Object.keys(first.utilities || {});
  plot(
    utilities,
    rows.map((r) => ({ type: "bar", name: r.policy, x: actors, y: actors.map((a) => r.run.utilities[a]), hovertemplate: `${r.policy}, %{x}: %{y:.2f} ${unit}<extra></extra>` })),
    { height: 400, title: { text: `Discounted utility per actor (${unit})`, font: { size: 14 } }, barmode: "group", yaxis: { title: { text: unit } }, xaxis: { title: { text: "actor" } } },
  );
}

async function pageCompare(main, id, query, ref) {
  const source = sourceOf(ref);
  const seedInit = Number(query.get("seed") || 0);
  setTitle(`Compare ${refLabel(ref)}`);
  const info = await inspect(source);
  if (!alive(id)) return;
  setTitle(`Compare ${info.name}`);
  const values = valuesFromQuery(query);
  const seedInput = h("input", { id: "seed", type: "number", min: 0, step: 1, value: seedInit, testid: "seed" });
  const typeSel = typeSelect(info, query);
  const status = h("div", { class: "status", testid: "compare-status", "aria-live": "polite" });
  const results = h("div", { testid: "compare-results", "data-state": "idle", "data-run": "0" });
  const errors = h("div", {});
  const saveMsg = h("div", { "aria-live": "polite", testid: "save-message" });
  let last = null;
  let runs = 0;
  let controller = null;

  const sliders = info.uncertainties.map((u) => {
    const sid = `u-${slug(u.id)}`;
    // The range input moves over positions 0..1000, mapped piecewise-linearly so that
    // 0 is the low end, 500 exactly the median and 1000 the high end (skewed ranges such
    // as a lognormal's 0..p99 still put the median in the middle and on a reachable step).
    const toValue = (pos) => {
      const v = pos <= SLIDER_MID ? u.low + ((u.median - u.low) * pos) / SLIDER_MID : u.median + ((u.high - u.median) * (pos - SLIDER_MID)) / SLIDER_MID;
      return pos === SLIDER_MID ? u.median : Number(v.toPrecision(4));
    };
    const toPos = (v) => {
      if (v <= u.median) return u.median > u.low ? Math.round((SLIDER_MID * (v - u.low)) / (u.median - u.low)) : SLIDER_MID;
      return u.high > u.median ? SLIDER_MID + Math.round((SLIDER_MID * (v - u.median)) / (u.high - u.median)) : SLIDER_MID;
    };
    const init = u.id in values ? values[u.id] : u.median;
    const range = h("input", { id: sid, type: "range", min: 0, max: 2 * SLIDER_MID, step: 1, value: toPos(init), testid: `slider-${u.id}`, "aria-describedby": `${sid}-r` });
    const out = h("output", { for: sid, testid: `value-${u.id}` });
    const reset = h("button", { type: "button", class: "link", testid: `reset-${u.id}`, title: `reset ${u.id} to its median` }, "reset");
    const box = h(
      "div",
      { class: "slider", "data-uncertainty": u.id },
      h("div", { class: "head" }, h("label", { for: sid, title: u.description || "" }, u.id), out),
      u.name ? h("div", { class: "muted small" }, u.name) : null,
      range,
      h("div", { class: "range", id: `${sid}-r` }, h("span", {}, `${fmtSig(u.low)}`), h("span", {}, `median ${fmtSig(u.median)} `, reset), h("span", {}, `${fmtSig(u.high)}`)),
    );
    const suffix = u.unit ? ` ${u.unit}` : /multiplier/i.test(u.name || "") ? " ×" : "";
    const current = () => (u.id in values ? values[u.id] : u.median);
    const show = () => {
      out.textContent = `${fmtSig(current(), 4)}${suffix}`;
      range.setAttribute("aria-valuetext", out.textContent);
      box.classList.toggle("moved", u.id in values);
    };
    const changed = () => {
      const v = toValue(Number(range.value));
      if (v === u.median) delete values[u.id];
      else values[u.id] = v;
      show();
      rerun();
    };
    range.addEventListener("input", changed);
    range.addEventListener("change", changed);
    const toMedian = () => {
      range.value = SLIDER_MID;
      delete values[u.id];
      show();
    };
    reset.addEventListener("click", () => {
      toMedian();
      rerun();
    });
    show();
    return { u, range, show, box, toMedian };
  });

  const body = () => ({ ...source, seed: Number(seedInput.value) || 0, values: { ...values }, ...(typeSel ? { type: typeSel.value } : {}) });

  async function run() {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = ++runs;
    results.dataset.state = "running";
    results.classList.add("stale");
    const t0 = performance.now();
    status.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), `Solving every policy exactly (${valuesNote(values)})…`);
    errors.replaceChildren();
    try {
      const r = await api("POST", "/api/compare", body(), { signal: controller.signal });
      if (!alive(id) || mine !== runs) return;
      last = r;
      renderCompareResult(results, r, info, values, ref);
      results.classList.remove("stale");
      results.dataset.state = "done";
      results.dataset.run = String(mine);
      status.replaceChildren(`Solved in ${fmt((performance.now() - t0) / 1000, 1)} s with ${valuesNote(values)}, seed ${body().seed}.`);
      history.replaceState(null, "", `#/compare/${ref}${queryOf(values, body().seed)}`);
      const fresh = scenarioLinks(ref, "compare", queryOf(values, body().seed));
      links.replaceWith(fresh);
      links = fresh;
    } catch (err) {
      if (err.name === "AbortError" || !alive(id) || mine !== runs) return;
      results.dataset.state = "error";
      status.replaceChildren("Failed.");
      errors.replaceChildren(problemsBox(err));
    }
  }
  const rerun = debounce(run, 400);
  onLeave(() => {
    rerun.cancel();
    if (controller) controller.abort();
  });
  seedInput.addEventListener("change", rerun);
  if (typeSel) typeSel.addEventListener("change", rerun);

  const resetAll = h("button", { type: "button", testid: "reset-all" }, "Reset all to medians");
  resetAll.addEventListener("click", () => {
    for (const s of sliders) s.toMedian();
    rerun();
  });

  const dl = (label, testid, fn) => {
    const b = h("button", { type: "button", testid }, label);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await fn();
      } catch (err) {
        errors.replaceChildren(problemsBox(err));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  const name = info.name;
  const downloads = h(
    "div",
    { class: "toolbar", testid: "downloads" },
    h("span", { class: "label" }, "Download:"),
    dl("JSON", "download-json", async () => saveJson(last || (await api("POST", "/api/compare", body())), `${name}-compare.json`)),
    dl("CSV", "download-csv", () => downloadApi("POST", "/api/compare/table", { ...body(), format: "csv" }, `${name}-compare.csv`)),
    dl("Parquet", "download-parquet", () => downloadApi("POST", "/api/compare/table", { ...body(), format: "parquet" }, `${name}-compare.parquet`)),
    dl("HTML report", "download-report", () => downloadApi("POST", "/api/report", body(), `${name}-report.html`)),
    dl("Scenario YAML", "download-yaml", async () => saveText(await loadYaml(ref), `${name}.yaml`, "application/yaml")),
  );
  const saveScenario = dl("Save scenario", "save-scenario", async () => {
    const r = await api("POST", "/api/saved", { yaml: await loadYaml(ref) });
    saveMsg.replaceChildren(h("div", { class: "okbox" }, `Scenario saved as #${r.id} (without the slider values). `, h("a", { href: `#/edit/s:${r.id}` }, "Open it in the editor"), "."));
  });
  const saveRun = dl("Save run", "save-run", async () => {
    const r = await api("POST", "/api/runs", { kind: "compare", ...body() });
    saveMsg.replaceChildren(h("div", { class: "okbox", testid: "run-saved" }, `Run #${r.id} recorded (${r.status}). `, h("a", { href: `#/run/${r.id}` }, "Open it"), " or see all ", h("a", { href: "#/runs" }, "runs"), "."));
  });
  if (source.saved !== undefined) saveScenario.disabled = true;

  let links = scenarioLinks(ref, "compare", queryOf(values, seedInit));
  add(main,
    h("h1", {}, info.title || info.name),
    h("p", { class: "muted" }, h("code", {}, info.name), `${ref.startsWith("b:") ? " (built-in)" : ` · ${refLabel(ref)}`} · money in ${info.unit} · one period = one ${info.period} · horizon ${info.horizon} ${info.period}s${info.start ? ` from ${info.start}` : ""}`),
    links,
    h(
      "section",
      { class: "panel", "aria-labelledby": "params-h" },
      h("h2", { id: "params-h" }, "Uncertain parameters"),
      sliders.length ? h("p", { class: "muted small" }, "Each slider sets one uncertainty (the others stay at their medians); the comparison re-runs when you move one.") : h("p", { class: "muted" }, "This scenario declares no uncertainties."),
      h("div", { class: "sliders", testid: "sliders" }, sliders.map((s) => s.box)),
      h(
        "div",
        { class: "controls" },
        h("div", {}, h("label", { for: "seed" }, "Seed (tie-breaks and chance draws)"), seedInput),
        typeSel ? h("div", {}, h("label", { for: "true-type", title: "the target's private type: the run plays that type's equilibrium strategy" }, "True type of the target"), typeSel) : null,
        sliders.length ? h("div", {}, resetAll) : null,
      ),
    ),
    status,
    errors,
    downloads,
    h("div", { class: "toolbar" }, saveScenario, saveRun),
    saveMsg,
    results,
  );
  await run();
}

// ------------------------------------------------------------------ check

function tableOf(rows, columns, testid, caption) {
  return h(
    "table",
    { testid },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.format ? c.format(r[c.key], r) : String(r[c.key] ?? "—"))))),
    ),
  );
}

function renderCheckResult(container, r) {
  const unit = r.unit || "payoff units";
  const period = r.period || "period";
  const stepCols = [
    { key: "concern", label: "Concern" },
    { key: "period", label: `Taken in (${period})`, num: true, format: (v) => periodLabel(period, v) },
    { key: "gain_vs_wait", label: `Gain vs waiting a ${period} (${unit})`, num: true, format: (v) => fmt(v, 4) },
    { key: "gain_vs_never", label: `Gain vs never (${unit})`, num: true, format: (v) => fmt(v, 4) },
  ];
  const voteCols = [
    { key: "period", label: `When (${period})`, num: true, format: (v) => periodLabel(period, v) },
    { key: "institution", label: "Institution" },
    { key: "member", label: "Member" },
    { key: "proposal", label: "Proposal" },
    { key: "vote", label: "Vote" },
    { key: "gain_vs_opposite", label: `Gain vs the opposite vote (${unit})`, num: true, format: (v) => fmt(v, 4) },
  ];
  const enforced = (rows, key) => rows.every((x) => typeof x[key] !== "number" || x[key] >= -1e-9);
  const steps = r.steps || [];
  const votes = r.votes || [];
  const holdup = r.holdup;
  const known = new Set(["scenario", "policy", "seed", "unit", "period", "steps", "votes", "holdup", "beliefs", "notes", "true_type"]);
  const pct = (b) => Object.entries(b || {}).map(([t, p]) => `${t} ${fmt(p, 2)}`).join(", ");
  const beliefCols = [
    { key: "period", label: `When (${period})`, num: true, format: (v) => periodLabel(period, v) },
    { key: "concern", label: "Step" },
    { key: "kind", label: "Profile" },
    { key: "belief_before", label: "Belief before (0–1)", format: pct },
    { key: "belief_after", label: "Belief after (0–1)", format: pct },
    { key: "others", label: "Other types do", format: (v) => Object.entries(v || {}).map(([t, a]) => `${t}: ${a}`).join(", ") || "—" },
  ];
  const extra = Object.fromEntries(Object.entries(r).filter(([k]) => !known.has(k)));
  fill(container,
    h(
      "div",
      { class: steps.length && enforced(steps, "gain_vs_wait") && enforced(votes, "gain_vs_opposite") ? "okbox" : "note", testid: "check-verdict" },
      steps.length
        ? enforced(steps, "gain_vs_wait") && enforced(votes, "gain_vs_opposite")
          ? `Every step and vote on the ${r.policy} path is self-enforcing: no player gains by deviating (gains ≥ 0 ${unit}).`
          : `Some step or vote on the ${r.policy} path is not self-enforcing (a negative gain below).`
        : `The target takes no step under ${r.policy}.`,
    ),
    holdup
      ? h(
          "div",
          { class: "note", testid: "holdup" },
          h("strong", {}, "Holdup: "),
          `the target stops before ${holdup.concern} in ${periodLabel(period, holdup.period)}; ${typeof holdup.extra_relief === "number" ? `an extra relief of ${fmt(holdup.extra_relief, 4)} ${unit} per ${period} would move it.` : "no amount of extra relief listed."}`,
        )
      : h("p", { class: "muted", testid: "holdup" }, "No holdup point: the target does not stop before the end of the path."),
    h("h2", {}, `Steps (${steps.length})`),
    h("div", { class: "table-wrap" }, tableOf(steps, stepCols, "check-steps", `Gains are the target's, in ${unit} (discounted): taking the step when it did versus waiting one ${period}, and versus never.`)),
    h("h2", {}, `Votes (${votes.length})`),
    votes.length ? h("div", { class: "table-wrap" }, tableOf(votes, voteCols, "check-votes", `Gains are the voting member's, in ${unit}.`)) : h("p", { class: "muted" }, "No votes on the path."),
    r.beliefs ? h("h2", {}, `What the powers learn (the target is ${r.true_type})`) : null,
    r.beliefs ? h("div", { class: "table-wrap" }, tableOf(r.beliefs, beliefCols, "check-beliefs", "Profile: pooling (every type still suspected does the same), separating, partial or known.")) : null,
    (r.notes || []).map((n) => h("p", { class: "muted small" }, `Note: ${n}`)),
    Object.keys(extra).length ? h("details", {}, h("summary", {}, "More (JSON)"), h("pre", {}, JSON.stringify(extra, null, 1))) : null,
  );
}

async function pageCheck(main, id, query, ref) {
  const source = sourceOf(ref);
  setTitle(`Check ${refLabel(ref)}`);
  const info = await inspect(source);
  if (!alive(id)) return;
  const values = valuesFromQuery(query);
  const policySel = h("select", { id: "policy", testid: "policy" }, info.policies.map((p) => h("option", { value: p.id }, `${p.id} (${p.kind})`)));
  if (query.get("policy")) policySel.value = query.get("policy");
  const seed = h("input", { id: "seed", type: "number", min: 0, step: 1, value: Number(query.get("seed") || 0), testid: "seed" });
  const typeSel = typeSelect(info, query);
  const runBtn = h("button", { type: "button", class: "primary", testid: "run" }, "Check");
  const status = h("div", { class: "status", testid: "status", "aria-live": "polite" });
  const out = h("div", { testid: "check-results", "data-state": "idle" });
  let last = null;
  let controller = null;
  const csvSteps = h("button", { type: "button", testid: "download-csv" }, "CSV (steps)");
  const csvVotes = h("button", { type: "button" }, "CSV (votes)");
  const json = h("button", { type: "button", testid: "download-json" }, "JSON");
  json.addEventListener("click", () => last && saveJson(last, `${info.name}-check-${last.policy}.json`));
  csvSteps.addEventListener("click", () => last && saveText(toCsv(last.steps || [], ["concern", "period", "gain_vs_wait", "gain_vs_never"]), `${info.name}-check-${last.policy}-steps.csv`, "text/csv"));
  csvVotes.addEventListener("click", () => last && saveText(toCsv(last.votes || []), `${info.name}-check-${last.policy}-votes.csv`, "text/csv"));

  async function run() {
    if (controller) controller.abort();
    controller = new AbortController();
    out.dataset.state = "running";
    out.classList.add("stale");
    status.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), `Checking ${policySel.value}…`);
    try {
      const r = await api("POST", "/api/check", { ...source, policy: policySel.value, seed: Number(seed.value) || 0, values, ...(typeSel ? { type: typeSel.value } : {}) }, { signal: controller.signal });
      if (!alive(id)) return;
      last = r;
      renderCheckResult(out, r);
      out.dataset.state = "done";
      out.classList.remove("stale");
      status.replaceChildren(`${r.policy}, seed ${r.seed}, ${valuesNote(values)}.`);
    } catch (err) {
      if (err.name === "AbortError" || !alive(id)) return;
      out.dataset.state = "error";
      status.replaceChildren();
      out.replaceChildren(problemsBox(err));
    }
  }
  onLeave(() => controller && controller.abort());
  runBtn.addEventListener("click", run);
  policySel.addEventListener("change", run);
  if (typeSel) typeSel.addEventListener("change", run);

  add(main,
    h("h1", {}, `Check: ${info.title || info.name}`),
    h("p", { class: "muted" }, "Is every step and vote on the equilibrium path self-enforcing? Where does the target hold up, and what extra relief per period would move it?"),
    scenarioLinks(ref, "check", queryOf(values, 0)),
    h(
      "div",
      { class: "controls" },
      h("div", {}, h("label", { for: "policy" }, "Policy"), policySel),
      h("div", {}, h("label", { for: "seed" }, "Seed"), seed),
      typeSel ? h("div", {}, h("label", { for: "true-type" }, "True type of the target"), typeSel) : null,
      h("div", {}, runBtn),
    ),
    h("div", { class: "toolbar" }, h("span", { class: "label" }, "Download:"), json, csvSteps, csvVotes),
    status,
    out,
  );
  await run();
}

// ------------------------------------------------------------------ design

function renderDesignResult(container, r, horizon) {
  const unit = r.unit || "payoff units";
  const period = r.period || "period";
  const pol = r.policy || {};
  const order = Array.isArray(pol.order) ? pol.order : Object.keys(r.p_resolved || {});
  const objUnit = r.objective_unit || "";
  const bars = h("div", { class: "plot", testid: "plot-design" });
  const yamlBtn = h("button", { type: "button", testid: "download-yaml" }, "Download policy YAML");
  yamlBtn.addEventListener("click", () => saveText(r.yaml, `${r.scenario || "scenario"}-designed-policy.yaml`, "application/yaml"));
  const jsonBtn = h("button", { type: "button", testid: "download-json" }, "Download JSON");
  jsonBtn.addEventListener("click", () => saveJson(r, `${r.scenario || "scenario"}-design.json`));
  const reliefRows = order.filter((c) => (pol.relief || {})[c]).map((c) => ({ concern: c, actions: pol.relief[c].map((a) => `${a.action} ${a.measure}`).join(", ") }));
  fill(container,
    h(
      "table",
      { testid: "design-summary" },
      h(
        "tbody",
        {},
        h("tr", {}, h("th", { scope: "row" }, "Status"), h("td", {}, h("span", { class: `badge ${r.status}`, testid: "design-status" }, r.status), " ", r.status === "exact" ? "proved optimal (exhaustive search)" : "best found, with a proven upper bound")),
        h("tr", {}, h("th", { scope: "row" }, `Objective (${r.objective_name})`), h("td", { class: "num" }, `${fmt(r.objective, 3)} ${objUnit}`)),
        h("tr", {}, h("th", { scope: "row" }, "Bound"), h("td", { class: "num", testid: "design-bound" }, `${fmt(r.bound, 3)} ${objUnit}${typeof r.gap === "number" ? ` (gap ${fmt(r.gap, 3)} ${objUnit})` : ""}`)),
        h("tr", {}, h("th", { scope: "row" }, "Resolved"), h("td", {}, (r.resolved || []).join(", ") || "—", ` (${plural((r.resolved || []).length, "concern")}; expected ${fmt(r.expected_resolved, 3)} concerns)`)),
        h("tr", {}, h("th", { scope: "row" }, "Target's utility"), h("td", { class: "num" }, `${fmt(r.target_utility)} ${unit}`)),
        h("tr", {}, h("th", { scope: "row" }, "Powers' total utility"), h("td", { class: "num" }, `${fmt(r.powers_total_utility)} ${unit}`)),
        h("tr", {}, h("th", { scope: "row" }, "Search"), h("td", { class: "small" }, `${r.method || ""}; ${fmt(r.designs_evaluated, 0)} designs evaluated in ${fmt(r.seconds, 1)} s`)),
      ),
    ),
    (r.warnings || []).length ? h("div", { class: "note" }, r.warnings.join(" ")) : null,
    h("h2", {}, "The designed order"),
    bars,
    reliefRows.length ? h("div", { class: "table-wrap" }, tableOf(reliefRows, [{ key: "concern", label: "Once verified" }, { key: "actions", label: "Relief proposed" }], "design-relief")) : null,
    h("h2", {}, "Policy YAML"),
    h("p", { class: "muted small" }, "Paste it under policies: in the scenario (or open the scenario in the editor)."),
    h("div", { class: "toolbar" }, yamlBtn, jsonBtn),
    h("pre", { testid: "design-yaml" }, r.yaml),
  );
  plot(
    bars,
    [
      {
        type: "bar",
        x: order,
        y: order.map((c) => (r.p_resolved || {})[c] ?? 0),
        marker: { color: order.map((c) => ((r.p_resolved || {})[c] > 0.5 ? "#1d7a3a" : "#c9d5ea")) },
        hovertemplate: `%{x}: P(verified by the end) = %{y:.4f}<extra></extra>`,
      },
    ],
    {
      title: { text: `P(verified within the ${horizon ? `${horizon}-${period}` : ""} horizon) per step, in the designed order` },
      yaxis: { title: { text: "probability" }, range: [0, 1.05] },
      xaxis: { title: { text: "concern, in the designed order" }, automargin: true },
      margin: { l: 70, r: 20, t: 44, b: 70 },
    },
  );
}

async function pageDesign(main, id, query, ref) {
  const source = sourceOf(ref);
  setTitle(`Design ${refLabel(ref)}`);
  const info = await inspect(source);
  if (!alive(id)) return;
  const values = valuesFromQuery(query);
  const objective = h(
    "select",
    { id: "objective", testid: "objective" },
    h("option", { value: "resolved" }, "resolved: most concerns verified"),
    h("option", { value: "powers" }, "powers: powers' total utility"),
    h("option", { value: "welfare" }, "welfare: everyone's total utility"),
  );
  const seed = h("input", { id: "seed", type: "number", min: 0, step: 1, value: Number(query.get("seed") || 0), testid: "seed" });
  const runBtn = h("button", { type: "button", class: "primary", testid: "run" }, "Design roadmap");
  const status = h("div", { class: "status", testid: "status", "aria-live": "polite" });
  const out = h("div", { testid: "design-results", "data-state": "idle" });
  let controller = null;
  async function run() {
    if (controller) controller.abort();
    controller = new AbortController();
    runBtn.disabled = true;
    out.dataset.state = "running";
    out.classList.add("stale");
    const t0 = performance.now();
    status.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), "Searching roadmaps (this can take several seconds)…");
    try {
      const r = await api("POST", "/api/design", { ...source, objective: objective.value, seed: Number(seed.value) || 0, values }, { signal: controller.signal });
      if (!alive(id)) return;
      renderDesignResult(out, r, info.horizon);
      out.dataset.state = "done";
      out.classList.remove("stale");
      status.replaceChildren(`Done in ${fmt((performance.now() - t0) / 1000, 1)} s (${valuesNote(values)}).`);
    } catch (err) {
      if (err.name === "AbortError" || !alive(id)) return;
      out.dataset.state = "error";
      status.replaceChildren();
      out.replaceChildren(problemsBox(err));
    } finally {
      runBtn.disabled = false;
    }
  }
  onLeave(() => controller && controller.abort());
  runBtn.addEventListener("click", run);
  add(main,
    h("h1", {}, `Design a roadmap: ${info.title || info.name}`),
    h("p", { class: "muted" }, "The strict step-by-step roadmap (order of concerns, relief after each step) that gets the most done in equilibrium."),
    scenarioLinks(ref, "design", queryOf(values, 0)),
    h("div", { class: "controls" }, h("div", {}, h("label", { for: "objective" }, "Objective"), objective), h("div", {}, h("label", { for: "seed" }, "Seed"), seed), h("div", {}, runBtn)),
    status,
    out,
  );
  await run();
}

// ------------------------------------------------------------------ ensemble

function renderEnsembleResult(container, result, meta) {
  const analysis = result.analysis || {};
  const run = analysis.run || {};
  const unit = run.unit || meta.unit || "payoff units";
  const period = run.period || meta.period || "period";
  const values = result.values || {};
  const policies = Object.keys(values);
  const outcomes = [...new Set(policies.flatMap((p) => Object.keys(values[p])))];
  const outcomeSel = h("select", { id: "outcome", testid: "outcome" }, outcomes.map((o) => h("option", { value: o }, `${outcomeLabel(o)} [${outcomeUnit(o, unit, period)}]`)));
  const kindSel = h("select", { id: "plotkind" }, h("option", { value: "box" }, "box"), h("option", { value: "violin" }, "violin"));
  const plotDiv = h("div", { class: "plot", testid: "plot-ensemble" });
  const distWrap = h("div", { class: "table-wrap" });
  const draw = () => {
    const o = outcomeSel.value;
    const u = outcomeUnit(o, unit, period);
    const traces = policies.map((p) => {
      const y = (values[p][o] || []).filter((x) => x !== null);
      return kindSel.value === "violin"
        ? { type: "violin", name: p, y, box: { visible: true }, meanline: { visible: true }, points: "outliers", hoverinfo: "y+name" }
        : { type: "box", name: p, y, boxpoints: "outliers", boxmean: true, hoverinfo: "y+name" };
    });
    plot(plotDiv, traces, { title: { text: `${outcomeLabel(o)} over ${fmt(run.rows ?? (values[policies[0]][o] || []).length, 0)} samples` }, yaxis: { title: { text: u }, zeroline: false }, showlegend: false });
    const dist = (analysis.distributions || {})[o];
    if (dist) {
      const cols = ["mean", "sd", "p5", "p25", "p50", "p75", "p95"];
      distWrap.replaceChildren(
        tableOf(
          dist,
          [{ key: "policy", label: "Policy" }, { key: "n_ok", label: "Samples", num: true }, ...cols.map((c) => ({ key: c, label: `${c} (${u})`, num: true, format: (v) => fmt(v, 3) }))],
          "distribution-table",
          `Distribution of ${outcomeLabel(o).toLowerCase()} per policy, in ${u}.`,
        ),
      );
    } else distWrap.replaceChildren();
  };
  outcomeSel.addEventListener("change", draw);
  kindSel.addEventListener("change", draw);
  const rob = analysis.robustness || [];
  const robOutcome = analysis.outcome || "expected_resolved";
  const ru = outcomeUnit(robOutcome, unit, period);
  const prim = analysis.prim && analysis.prim.limits ? analysis.prim : null;
  fill(container,
    h("h2", {}, "Outcomes per policy"),
    h("div", { class: "controls" }, h("div", {}, h("label", { for: "outcome" }, "Outcome"), outcomeSel), h("div", {}, h("label", { for: "plotkind" }, "Plot"), kindSel)),
    plotDiv,
    distWrap,
    h("h2", {}, `Robustness (outcome: ${outcomeLabel(robOutcome).toLowerCase()})`),
    rob.length
      ? h(
          "div",
          { class: "table-wrap" },
          tableOf(
            rob,
            [
              { key: "policy", label: "Policy" },
              { key: "n_samples", label: "Samples", num: true },
              { key: "mean_regret", label: `Mean regret (${ru})`, num: true, format: (v) => fmt(v, 3) },
              { key: "p50_regret", label: `Median regret (${ru})`, num: true, format: (v) => fmt(v, 3) },
              { key: "p95_regret", label: `95th pct regret (${ru})`, num: true, format: (v) => fmt(v, 3) },
              { key: "max_regret", label: `Max regret (${ru})`, num: true, format: (v) => fmt(v, 3) },
              { key: "share_best", label: "Best in (share of samples)", num: true, format: (v) => `${fmt(100 * v, 1)} %` },
            ],
            "robustness-table",
            "Regret: how far a policy falls short of the best policy on the same sample.",
          ),
        )
      : h("p", { class: "muted" }, "No robustness table."),
    prim
      ? h(
          "div",
          { class: "panel" },
          h("h3", {}, `Where does it stall? (PRIM: ${prim.condition})`),
          h("p", { class: "small" }, `Coverage ${fmt(100 * prim.coverage, 0)} %, density ${fmt(100 * prim.density, 0)} %, ${prim.n_flagged} of ${prim.n} samples flagged.`),
          tableOf(
            Object.entries(prim.limits).map(([k, [lo, hi]]) => ({ k, lo, hi })),
            [
              { key: "k", label: "Uncertainty" },
              { key: "lo", label: "from", num: true, format: (v) => fmtSig(v, 4) },
              { key: "hi", label: "to", num: true, format: (v) => fmtSig(v, 4) },
            ],
            "prim-table",
          ),
        )
      : null,
    (analysis.notes || []).length ? h("ul", { class: "small muted" }, analysis.notes.map((n) => h("li", {}, n))) : null,
    (analysis.errors || []).length ? h("div", { class: "note" }, `${analysis.errors.length} samples failed; see the JSON download.`) : null,
  );
  draw();
}

function runDownloads(rid, kind) {
  const mk = (fmtName, label) => {
    const b = h("button", { type: "button", testid: `download-run-${fmtName}` }, label);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await downloadApi("GET", `/api/runs/${rid}/download?format=${fmtName}`, undefined, `stepdeal-run-${rid}-${kind}.${fmtName}`);
      } catch (err) {
        b.after(problemsBox(err));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  return h("div", { class: "toolbar", testid: "run-downloads" }, h("span", { class: "label" }, "Download:"), mk("json", "JSON"), mk("csv", "CSV"), mk("parquet", "Parquet"));
}

/** Poll a run every 500 ms until done or failed; calls update(row) on every answer. */
function pollRun(id, rid, update) {
  return new Promise((resolve, reject) => {
    let timer = null;
    onLeave(() => clearTimeout(timer));
    const tick = async () => {
      if (!alive(id)) return;
      try {
        const row = await api("GET", `/api/runs/${rid}`);
        if (!alive(id)) return;
        update(row);
        if (row.status === "done" || row.status === "failed") resolve(row);
        else timer = setTimeout(tick, 500);
      } catch (err) {
        reject(err);
      }
    };
    tick();
  });
}

function progressView() {
  const bar = h("progress", { max: 1, value: 0, testid: "run-progress", "aria-label": "progress" });
  const text = h("span", { testid: "run-status" });
  const box = h("div", { class: "panel", testid: "progress-panel", "aria-live": "polite" }, h("div", { class: "status" }, text), bar);
  const update = (row) => {
    const p = row.progress || {};
    const total = p.total || 1;
    const done = p.done || 0;
    bar.max = total;
    bar.value = row.status === "done" ? total : done;
    box.dataset.status = row.status;
    fill(
      text,
      h("span", { class: `badge ${row.status}` }, row.status),
      ` run #${row.id}: ${fmt(done, 0)} of ${fmt(total, 0)} ${row.kind === "ensemble" ? "samples" : "steps"} (${fmt((100 * done) / total, 0)} %)`,
      row.status === "running" || row.status === "queued" ? h("span", { class: "spinner", "aria-hidden": "true" }) : null,
    );
  };
  return { box, update };
}

async function pageEnsemble(main, id, query, ref) {
  const source = sourceOf(ref);
  setTitle(`Ensemble ${refLabel(ref)}`);
  const info = await inspect(source);
  if (!alive(id)) return;
  const n = h("input", { id: "n", type: "number", min: 1, max: 5000, step: 1, value: Number(query.get("n") || 200), testid: "ensemble-n" });
  const seed = h("input", { id: "seed", type: "number", min: 0, step: 1, value: 0, testid: "seed" });
  const design = h("select", { id: "design", testid: "ensemble-design" }, ["lhs", "mc", "sobol"].map((d) => h("option", { value: d }, d)));
  const checks = info.policies.map((p) => h("input", { type: "checkbox", id: `pol-${slug(p.id)}`, value: p.id, checked: true, testid: `policy-${p.id}` }));
  const launch = h("button", { type: "button", class: "primary", testid: "launch" }, "Launch ensemble");
  const status = h("div", {});
  const out = h("div", { testid: "ensemble-results", "data-state": "idle" });
  add(main,
    h("h1", {}, `Ensemble: ${info.title || info.name}`),
    h("p", { class: "muted" }, `Every selected policy, solved exactly on N samples of the scenario's ${plural(info.uncertainties.length, "uncertainty").replace("uncertaintys", "uncertainties")} (${info.uncertainties.map((u) => u.id).join(", ") || "none"}).`),
    scenarioLinks(ref, "ensemble"),
    h(
      "div",
      { class: "controls" },
      h("div", {}, h("label", { for: "n" }, "Samples N"), n),
      h("div", {}, h("label", { for: "seed" }, "Seed"), seed),
      h("div", {}, h("label", { for: "design" }, "Design"), design),
      h("fieldset", {}, h("legend", {}, "Policies"), info.policies.map((p, i) => h("label", { for: checks[i].id }, checks[i], ` ${p.id}`))),
      h("div", {}, launch),
    ),
    h("p", { class: "muted small" }, "lhs: Latin hypercube; mc: plain Monte Carlo; sobol: a Sobol sequence (N a power of 2; enables Sobol indices with the CLI). The run is recorded under Runs."),
    status,
    out,
  );
  launch.addEventListener("click", async () => {
    launch.disabled = true;
    out.replaceChildren();
    out.dataset.state = "running";
    const policies = checks.filter((c) => c.checked).map((c) => c.value);
    try {
      const r = await api("POST", "/api/runs", { kind: "ensemble", ...source, seed: Number(seed.value) || 0, n: Number(n.value) || 1, design: design.value, policies });
      if (!alive(id)) return;
      const pv = progressView();
      status.replaceChildren(pv.box, runDownloads(r.id, "ensemble"), h("p", { class: "small" }, h("a", { href: `#/run/${r.id}` }, `Open run #${r.id}`), " (it keeps running if you leave this page)."));
      const row = await pollRun(id, r.id, pv.update);
      if (!alive(id)) return;
      if (row.status === "failed") {
        out.dataset.state = "error";
        out.replaceChildren(problemsBox({ message: row.error || "the run failed" }));
      } else {
        renderEnsembleResult(out, row.result, info);
        out.dataset.state = "done";
      }
    } catch (err) {
      if (!alive(id)) return;
      out.dataset.state = "error";
      out.replaceChildren(problemsBox(err));
    } finally {
      launch.disabled = false;
    }
  });
}

// ------------------------------------------------------------------ forecast

function renderForecastResult(container, r, info) {
  const dims = r.dimensions || [];
  const actors = r.actors || [];
  const rounds = Array.isArray(r.rounds) ? r.rounds : [];
  const plots = h("div", { class: "plots", testid: "plot-forecast" });
  const final = Array.isArray(r.forecast) ? r.forecast : [];
  fill(container,
    h("h2", {}, "Where the stakeholders land"),
    final.length
      ? tableOf(
          dims.map((d, i) => ({ d, v: final[i], median: Array.isArray(r.median_by_round) && r.median_by_round.length ? r.median_by_round[r.median_by_round.length - 1][i] : null })),
          [
            { key: "d", label: "Dimension" },
            { key: "v", label: "Forecast position (0–100 scale)", num: true, format: (v) => fmt(v, 1) },
          ],
          "forecast-table",
          `Model ${r.model}; positions on each dimension's 0–100 scale.`,
        )
      : null,
    h("h2", {}, `Positions by round (${plural(rounds.length, "round")})`),
    plots,
  );
  dims.forEach((d, i) => {
    const div = h("div", { class: "plot", "data-dimension": d });
    plots.append(div);
    const traces = actors.map((a) => ({
      type: "scatter",
      mode: rounds.length > 1 ? "lines+markers" : "markers",
      name: a,
      x: rounds.map((_, k) => k),
      y: rounds.map((row) => (row[a] ? row[a][i] : null)),
      hovertemplate: `${a}, round %{x}: %{y:.1f} (0–100)<extra></extra>`,
    }));
    if (typeof final[i] === "number") traces.push({ type: "scatter", mode: "lines", name: "forecast", x: [0, Math.max(rounds.length - 1, 1)], y: [final[i], final[i]], line: { dash: "dash", color: "#000", width: 1.5 }, hovertemplate: `forecast: %{y:.1f}<extra></extra>` });
    plot(div, traces, {
      title: { text: d },
      xaxis: { title: { text: "round" }, dtick: rounds.length > 12 ? undefined : 1 },
      yaxis: { title: { text: "position (0–100 scale)" }, range: [-3, 103] },
      legend: { orientation: "v", x: 1.02, y: 1, yanchor: "top" },
      margin: { l: 60, r: 10, t: 44, b: 50 },
    });
  });
}

async function pageForecast(main, id, query, ref) {
  const source = sourceOf(ref);
  setTitle(`Forecast ${refLabel(ref)}`);
  const info = await inspect(source);
  if (!alive(id)) return;
  const model = h(
    "select",
    { id: "model", testid: "model" },
    h("option", { value: "compromise" }, "compromise (capability × salience weighted mean)"),
    h("option", { value: "bdm" }, "bdm (Bueno de Mesquita expected utility)"),
    h("option", { value: "smp" }, "smp (KTAB Spatial Model of Politics)"),
  );
  if (query.get("model")) model.value = query.get("model");
  const json = h("button", { type: "button", testid: "download-json" }, "Download JSON");
  const status = h("div", { class: "status", testid: "status", "aria-live": "polite" });
  const out = h("div", { testid: "forecast-results", "data-state": "idle" });
  let last = null;
  json.addEventListener("click", () => last && saveJson(last, `${info.name}-forecast-${last.model}.json`));
  add(main, h("h1", {}, `Forecast: ${info.title || info.name}`), scenarioLinks(ref, "forecast"));
  if (!info.stakeholders) {
    add(main, h("p", { class: "note", testid: "no-stakeholders" }, "This scenario has no stakeholders section, so there is nothing to forecast."));
    return;
  }
  add(main, h("div", { class: "controls" }, h("div", {}, h("label", { for: "model" }, "Model"), model), h("div", {}, json)), status, out);
  let controller = null;
  async function run() {
    if (controller) controller.abort();
    controller = new AbortController();
    out.dataset.state = "running";
    out.classList.add("stale");
    status.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), `Running ${model.value}…`);
    try {
      const r = await api("POST", "/api/forecast", { ...source, model: model.value }, { signal: controller.signal });
      if (!alive(id)) return;
      last = r;
      renderForecastResult(out, r, info);
      out.dataset.state = "done";
      out.classList.remove("stale");
      status.replaceChildren(`Model ${r.model}: ${plural(r.actors.length, "actor")}, ${plural(r.dimensions.length, "dimension")}.`);
    } catch (err) {
      if (err.name === "AbortError" || !alive(id)) return;
      out.dataset.state = "error";
      status.replaceChildren();
      out.replaceChildren(problemsBox(err));
    }
  }
  onLeave(() => controller && controller.abort());
  model.addEventListener("change", run);
  await run();
}

// ------------------------------------------------------------------ runs

async function pageRuns(main, id) {
  setTitle("Runs");
  add(main, h("h1", {}, "Runs"), h("p", { class: "muted" }, "Every run saved from the pages (Save run, ensembles), with the scenario's hash, the seed and the stepdeal version that produced it."));
  const runs = await api("GET", "/api/runs");
  if (!alive(id)) return;
  if (!runs.length) {
    add(main, h("p", { class: "muted", testid: "no-runs" }, "No runs yet. Launch an ensemble or press Save run on a compare page."));
    return;
  }
  const tbody = h("tbody", {});
  for (const r of runs.slice().sort((a, b) => b.id - a.id)) {
    const tr = h(
      "tr",
      { class: "clickable", "data-run": r.id, testid: "run-row" },
      h("td", { class: "num" }, h("a", { href: `#/run/${r.id}` }, `#${r.id}`)),
      h("td", {}, r.kind),
      h("td", {}, r.scenario),
      h("td", {}, h("code", { title: r.scenario_hash }, String(r.scenario_hash || "").slice(0, 10))),
      h("td", { class: "num" }, String(r.seed)),
      h("td", {}, r.version),
      h("td", {}, h("span", { class: `badge ${r.status}` }, r.status), r.progress && r.status !== "done" ? ` ${r.progress.done}/${r.progress.total}` : ""),
      h("td", { class: "small" }, fmtDate(r.created)),
    );
    tr.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      location.hash = `#/run/${r.id}`;
    });
    tbody.append(tr);
  }
  add(main,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { testid: "runs-table" },
        h("thead", {}, h("tr", {}, ["Run", "Kind", "Scenario", "Hash", "Seed", "Version", "Status", "Created"].map((c) => h("th", { scope: "col" }, c)))),
        tbody,
      ),
    ),
  );
}

async function pageRun(main, id, _query, ridText) {
  const rid = Number(ridText);
  setTitle(`Run #${rid}`);
  add(main, h("h1", {}, `Run #${rid}`));
  const first = await api("GET", `/api/runs/${rid}`);
  if (!alive(id)) return;
  const meta = h("div", { testid: "run-meta" });
  const out = h("div", { testid: "run-result", "data-state": "idle" });
  const pv = progressView();
  const showMeta = (row) => {
    const params = { ...(row.params || {}) };
    meta.replaceChildren(
      tableOf(
        [
          { k: "Kind", v: row.kind },
          { k: "Scenario", v: row.scenario },
          { k: "Scenario hash (sha256)", v: row.scenario_hash },
          { k: "Seed", v: row.seed },
          { k: "stepdeal version", v: row.version },
          { k: "Parameters", v: JSON.stringify(params) },
          { k: "Created", v: fmtDate(row.created) },
        ],
        [
          { key: "k", label: "Field" },
          { key: "v", label: "Value" },
        ],
        "run-meta-table",
      ),
    );
  };
  showMeta(first);
  add(main, meta, pv.box, runDownloads(rid, first.kind), out);
  const row = first.status === "done" || first.status === "failed" ? first : await pollRun(id, rid, pv.update);
  pv.update(row);
  if (!alive(id)) return;
  if (row.status === "failed") {
    out.dataset.state = "error";
    out.replaceChildren(problemsBox({ message: row.error || "the run failed" }));
    return;
  }
  const res = row.result;
  const info = { unit: undefined, period: undefined, policies: [], actors: [] };
  try {
    if (row.kind === "ensemble") renderEnsembleResult(out, res, info);
    else if (row.kind === "compare") {
      const firstRun = Object.values(res)[0] || {};
      renderCompareResult(out, res, { ...info, unit: firstRun.unit, period: firstRun.period, horizon: firstRun.horizon }, (row.params || {}).values || {}, null);
    } else if (row.kind === "check") renderCheckResult(out, res);
    else if (row.kind === "design") renderDesignResult(out, res);
    else if (row.kind === "forecast") renderForecastResult(out, res, info);
    else out.replaceChildren(h("pre", {}, JSON.stringify(res, null, 1)));
  } catch (err) {
    console.error(err);
    out.replaceChildren(h("pre", {}, JSON.stringify(res, null, 1)));
  }
  out.append(h("details", {}, h("summary", {}, "Raw result (JSON)"), h("pre", {}, JSON.stringify(res, null, 1))));
  out.dataset.state = "done";
}

// ------------------------------------------------------------------ start

async function showVersion() {
  const el = document.querySelector("[data-testid=version]");
  try {
    const v = await api("GET", "/api/version");
    el.textContent = `stepdeal ${v.version}`;
  } catch (err) {
    el.textContent = err.status === 401 ? "no token" : "API unreachable";
    el.title = err.message;
  }
}

initToken();
window.addEventListener("hashchange", route);
showVersion();
route();
