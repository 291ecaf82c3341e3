// Tessera admin console: talks to TokenAdminService with the Connect protocol's JSON encoding.
// Server data is only ever written with textContent. The sign-in token lives in sessionStorage
// (this tab only); token values from create/rotate are shown once in the DOM and never stored.

const SERVICE = "/tessera.v1.TokenAdminService/";
const TOKEN_KEY = "tessera.console.token";

const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function call(method, body = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { "content-type": "application/json", "connect-protocol-version": "1" };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(SERVICE + method, { method: "POST", headers, body: JSON.stringify(body), credentials: "omit", cache: "no-store" });
  } catch (err) {
    throw new ApiError("unavailable", `Network error: ${err instanceof Error ? err.message : String(err)}`);
  }
  let json;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const code = json && typeof json.code === "string" ? json.code : `http ${res.status}`;
    const message = json && typeof json.message === "string" ? json.message : res.statusText;
    throw new ApiError(code, message);
  }
  return json ?? {};
}

// ---- alert ----------------------------------------------------------------------------------

function showError(err) {
  const code = err instanceof ApiError ? err.code : "error";
  $("alert-code").textContent = `${code}:`;
  $("alert-message").textContent = err instanceof Error ? err.message : String(err);
  $("alert").hidden = false;
}

function clearError() {
  $("alert").hidden = true;
  $("alert-code").textContent = "";
  $("alert-message").textContent = "";
}

/** Runs an action, showing any error in the alert area; returns whether it succeeded. */
async function attempt(fn) {
  clearError();
  try {
    await fn();
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}

// ---- formatting -----------------------------------------------------------------------------

const KIND_LABELS = {
  TOKEN_KIND_INGESTION: "ingestion",
  TOKEN_KIND_OPERATOR: "operator",
  TOKEN_KIND_ALL_ACCESS: "all access",
  TOKEN_KIND_READ_WRITE: "read/write",
  TOKEN_KIND_SHARED: "shared",
  TOKEN_KIND_VERIFIER: "verifier",
};

const kindLabel = (k) => KIND_LABELS[k] ?? String(k ?? "");

function when(ts, none = "") {
  if (!ts) return none;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toLocaleString();
}

/** A protobuf JSON duration ("2592000s") as 30d, 12h, 45m or 10s. */
function duration(d, none) {
  if (typeof d !== "string" || !/^\d+s$/.test(d)) return none;
  const s = Number(d.slice(0, -1));
  return s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

const ROLE_LABELS = { ROLE_VIEWER: "viewer", ROLE_EDITOR: "editor", ROLE_ADMIN: "admin" };
const roleLabel = (r) => ROLE_LABELS[r] ?? "no role";

const ORIGIN_LABELS = {
  TOKEN_VALUE_ORIGIN_GENERATED: "generated value",
  TOKEN_VALUE_ORIGIN_SUPPLIED: "supplied value",
  TOKEN_VALUE_ORIGIN_IMPORTED: "imported value",
};

/** What the Enabled column says: why a disabled token is off (an admin, or the idle limit). */
function enabledLabel(t) {
  if (t.enabled) return "yes";
  if (t.disabledReason === "TOKEN_DISABLED_REASON_IDLE") return "no (idle)";
  if (t.disabledReason === "TOKEN_DISABLED_REASON_ADMIN") return "no (by an admin)";
  return "no";
}

/** What the admin typed for a limit (90d, 12h, 1d12h, 45m, 30s, or plain seconds) as a JSON Duration; "" is no limit. */
function parseLimit(text, what) {
  const t = text.trim();
  if (t === "") return undefined;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(t);
  if (!m || !/\d/.test(t))
    throw new ApiError("invalid_argument", `${what}: write a duration such as 90d, 12h, 30m or 45s, or nothing for no limit.`);
  const [d, h, min, sec] = m.slice(1).map((x) => Number(x ?? 0));
  return `${d * 86400 + h * 3600 + min * 60 + sec}s`;
}

/** A timestamp as a datetime-local input's value (the browser's local time, to the minute). */
function localInput(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A datetime-local value as an RFC 3339 timestamp. */
function fromLocalInput(value) {
  const d = new Date(value); // datetime-local: the browser's local time
  if (Number.isNaN(d.getTime())) throw new ApiError("invalid_argument", "The expiry is not a valid date and time.");
  return d.toISOString();
}

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const list = (s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

// ---- the one-time secret box ----------------------------------------------------------------

function showSecret(label, value) {
  $("secret-label").textContent = label;
  $("secret-value").textContent = value;
  $("secret-copied").textContent = "";
  $("secret").hidden = false;
  $("secret-value").focus();
}

function dismissSecret() {
  $("secret-value").textContent = "";
  $("secret-label").textContent = "";
  $("secret-copied").textContent = "";
  $("secret").hidden = true;
}

async function copySecret() {
  const value = $("secret-value").textContent ?? "";
  if (value === "") return;
  try {
    await navigator.clipboard.writeText(value);
  } catch {
    // No clipboard API (or permission): select the value so the user can copy it by hand.
    const range = document.createRange();
    range.selectNodeContents($("secret-value"));
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    $("secret-copied").textContent = "Selected: press Ctrl+C / ⌘C to copy.";
    return;
  }
  $("secret-copied").textContent = "Copied.";
}

// ---- organization ---------------------------------------------------------------------------

/** The organization as last loaded: the form sends only what the admin changed. */
let org = {};
/** Who is signed in (GetCaller), as last loaded: the audit tab marks this token's own entries. */
let caller = {};

async function loadOrganization() {
  const { organization: o = {} } = await call("GetOrganization", {});
  org = o;
  $("org-name").textContent = o.name ?? "";
  $("org-identifier").textContent = o.identifier ?? "";
  $("org-id").textContent = o.id ?? "";
  $("org-enabled").textContent = o.enabled ? "yes" : "no";
  $("org-created").textContent = when(o.createTime);
  $("org-policies").textContent =
    `maximum lifetime ${duration(o.maxTokenLifetime, "none")}; disabled after ${duration(o.tokenIdleLimit, "never")} unused`;
  /** @type {HTMLInputElement} */ ($("eo-name")).value = o.name ?? "";
  /** @type {HTMLInputElement} */ ($("eo-lifetime")).value = duration(o.maxTokenLifetime, "");
  /** @type {HTMLInputElement} */ ($("eo-idle")).value = duration(o.tokenIdleLimit, "");
  $("whoami").textContent = `Signed in to ${o.identifier ?? "?"}`;
  caller = {};
  try {
    const { caller: w = {} } = await call("GetCaller", {});
    caller = w;
    const owner = w.owner?.name ? `, owned by ${w.owner.name}` : "";
    const role = w.operator ? "operator" : `role ${roleLabel(w.role)}`;
    $("whoami").textContent =
      `Signed in to ${w.organizationIdentifier ?? o.identifier ?? "?"} as ${w.tokenName ?? "?"} (${kindLabel(w.tokenKind)} token${owner}; ${role})`;
  } catch {
    // An older server without GetCaller: the organization alone says enough.
  }
  try {
    const p = await call("GetPasscode", {});
    const t = p.token ?? {};
    $("org-passcode").textContent =
      `default ingestion token ${t.maskedValue ?? ""} (${t.enabled ? "enabled" : "disabled"}, last used ${when(t.lastUsedTime, "never")}); ` +
      `use as Basic ${p.organizationIdentifier ?? ""}:<token>. Values are never stored: rotate the token to get a new one.`;
  } catch (err) {
    $("org-passcode").textContent = `unavailable: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** UpdateOrganization with the fields the admin changed; an emptied limit is removed (named in the mask, left unset). */
function updateOrganizationRequest(form) {
  const data = new FormData(form);
  const o = { id: org.id };
  const paths = [];
  const name = String(data.get("name") ?? "").trim();
  if (name !== (org.name ?? "")) {
    o.name = name;
    paths.push("name");
  }
  const lifetime = parseLimit(String(data.get("lifetime") ?? ""), "Maximum token lifetime");
  if (lifetime !== org.maxTokenLifetime) {
    if (lifetime !== undefined) o.maxTokenLifetime = lifetime;
    paths.push("maxTokenLifetime");
  }
  const idle = parseLimit(String(data.get("idle") ?? ""), "Idle limit");
  if (idle !== org.tokenIdleLimit) {
    if (idle !== undefined) o.tokenIdleLimit = idle;
    paths.push("tokenIdleLimit");
  }
  // The JSON form of a FieldMask: lowerCamelCase paths joined by commas.
  return paths.length === 0 ? undefined : { organization: o, updateMask: paths.join(",") };
}

// ---- members --------------------------------------------------------------------------------

let nextMembersToken = "";

async function loadMembers(more = false) {
  const r = await call("ListMemberships", { pageSize: 100, pageToken: more ? nextMembersToken : "" });
  const rows = (r.members ?? []).map((m) => {
    const tr = el("tr", undefined, { "data-user-name": m.user?.name ?? "" });
    tr.append(el("td", m.user?.name ?? ""), el("td", m.user?.id ?? m.membership?.userId ?? ""), el("td", roleLabel(m.membership?.role)));
    return tr;
  });
  if (more) $("members-body").append(...rows);
  else $("members-body").replaceChildren(...rows);
  nextMembersToken = r.nextPageToken ?? "";
  $("members-more").hidden = nextMembersToken === "";
}

// ---- tokens ---------------------------------------------------------------------------------

let nextPageToken = "";
/** The filters the listed pages were read with: a page token holds only for the filters it came with. */
let listedFilters = {};
/** Bumped by every first-page load, so that an answer to an older request is dropped. */
let listing = 0;

/** ListTokens' filter fields from the filter form (kind, enabled, namePrefix; unset means any). */
function tokenFilters() {
  const data = new FormData(/** @type {HTMLFormElement} */ ($("token-filters")));
  const f = {};
  const kind = String(data.get("kind") ?? "");
  if (kind !== "") f.kind = kind;
  const state = String(data.get("state") ?? "");
  if (state !== "") f.enabled = state === "enabled";
  const prefix = String(data.get("prefix") ?? "").trim();
  if (prefix !== "") f.namePrefix = prefix;
  return f;
}

/** The first page with the form's filters, or (more) the next page with the filters already listed. */
async function loadTokens(more = false) {
  const filters = more ? listedFilters : tokenFilters();
  const mine = more ? listing : ++listing;
  const r = await call("ListTokens", { ...filters, pageSize: 50, pageToken: more ? nextPageToken : "" });
  if (mine !== listing) return;
  // Refused filters leave the table, its More and the filters they were read with as they were.
  listedFilters = filters;
  const body = $("tokens-body");
  if (!more) body.replaceChildren();
  for (const t of r.tokens ?? []) body.append(tokenRow(t));
  nextPageToken = r.nextPageToken ?? "";
  $("tokens-more").hidden = nextPageToken === "";
}

function actionButton(label, name, onClick) {
  const b = el("button", label, { type: "button", "aria-label": `${label} ${name}` });
  b.addEventListener("click", onClick);
  return b;
}

function tokenRow(t) {
  const name = t.name ?? "";
  const tr = el("tr", undefined, { "data-token-id": t.id ?? "", "data-token-name": name });
  tr.append(
    el("td", name),
    el("td", kindLabel(t.kind)),
    el("td", undefined),
    el("td", enabledLabel(t), { class: t.enabled ? "on" : "off" }),
    el("td", t.description ?? "", { class: "description" }),
    el("td", when(t.createTime)),
    el("td", when(t.lastUsedTime, "never")),
    el("td", when(t.expireTime, "never"), { class: "expiry" }),
  );
  tr.children[2].append(el("code", t.maskedValue ?? ""));
  const origin = ORIGIN_LABELS[t.valueOrigin];
  if (origin) tr.children[2].append(el("div", origin, { class: "muted origin" }));
  // During a rotation's grace period: the old value, until when it works, and its own last use.
  const previous = t.previousValue;
  if (previous) {
    tr.children[2].append(
      el("div", `previous ${previous.maskedValue ?? ""} until ${when(previous.expireTime)}`, { class: "muted previous" }),
    );
    tr.children[6].append(el("div", `previous value: ${when(previous.lastUsedTime, "never")}`, { class: "muted previous" }));
  }
  const actions = el("td", undefined, { class: "actions" });
  actions.append(
    actionButton(t.enabled ? "Disable" : "Enable", name, () =>
      attempt(async () => {
        await call("SetTokenEnabled", { id: t.id, enabled: !t.enabled });
        await loadTokens();
      }),
    ),
    actionButton("Rotate", name, () => {
      const grace = /** @type {HTMLSelectElement} */ ($("rotate-grace"));
      const keep = grace.value === "" ? "" : (grace.selectedOptions[0]?.textContent ?? grace.value);
      const what = keep === "" ? "Its current value stops working at once." : `Its current value keeps working for ${keep}.`;
      if (!confirm(`Rotate ${name}? ${what}`)) return;
      void attempt(async () => {
        const r = await call("RotateToken", grace.value === "" ? { id: t.id } : { id: t.id, gracePeriod: grace.value });
        showSecret(`New value of ${name}:`, r.value ?? "");
        await loadTokens();
      });
    }),
    actionButton("Edit", name, () => editToken(tr, t)),
    actionButton("Delete", name, () => {
      if (!confirm(`Delete ${name}? This cannot be undone.`)) return;
      void attempt(async () => {
        await call("DeleteToken", { id: t.id });
        await loadTokens();
      });
    }),
  );
  tr.append(actions);
  return tr;
}

/** The Edit form, in the description cell: the description and the expiry (emptied: never expires). */
function editToken(tr, t) {
  const cell = tr.querySelector("td.description");
  if (!cell || cell.querySelector("form")) return;
  const name = t.name ?? "";
  const form = el("form", undefined, { class: "edit" });
  const input = el("input", undefined, { id: `desc-${t.id}`, maxlength: "1024" });
  input.value = t.description ?? "";
  const expiry = el("input", undefined, { id: `exp-${t.id}`, type: "datetime-local" });
  const shownExpiry = localInput(t.expireTime);
  expiry.value = shownExpiry;
  const cancel = el("button", "Cancel", { type: "button" });
  cancel.addEventListener("click", () => cell.replaceChildren(document.createTextNode(t.description ?? "")));
  form.append(
    el("label", `Description of ${name}`, { for: input.id, class: "sr-only" }),
    input,
    el("label", `Expiry of ${name} (local time; empty: never)`, { for: expiry.id, class: "small" }),
    expiry,
    el("span", undefined, { class: "buttons" }),
  );
  form.lastElementChild?.append(el("button", "Save", { type: "submit" }), cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void attempt(async () => {
      // Only what changed: an untouched expiry is not rewritten (the input keeps minutes only).
      const req = { id: t.id };
      const paths = [];
      if (input.value !== (t.description ?? "")) {
        req.description = input.value;
        paths.push("description");
      }
      if (expiry.value !== shownExpiry) {
        if (expiry.value !== "") req.expireTime = fromLocalInput(expiry.value);
        paths.push("expireTime");
      }
      // The JSON form of a FieldMask: lowerCamelCase paths joined by commas.
      if (paths.length > 0) await call("UpdateToken", { ...req, updateMask: paths.join(",") });
      await loadTokens();
    });
  });
  cell.replaceChildren(form);
  input.focus();
}

function syncKindFields() {
  const kind = /** @type {HTMLSelectElement} */ ($("ct-kind")).value;
  for (const node of $("create-token").querySelectorAll("[data-kinds]")) {
    node.hidden = !(node.getAttribute("data-kinds") ?? "").split(" ").includes(kind);
  }
  /** @type {HTMLInputElement} */ ($("ct-dashboards")).required = kind === "TOKEN_KIND_SHARED";
  /** @type {HTMLInputElement} */ ($("ct-expiry")).required = kind === "TOKEN_KIND_SHARED";
}

function createTokenRequest(form) {
  const data = new FormData(form);
  const kind = String(data.get("kind"));
  const req = { name: String(data.get("name") ?? "").trim(), kind, description: String(data.get("description") ?? "") };
  const permissions = {};
  const buckets = list(String(data.get("buckets") ?? ""));
  if (kind === "TOKEN_KIND_INGESTION") {
    const signals = data.getAll("signal").map(String);
    if (signals.length > 0) permissions.signals = signals;
    if (buckets.length > 0) permissions.buckets = buckets;
  } else if (kind === "TOKEN_KIND_READ_WRITE") {
    const read = data.get("read") !== null;
    const write = data.get("write") !== null;
    permissions.bucketAccess = buckets.map((bucket) => ({ bucket, read, write }));
  } else if (kind === "TOKEN_KIND_SHARED") {
    permissions.dashboards = list(String(data.get("dashboards") ?? ""));
  }
  if (Object.keys(permissions).length > 0) req.permissions = permissions;
  const expiry = String(data.get("expiry") ?? "");
  if (expiry !== "") req.expireTime = fromLocalInput(expiry);
  return req;
}

// ---- buckets --------------------------------------------------------------------------------

async function loadBuckets() {
  const r = await call("ListBuckets", {});
  $("buckets-body").replaceChildren(
    ...(r.buckets ?? []).map((b) => {
      const name = b.name ?? "";
      const tr = el("tr", undefined, { "data-bucket-name": name });
      const actions = el("td", undefined, { class: "actions" });
      actions.append(actionButton("Delete bucket", name, () => deleteBucket(name)));
      tr.append(el("td", name), el("td", b.description ?? ""), el("td", when(b.createTime)), actions);
      return tr;
    }),
  );
}

/**
 * Deletes a bucket after a confirmation. While tokens name it the server refuses
 * (FAILED_PRECONDITION); the console then asks again, saying what force does to those tokens, and
 * shows the refusal if the admin declines.
 */
function deleteBucket(name) {
  if (!confirm(`Delete bucket ${name}?`)) return;
  void attempt(async () => {
    $("buckets-status").textContent = "";
    let r;
    try {
      r = await call("DeleteBucket", { name });
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "failed_precondition") throw err;
      const ask =
        `${err.message}\n\nDelete bucket ${name} anyway? Every token that names it loses it, ` +
        "and a token left with no bucket is deleted.";
      if (!confirm(ask)) throw err;
      r = await call("DeleteBucket", { name, force: true });
    }
    const narrowed = r.narrowedTokenIds?.length ?? 0;
    const deleted = r.deletedTokenIds?.length ?? 0;
    $("buckets-status").textContent =
      narrowed + deleted === 0
        ? `Bucket ${name} deleted.`
        : `Bucket ${name} deleted; ${narrowed} token(s) no longer name it, ${deleted} token(s) deleted.`;
    await Promise.all([loadBuckets(), loadTokens()]);
  });
}

// ---- tabs -----------------------------------------------------------------------------------

const TABS = ["tab-manage", "tab-audit"];

/** Shows one tab's panel; opening the audit tab reads the trail's newest entries again. */
function selectTab(id, focus = false) {
  for (const tab of TABS) {
    const selected = tab === id;
    const t = $(tab);
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute("aria-controls") ?? "").hidden = !selected;
    if (selected && focus) t.focus();
  }
  if (id === "tab-audit") void loadAudit();
}

/** Arrow keys move between tabs (the tab pattern: one tab stop for the whole list). */
function tabKeys(e) {
  const i = TABS.indexOf(/** @type {HTMLElement} */ (e.target).id);
  if (i < 0) return;
  const step = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: TABS.length - 1 - i }[e.key];
  if (step === undefined) return;
  e.preventDefault();
  selectTab(TABS[(i + step + TABS.length) % TABS.length], true);
}

// ---- audit trail ----------------------------------------------------------------------------

const OUTCOMES = {
  AUDIT_OUTCOME_OK: { label: "done", refused: false },
  AUDIT_OUTCOME_PERMISSION_DENIED: { label: "refused: not allowed", refused: true },
  AUDIT_OUTCOME_UNAUTHENTICATED: { label: "refused: credential not accepted", refused: true },
};

const SYSTEM_ACTORS = {
  setup: "Tessera (setup)",
  recovery: "Tessera (recovery on the database)",
  upkeep: "Tessera (upkeep)",
  server: "Tessera (server)",
};

const PROBLEM_LABELS = {
  AUDIT_PROBLEM_KIND_CHANGED: "changed after it was written",
  AUDIT_PROBLEM_KIND_REMOVED: "entries before it were removed",
  AUDIT_PROBLEM_KIND_INSERTED: "inserted: it was never part of the chain",
  AUDIT_PROBLEM_KIND_UNKNOWN_KEY: "cannot be checked: its key is not in the server's key file",
};

/** The verifier lists at most this many problems (VerifyAuditLogResponse.problems). */
const MAX_PROBLEMS = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A UUID's first eight characters (enough to tell entries apart; the details hold all of it). */
const shortId = (id) => (typeof id === "string" && UUID.test(id) ? `${id.slice(0, 8)}…` : String(id ?? ""));

/** A server message as a sentence: capital first letter, full stop. */
function sentence(text) {
  const t = String(text ?? "").trim();
  if (t === "") return "";
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** An error in plain words for the line next to a control: no gRPC code in front. */
function plainError(err) {
  if (!(err instanceof ApiError)) return sentence(err instanceof Error ? err.message : String(err));
  if (err.code === "unauthenticated") return `Your sign-in token was not accepted: ${sentence(err.message)} Sign out and sign in again.`;
  if (err.code === "unavailable") return `The server could not be reached. ${sentence(err.message)}`;
  return sentence(err.message);
}

/** What a non-ADMIN reads instead of the trail. */
function adminOnlyMessage() {
  const role = caller.role && caller.role !== "ROLE_UNSPECIFIED" ? ` This token acts with the ${roleLabel(caller.role)} role.` : "";
  return `The audit trail needs the ADMIN role in this organization.${role} ` + "Ask one of its admins, or sign in with an admin's token.";
}

function showAuditError(text) {
  $("audit-error").textContent = text;
  $("audit-error").hidden = text === "";
}

/** A field's value in the Changes column: strings as they are, times in local time, the rest as JSON. */
function fieldValue(v) {
  if (v === undefined) return "—";
  if (v === null) return "none";
  if (typeof v === "string") {
    if (v === "") return '""';
    return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) ? when(v) : v;
  }
  return JSON.stringify(v);
}

let nextAuditToken = "";
/** The request the listed pages were read with: a page token holds only for its filters. */
let listedAudit = {};
/** Bumped by every first-page load, so that an answer to an older request is dropped. */
let auditListing = 0;

/** The trail the form names: "" for the signed-in organization's, or the instance's (operators). */
const auditTrail = () => /** @type {HTMLSelectElement} */ ($("af-trail")).value;

/** ListAuditEvents' fields from the filter form; the time range counts back from now. */
function auditFilters() {
  const data = new FormData(/** @type {HTMLFormElement} */ ($("audit-filters")));
  const f = {};
  const trail = String(data.get("trail") ?? "");
  if (trail !== "") f.organizationId = trail;
  const action = String(data.get("action") ?? "")
    .trim()
    .toLowerCase();
  if (action !== "") f.action = action;
  const outcome = String(data.get("outcome") ?? "");
  if (outcome !== "") f.outcome = outcome;
  const seconds = Number(data.get("time") ?? "");
  if (seconds > 0) f.startTime = new Date(Date.now() - seconds * 1000).toISOString();
  const target = String(data.get("target") ?? "").trim();
  if (target !== "") f.targetId = target;
  return f;
}

/**
 * The first page with the form's filters, or (more) the next page with the filters already
 * listed. Errors are shown next to the filters; a refusal for lack of the ADMIN role replaces the
 * tab's content with a plain explanation.
 */
async function loadAudit(more = false) {
  const filters = more ? listedAudit : auditFilters();
  const mine = more ? auditListing : ++auditListing;
  const table = $("audit");
  table.setAttribute("aria-busy", "true");
  let r;
  try {
    r = await call("ListAuditEvents", { ...filters, pageSize: 50, pageToken: more ? nextAuditToken : "" });
  } catch (err) {
    if (mine !== auditListing) return;
    table.setAttribute("aria-busy", "false");
    const denied = err instanceof ApiError && err.code === "permission_denied";
    $("audit-denied").textContent = denied ? adminOnlyMessage() : "";
    $("audit-denied").hidden = !denied;
    $("audit-content").hidden = denied;
    // Refused filters leave the table, its More and the filters it was read with as they were.
    showAuditError(denied ? "" : plainError(err));
    return;
  }
  if (mine !== auditListing) return;
  $("audit-denied").hidden = true;
  $("audit-content").hidden = false;
  showAuditError("");
  listedAudit = filters;
  const body = $("audit-body");
  if (!more) body.replaceChildren();
  for (const e of r.events ?? []) body.append(...auditRows(e));
  nextAuditToken = r.nextPageToken ?? "";
  $("audit-more").hidden = nextAuditToken === "";
  $("audit-empty").hidden = body.childElementCount > 0;
  table.setAttribute("aria-busy", "false");
}

/** Who acted: Tessera itself, or a token (its kind and the start of its id; "you" for this tab's). */
function actorCell(e) {
  const a = e.actor ?? {};
  const td = el("td", undefined, { class: "actor" });
  if (a.system) {
    td.append(el("span", SYSTEM_ACTORS[a.system] ?? `Tessera (${a.system})`, { class: "system" }));
  } else if (a.tokenId) {
    const mine = a.tokenId === caller.tokenId ? " (you)" : "";
    td.append(el("span", `${kindLabel(a.tokenKind) || "unknown kind"} token `), el("code", shortId(a.tokenId), { title: a.tokenId }));
    if (mine) td.append(document.createTextNode(mine));
  } else {
    td.append(el("span", "no recognized token", { class: "muted" }));
  }
  // An operator or a parent organization's admin acting on this organization.
  if (a.organizationId && a.organizationId !== e.organizationId) {
    td.append(el("div", `from organization ${shortId(a.organizationId)}`, { class: "muted small", title: a.organizationId }));
  }
  return td;
}

function targetCell(t = {}) {
  const td = el("td", undefined, { class: "target" });
  td.append(el("span", `${t.type ?? ""} `, { class: "muted" }));
  if (t.name) td.append(el("span", t.name, { class: "name" }));
  if (t.id && t.id !== t.name) td.append(el("div", shortId(t.id), { class: "muted small id", title: t.id }));
  return td;
}

/** The fields a change touched, before → after (a creation has no before, a deletion no after). */
function changesCell(e) {
  const td = el("td", undefined, { class: "changes" });
  const before = e.before ?? undefined;
  const after = e.after ?? undefined;
  if (before === undefined && after === undefined) {
    const refused = OUTCOMES[e.outcome]?.refused;
    td.append(el("span", refused ? (e.reason ? `nothing changed: ${e.reason}` : "nothing changed") : "", { class: "muted" }));
    return td;
  }
  const oneSide = before === undefined || after === undefined;
  if (before === undefined) td.append(el("div", "created with", { class: "muted small" }));
  if (after === undefined) td.append(el("div", "removed; it had", { class: "muted small" }));
  const ul = el("ul", undefined, oneSide ? { class: "snapshot" } : {});
  // A creation or deletion lists what was set: fields left empty say nothing about it.
  const blank = (v) => v === null || v === "" || (typeof v === "object" && Object.keys(v).length === 0);
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].filter(
    (k) => !oneSide || !blank((after ?? before)[k]),
  );
  for (const k of keys) {
    const li = el("li", undefined, { "data-field": k });
    li.append(el("span", k, { class: "field" }), document.createTextNode(": "));
    if (before !== undefined && after !== undefined) {
      li.append(
        el("span", fieldValue(before[k]), { class: "before" }),
        document.createTextNode(" → "),
        el("span", fieldValue(after[k]), { class: "after" }),
      );
    } else {
      li.append(el("span", fieldValue((after ?? before)[k]), { class: after === undefined ? "before" : "after" }));
    }
    ul.append(li);
  }
  td.append(ul);
  return td;
}

/** Why an entry has no number yet (the sealer links entries into the chain a second or so after they commit). */
const PENDING_TITLE = "Written, and being linked into the chain: it gets its number within a second or so (Filter lists again).";

/**
 * The row of one entry and, after it, its hidden details row (request, peer, user agent, rpc,
 * reason). Rows are keyed by the entry's id, which it has from the moment it is written; its
 * sequence number comes later, when it is linked into the chain (0 until then, absent in JSON).
 */
function auditRows(e) {
  const id = String(e.id ?? "");
  const seq = e.sequence && e.sequence !== "0" ? String(e.sequence) : "";
  const outcome = OUTCOMES[e.outcome] ?? { label: String(e.outcome ?? "unknown"), refused: true };
  const tr = el("tr", undefined, {
    "data-id": id,
    "data-seq": seq,
    "data-action": e.action ?? "",
    class: outcome.refused ? "refused" : "",
  });
  const entry = seq === "" ? el("td", "pending", { class: "seq pending", title: PENDING_TITLE }) : el("td", `#${seq}`, { class: "seq" });
  const time = el("td", when(e.time), { class: "time" });
  if (e.time) time.setAttribute("title", e.time);
  const action = el("td");
  action.append(el("code", e.action ?? ""));
  const details = el("tr", undefined, { class: "details", id: `audit-details-${id}`, hidden: "" });
  const cell = el("td", undefined, { colspan: "8" });
  const dl = el("dl", undefined, { class: "facts" });
  const a = e.actor ?? {};
  const facts = [
    ["Entry", seq === "" ? "pending: being linked into the chain" : `#${seq}`],
    ["Entry id", id],
    ["Hash", hex(e.hash)],
    ["Time", e.time ?? ""],
    ["Request id", e.requestId ?? ""],
    ["Peer", e.peer ?? ""],
    ["User agent", e.userAgent ?? ""],
    ["RPC", e.rpc ?? ""],
    ["Reason", e.reason ?? ""],
    ["Actor token id", a.tokenId ?? ""],
    ["Actor user id", a.userId ?? ""],
    ["Actor organization id", a.organizationId ?? ""],
    ["Target id", e.target?.id ?? ""],
  ];
  for (const [k, v] of facts) dl.append(el("dt", k), el("dd", v === "" ? "—" : v, { "data-fact": k }));
  cell.append(dl);
  details.append(cell);
  const toggle = el("button", "Details", {
    type: "button",
    "aria-expanded": "false",
    "aria-controls": details.id,
    "aria-label": seq === "" ? `Details of pending entry ${shortId(id)}` : `Details of entry #${seq}`,
  });
  toggle.addEventListener("click", () => {
    details.hidden = !details.hidden;
    toggle.setAttribute("aria-expanded", String(!details.hidden));
  });
  const more = el("td", undefined, { class: "actions" });
  more.append(toggle);
  tr.append(
    entry,
    time,
    actorCell(e),
    action,
    targetCell(e.target),
    el("td", outcome.label, { class: outcome.refused ? "outcome refused" : "outcome" }),
    changesCell(e),
    more,
  );
  return [tr, details];
}

/** Bytes in protobuf JSON (base64) as hex. */
function hex(b64) {
  try {
    return [...atob(String(b64 ?? ""))].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return "";
  }
}

/** VerifyAuditLog on the trail the form names, said in plain words next to the button. */
async function verifyAudit() {
  const status = $("audit-verify-status");
  const problems = $("audit-problems");
  status.className = "";
  status.textContent = "Checking…";
  problems.replaceChildren();
  problems.hidden = true;
  const trail = auditTrail();
  let r;
  try {
    r = await call("VerifyAuditLog", trail === "" ? {} : { organizationId: trail });
  } catch (err) {
    status.className = "inline-error";
    status.textContent =
      err instanceof ApiError && err.code === "permission_denied" ? adminOnlyMessage() : `Could not verify: ${plainError(err)}`;
    return;
  }
  const n = Number(r.entriesChecked ?? 0);
  const range = n === 0 ? "" : ` (entries #${r.firstSequence ?? "?"} to #${r.lastSequence ?? "?"})`;
  const entries = `${n} ${n === 1 ? "entry" : "entries"}`;
  const list = r.problems ?? [];
  if (r.intact) {
    status.className = "verify-ok";
    status.textContent =
      n === 0
        ? "Intact: the trail is empty, nothing to check."
        : `Intact: ${entries} checked${range}; none was changed, removed or inserted. Head (the newest entry's hash, ` +
          "keep it to notice entries removed from the end later): ";
    if (n > 0) status.append(el("code", hex(r.headHash), { class: "hash" }));
    return;
  }
  status.className = "verify-bad";
  const capped = list.length >= MAX_PROBLEMS ? ` (only the first ${MAX_PROBLEMS} are listed)` : "";
  status.textContent = `Not intact: ${list.length} ${list.length === 1 ? "problem" : "problems"} in ${entries} checked${range}${capped}.`;
  problems.replaceChildren(
    ...list.map((p) => {
      const what = PROBLEM_LABELS[p.kind] ?? "does not verify";
      // Sequence 0: a row no seal names, found among sealed ones (one added behind the server's back).
      const where = p.sequence && p.sequence !== "0" ? `Entry #${p.sequence}` : "An unnumbered entry";
      const li = el("li", `${where}: ${what}.`, { "data-seq": p.sequence ? String(p.sequence) : "0" });
      // The verifier's own words, for whoever investigates.
      if (p.detail) li.append(el("span", ` ${sentence(p.detail)}`, { class: "muted small" }));
      return li;
    }),
  );
  problems.hidden = list.length === 0;
}

/** Back to an empty audit tab (sign-out; a changed trail). */
function resetAudit() {
  ++auditListing;
  $("audit").removeAttribute("aria-busy");
  nextAuditToken = "";
  listedAudit = {};
  $("audit-body").replaceChildren();
  $("audit-more").hidden = true;
  $("audit-empty").hidden = true;
  $("audit-denied").hidden = true;
  $("audit-content").hidden = false;
  showAuditError("");
  $("audit-verify-status").textContent = "";
  $("audit-verify-status").className = "";
  $("audit-problems").replaceChildren();
  $("audit-problems").hidden = true;
}

// ---- session --------------------------------------------------------------------------------

/** Shows the console for the stored token; a token the server refuses is forgotten at once. */
async function enter() {
  clearError();
  try {
    await loadOrganization();
  } catch (err) {
    signOut();
    showError(err);
    return;
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  // Only operators read other trails than their organization's: the instance's own.
  $("af-trail-field").hidden = caller.operator !== true;
  await attempt(() => Promise.all([loadTokens(), loadBuckets(), loadMembers()]));
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  dismissSecret();
  clearError();
  nextPageToken = "";
  nextMembersToken = "";
  org = {};
  caller = {};
  resetAudit();
  selectTab("tab-manage");
  for (const id of ["tokens-body", "buckets-body", "members-body"]) $(id).replaceChildren();
  for (const id of ["org-name", "org-identifier", "org-id", "org-enabled", "org-created", "org-passcode", "whoami", "buckets-status"])
    $(id).textContent = "";
  const forms = ["create-token", "create-bucket", "edit-org", "token-filters", "audit-filters"];
  for (const id of forms) /** @type {HTMLFormElement} */ ($(id)).reset();
  syncKindFields();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  $("signin-token").focus();
}

function init() {
  $("alert-dismiss").addEventListener("click", clearError);
  $("secret-dismiss").addEventListener("click", dismissSecret);
  $("secret-copy").addEventListener("click", () => void copySecret());
  $("sign-out").addEventListener("click", signOut);
  $("tokens-more").addEventListener("click", () => void attempt(() => loadTokens(true)));
  $("members-more").addEventListener("click", () => void attempt(() => loadMembers(true)));
  // A changed filter lists from the first page again (page tokens hold only for their filters).
  const filters = $("token-filters");
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    void attempt(() => loadTokens());
  });
  filters.addEventListener("change", () => void attempt(() => loadTokens()));
  $("ct-kind").addEventListener("change", syncKindFields);
  syncKindFields();

  for (const tab of TABS) {
    $(tab).addEventListener("click", () => selectTab(tab));
    $(tab).addEventListener("keydown", tabKeys);
  }
  const auditForm = $("audit-filters");
  auditForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void loadAudit();
  });
  auditForm.addEventListener("change", (e) => {
    // A verification said something about the trail it checked, not about another one.
    if (/** @type {HTMLElement} */ (e.target).id === "af-trail") {
      $("audit-verify-status").textContent = "";
      $("audit-problems").hidden = true;
    }
    void loadAudit();
  });
  $("audit-more").addEventListener("click", () => void loadAudit(true));
  $("audit-verify").addEventListener("click", () => void verifyAudit());

  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("signin-token"));
    const token = input.value.trim();
    input.value = "";
    if (token === "") return;
    sessionStorage.setItem(TOKEN_KEY, token);
    void enter();
  });

  $("create-token").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    void attempt(async () => {
      const r = await call("CreateToken", createTokenRequest(form));
      showSecret(`Value of new token ${r.token?.name ?? ""}:`, r.value ?? "");
      form.reset();
      syncKindFields();
      await loadTokens();
    });
  });

  $("edit-org").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    void attempt(async () => {
      const req = updateOrganizationRequest(form);
      if (req !== undefined) await call("UpdateOrganization", req);
      await loadOrganization();
    });
  });

  $("create-bucket").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    const data = new FormData(form);
    void attempt(async () => {
      await call("CreateBucket", { name: String(data.get("name") ?? "").trim(), description: String(data.get("description") ?? "") });
      form.reset();
      await loadBuckets();
    });
  });

  if (sessionStorage.getItem(TOKEN_KEY)) void enter();
}

init();
