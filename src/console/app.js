// Tessera admin console: talks to TokenAdminService with the Connect protocol's JSON encoding.
// Server data is only ever written with textContent. The sign-in token lives in sessionStorage
// (this tab only); token values from create/rotate are shown once in the DOM and never stored
// (the ingestion tab may reuse a value made in this page, from memory, until sign-out or reload).

const SERVICE = "/tessera.v1.TokenAdminService/";
const TOKEN_KEY = "tessera.console.token";
/** The organization picked in the switcher, kept for a reload of this tab (an id, no secret). */
const ORG_KEY = "tessera.console.org";

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

/** A mistake the console finds before asking the server, said under the control `field` names. */
class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
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
    throw new ApiError("unavailable", `network error: ${err instanceof Error ? err.message : String(err)}`);
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

/** The organization the console shows (the switcher's choice); "" before sign-in. */
let orgId = "";
/** Bumped when the organization changes: answers about the previous one are dropped. */
let orgEpoch = 0;
/** A request body for the selected organization. */
const inOrg = (body = {}) => (orgId === "" ? body : { organizationId: orgId, ...body });

// ---- errors in plain words ------------------------------------------------------------------

/** A message as a sentence: capital first letter, full stop. */
function sentence(text) {
  const t = String(text ?? "").trim();
  if (t === "") return "";
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** API field and enum names in server messages, as a person says them. */
const PLAIN_WORDS = [
  [/\borganization\.max_token_lifetime\b|\bmax_token_lifetime\b/g, "the maximum token lifetime"],
  [/\borganization\.token_idle_limit\b|\btoken_idle_limit\b/g, "the idle limit"],
  [/\bpermissions\.bucket_access\b/g, "the bucket access"],
  [/\bpermissions\.buckets\b/g, "the buckets"],
  [/\bpermissions\.signals\b/g, "the signals"],
  [/\bpermissions\.dashboards\b/g, "the dashboards"],
  [/\bpermissions\.filters\b/g, "the filters"],
  [/\ban expire_time\b/g, "an expiry"],
  [/\bexpire_time\b/g, "the expiry"],
  [/\bSIGNAL_(LOGS|METRICS|TRACES)\b/g, (_m, s) => s.toLowerCase()],
  [/\b(READ_WRITE|ALL_ACCESS|INGESTION|SHARED|VERIFIER|OPERATOR) tokens\b/g, (_m, k) => `${kindLabel(`TOKEN_KIND_${k}`)} tokens`],
];

function plainWords(text) {
  let t = String(text ?? "");
  for (const [re, to] of PLAIN_WORDS) t = t.replace(re, to);
  return t;
}

/** What a refusal means, before the server's own words, for the codes whose message says less. */
const CODE_LEADS = {
  permission_denied: "Not allowed:",
  not_found: "Not found:",
  resource_exhausted: "Too many requests, try again shortly:",
  deadline_exceeded: "The server took too long:",
  internal: "The server failed:",
  unknown: "The server failed:",
  unimplemented: "This server does not offer that:",
};

/** An error in plain words, for the line next to a control or the page's alert: never a code prefix. */
function plainError(err) {
  if (!(err instanceof ApiError)) return sentence(plainWords(err instanceof Error ? err.message : String(err)));
  const words = sentence(plainWords(err.message));
  if (err.code === "unauthenticated") return `Your sign-in token was not accepted: ${words} Sign out and sign in again.`;
  if (err.code === "unavailable") return `The server could not be reached. ${words}`;
  const lead = CODE_LEADS[err.code];
  // "… not found" says it already.
  if (err.code === "not_found" && /not found\.$/.test(words)) return words;
  return lead === undefined || words === "" ? words : `${lead} ${words[0].toLowerCase()}${words.slice(1)}`;
}

function showError(err) {
  $("alert-message").textContent = plainError(err);
  $("alert").hidden = false;
}

function clearError() {
  $("alert").hidden = true;
  $("alert-message").textContent = "";
}

/** Runs an action, showing any error in the page's alert; returns whether it succeeded. */
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

/** Shows `text` in the error line `<key>-error`; the controls it describes are marked invalid. */
function setFieldError(key, text) {
  const p = $(`${key}-error`);
  p.textContent = text;
  p.hidden = text === "";
  for (const c of document.querySelectorAll(`[aria-describedby~="${key}-error"]`)) {
    if (text === "") c.removeAttribute("aria-invalid");
    else c.setAttribute("aria-invalid", "true");
  }
}

function clearFieldErrors(root) {
  for (const p of root.querySelectorAll(".field-error")) {
    p.textContent = "";
    p.hidden = true;
  }
  for (const c of root.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

/**
 * Puts an error under the control it concerns: a FieldError names it; a server refusal goes where
 * the first of `rules` ([pattern, key]) matching its message points, else to `fallback`. Returns
 * the key used, so the caller can focus that control.
 */
function placeError(err, rules, fallback) {
  let key = fallback;
  if (err instanceof FieldError) key = err.field;
  else if (err instanceof ApiError && err.code !== "unauthenticated" && err.code !== "unavailable") {
    key = rules.find(([re]) => re.test(err.message))?.[1] ?? fallback;
  }
  setFieldError(key, plainError(err));
  const control = document.querySelector(`[aria-describedby~="${key}-error"]:not([hidden])`);
  if (control instanceof HTMLElement) control.focus();
  return key;
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

const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** A timestamp relative to now ("3 minutes ago", "in 2 days"). */
function relative(ts, none = "") {
  if (!ts) return none;
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return String(ts);
  const s = (ms - Date.now()) / 1000;
  if (Math.abs(s) < 45) return s < 0 ? "just now" : "in a few seconds";
  const [unit, size] = UNITS.find(([, n]) => Math.abs(s) >= n) ?? UNITS[UNITS.length - 1];
  return RELATIVE.format(Math.round(s / size), unit);
}

/** The exact time for a title: ISO (UTC) and the browser's local time. */
const exact = (ts) => (ts ? `${ts} (${when(ts)})` : "");

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

const SIGNAL_LABELS = { SIGNAL_LOGS: "logs", SIGNAL_METRICS: "metrics", SIGNAL_TRACES: "traces" };
const ALL_SIGNALS = ["SIGNAL_LOGS", "SIGNAL_METRICS", "SIGNAL_TRACES"];

/** The signals an ingestion token may write (all of them when its list is empty). */
const signalsOf = (t) => (t.permissions?.signals?.length ? t.permissions.signals : ALL_SIGNALS);

/** What a token may do, in a line: "write: web (logs, traces)", "read: a; write: b", "all access". */
function permissionsText(t) {
  const p = t.permissions ?? {};
  switch (t.kind) {
    case "TOKEN_KIND_INGESTION": {
      const buckets = p.buckets?.length ? p.buckets.join(", ") : "every bucket";
      const signals = p.signals?.length ? p.signals.map((s) => SIGNAL_LABELS[s] ?? s).join(", ") : "all signals";
      return `write: ${buckets} (${signals})`;
    }
    case "TOKEN_KIND_READ_WRITE": {
      const grants = p.bucketAccess ?? [];
      const reads = grants.filter((g) => g.read).map((g) => g.bucket);
      const writes = grants.filter((g) => g.write).map((g) => g.bucket);
      const parts = [];
      if (reads.length > 0) parts.push(`read: ${reads.join(", ")}`);
      if (writes.length > 0) parts.push(`write: ${writes.join(", ")}`);
      return parts.length > 0 ? parts.join("; ") : "nothing";
    }
    case "TOKEN_KIND_ALL_ACCESS":
      return "all access";
    case "TOKEN_KIND_OPERATOR":
      return "everything, in every organization";
    case "TOKEN_KIND_VERIFIER":
      return "verify other tokens only";
    case "TOKEN_KIND_SHARED": {
      const filters = Object.entries(p.filters ?? {}).map(([k, v]) => `${k}=${v}`);
      const view = `view: ${(p.dashboards ?? []).join(", ") || "no dashboard"}`;
      return filters.length > 0 ? `${view} (where ${filters.join(", ")})` : view;
    }
    default:
      return "";
  }
}

/** What the Enabled column says: why a disabled token is off (an admin, or the idle limit). */
function enabledLabel(t) {
  if (t.enabled) return "yes";
  if (t.disabledReason === "TOKEN_DISABLED_REASON_IDLE") return "no (idle)";
  if (t.disabledReason === "TOKEN_DISABLED_REASON_ADMIN") return "no (by an admin)";
  return "no";
}

/** What the admin typed for a limit (90d, 12h, 1d12h, 45m, 30s, or plain seconds) as a JSON Duration; "" is no limit. */
function parseLimit(text, field) {
  const t = text.trim();
  if (t === "") return undefined;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(t);
  if (!m || !/\d/.test(t)) throw new FieldError(field, "Write a duration such as 90d, 12h, 30m or 45s, or nothing for no limit.");
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
function fromLocalInput(value, field) {
  const d = new Date(value); // datetime-local: the browser's local time
  if (Number.isNaN(d.getTime())) throw new FieldError(field, "Choose a valid date and time.");
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A UUID's first eight characters (enough to tell entries apart; the details hold all of it). */
const shortId = (id) => (typeof id === "string" && UUID.test(id) ? `${id.slice(0, 8)}…` : String(id ?? ""));

/** Copies `text`; without the clipboard API (or its permission), selects `node` for the user to copy. */
async function copyText(text, node, status) {
  if (text === "") return;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    status.textContent = "Selected: press Ctrl+C / ⌘C to copy.";
    return;
  }
  status.textContent = "Copied.";
}

// ---- the one-time secret box ----------------------------------------------------------------

/**
 * Values created or rotated in this page, by token id, for the ingestion tab to offer. Memory
 * only: gone on reload, sign-out, or when the admin forgets it there.
 */
const freshValues = new Map();
/** The ingestion token whose value the box shows, for its "snippets" button; "" otherwise. */
let secretTokenId = "";

function showSecret(label, value, token) {
  $("secret-label").textContent = label;
  $("secret-value").textContent = value;
  $("secret-copied").textContent = "";
  secretTokenId = token?.kind === "TOKEN_KIND_INGESTION" && token.enabled ? (token.id ?? "") : "";
  $("secret-ingest").hidden = secretTokenId === "";
  $("secret").hidden = false;
  $("secret-value").focus();
}

function dismissSecret() {
  $("secret-value").textContent = "";
  $("secret-label").textContent = "";
  $("secret-copied").textContent = "";
  secretTokenId = "";
  $("secret").hidden = true;
}

// ---- organizations --------------------------------------------------------------------------

/** The organization as last loaded: the form sends only what the admin changed. */
let org = {};
/** Who is signed in (GetCaller): its token id, organization, role; the audit tab marks its entries. */
let caller = {};
/** The organizations the token reaches (ListOrganizations), in tree order. */
let orgs = [];

/** Every organization the token reaches, parents before their sub-organizations. */
async function loadOrganizations() {
  const all = [];
  let pageToken = "";
  do {
    const r = await call("ListOrganizations", { pageSize: 1000, pageToken });
    all.push(...(r.organizations ?? []));
    pageToken = r.nextPageToken ?? "";
  } while (pageToken !== "" && all.length < 10_000);
  const ids = new Set(all.map((o) => o.id));
  const children = new Map();
  for (const o of all) {
    const parent = o.parentId && ids.has(o.parentId) ? o.parentId : "";
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(o);
  }
  const ordered = [];
  const walk = (parent, depth) => {
    for (const o of children.get(parent) ?? []) {
      ordered.push({ ...o, depth });
      walk(o.id, depth + 1);
    }
  };
  walk("", 0);
  orgs = ordered;
}

const orgById = (id) => orgs.find((o) => o.id === id);

/** The switcher: shown when the token reaches more than its own organization. */
function renderSwitcher() {
  const select = /** @type {HTMLSelectElement} */ ($("org-switch"));
  select.replaceChildren(
    ...orgs.map((o) => {
      // Non-breaking spaces: a select collapses ordinary leading spaces.
      const indent = o.depth > 0 ? `${"\u00a0\u00a0".repeat(o.depth)}↳ ` : "";
      const name = o.name && o.name !== o.identifier ? ` (${o.name})` : "";
      const off = o.enabled ? "" : " — disabled";
      const opt = el("option", `${indent}${o.identifier}${name}${off}`, { value: o.id });
      return opt;
    }),
  );
  select.value = orgId;
  $("org-switcher").hidden = orgs.length < 2;
}

/** Says which organization is shown when it is not the signed-in token's own. */
function renderViewing() {
  const v = $("viewing");
  if (orgId === "" || orgId === caller.organizationId) {
    v.hidden = true;
    v.textContent = "";
    return;
  }
  const parent = org.parentId ? orgById(org.parentId) : undefined;
  const where = parent ? `, a sub-organization of ${parent.identifier}` : "";
  const how = caller.operator ? "with an operator token" : `with a token of ${caller.organizationIdentifier ?? "its parent"}`;
  v.textContent = `You are managing ${org.identifier ?? "?"}${where}, ${how}. Everything below is ${org.identifier ?? "?"}'s.`;
  v.hidden = false;
}

async function loadOrganization() {
  const epoch = orgEpoch;
  const { organization: o = {} } = await call("GetOrganization", { id: orgId });
  if (epoch !== orgEpoch) return;
  org = o;
  $("org-name").textContent = o.name ?? "";
  $("org-identifier").textContent = o.identifier ?? "";
  $("org-id").textContent = o.id ?? "";
  const parent = o.parentId ? orgById(o.parentId) : undefined;
  $("org-parent").textContent = o.parentId
    ? `${parent?.identifier ?? o.parentId} (its tokens ${o.parentAccess ? "may" : "may not"} reach this organization)`
    : "none: a top-level organization";
  $("org-enabled").textContent = o.enabled ? "yes" : "no";
  $("org-created").textContent = when(o.createTime);
  $("org-policies").textContent =
    `maximum lifetime ${duration(o.maxTokenLifetime, "none")}; disabled after ${duration(o.tokenIdleLimit, "never")} unused`;
  /** @type {HTMLInputElement} */ ($("eo-name")).value = o.name ?? "";
  /** @type {HTMLInputElement} */ ($("eo-lifetime")).value = duration(o.maxTokenLifetime, "");
  /** @type {HTMLInputElement} */ ($("eo-idle")).value = duration(o.tokenIdleLimit, "");
  renderViewing();
  try {
    const p = await call("GetPasscode", inOrg());
    if (epoch !== orgEpoch) return;
    const t = p.token ?? {};
    $("org-passcode").textContent =
      `default ingestion token ${t.maskedValue ?? ""} (${t.enabled ? "enabled" : "disabled"}, last used ${when(t.lastUsedTime, "never")}); ` +
      `use as Basic ${p.organizationIdentifier ?? ""}:<token>. Values are never stored: rotate the token to get a new one.`;
  } catch (err) {
    if (epoch === orgEpoch) $("org-passcode").textContent = `unavailable: ${plainError(err)}`;
  }
}

/** The header line: which token is signed in, of which organization, with which role. */
function renderWhoami() {
  const w = caller;
  const owner = w.owner?.name ? `, owned by ${w.owner.name}` : "";
  const role = w.operator ? "operator" : `role ${roleLabel(w.role)}`;
  $("whoami").textContent =
    `Signed in to ${w.organizationIdentifier ?? "?"} as ${w.tokenName ?? "?"} (${kindLabel(w.tokenKind)} token${owner}; ${role})`;
}

/** UpdateOrganization with the fields the admin changed; an emptied limit is removed (named in the mask, left unset). */
function updateOrganizationRequest(form) {
  const data = new FormData(form);
  const o = { id: org.id };
  const paths = [];
  const name = String(data.get("name") ?? "").trim();
  if (name !== (org.name ?? "")) {
    if (name === "") throw new FieldError("eo-name", "Give the organization a name.");
    o.name = name;
    paths.push("name");
  }
  const lifetime = parseLimit(String(data.get("lifetime") ?? ""), "eo-lifetime");
  if (lifetime !== org.maxTokenLifetime) {
    if (lifetime !== undefined) o.maxTokenLifetime = lifetime;
    paths.push("maxTokenLifetime");
  }
  const idle = parseLimit(String(data.get("idle") ?? ""), "eo-idle");
  if (idle !== org.tokenIdleLimit) {
    if (idle !== undefined) o.tokenIdleLimit = idle;
    paths.push("tokenIdleLimit");
  }
  // The JSON form of a FieldMask: lowerCamelCase paths joined by commas.
  return paths.length === 0 ? undefined : { organization: o, updateMask: paths.join(",") };
}

const ORG_FIELDS = [
  [/lifetime/i, "eo-lifetime"],
  [/idle/i, "eo-idle"],
  [/name/i, "eo-name"],
];

// ---- members and users ----------------------------------------------------------------------

let nextMembersToken = "";

/** User names by id, for the Created by column: members, the caller's owner, then GetUser. */
const userNames = new Map();

async function loadMembers(more = false) {
  const epoch = orgEpoch;
  const r = await call("ListMemberships", inOrg({ pageSize: 100, pageToken: more ? nextMembersToken : "" }));
  if (epoch !== orgEpoch) return;
  const rows = (r.members ?? []).map((m) => {
    if (m.user?.id && m.user.name) userNames.set(m.user.id, m.user.name);
    const tr = el("tr", undefined, { "data-user-name": m.user?.name ?? "" });
    tr.append(el("td", m.user?.name ?? ""), el("td", m.user?.id ?? m.membership?.userId ?? ""), el("td", roleLabel(m.membership?.role)));
    return tr;
  });
  if (more) $("members-body").append(...rows);
  else $("members-body").replaceChildren(...rows);
  nextMembersToken = r.nextPageToken ?? "";
  $("members-more").hidden = nextMembersToken === "";
}

/** Looks up the creators the table shows that no list named yet (one GetUser each; unseen users stay ids). */
async function resolveCreators(tokens) {
  const missing = [...new Set(tokens.map((t) => t.createdBy).filter((id) => id && !userNames.has(id)))].slice(0, 50);
  await Promise.all(
    missing.map(async (id) => {
      try {
        const r = await call("GetUser", { id });
        userNames.set(id, r.user?.name ?? "");
      } catch {
        userNames.set(id, ""); // not visible to this token (an operator, another organization's user)
      }
    }),
  );
  for (const cell of $("tokens-body").querySelectorAll("td.creator")) fillCreator(/** @type {HTMLElement} */ (cell));
}

/** The Created by cell's text: the user's name ("you" for the signed-in token's owner), or who made it. */
function fillCreator(cell) {
  const id = cell.getAttribute("data-user-id") ?? "";
  if (id === "") {
    cell.textContent = "Tessera";
    cell.title = "Created by Tessera itself (with its organization, or by setup)";
    return;
  }
  const name = userNames.get(id);
  const you = caller.owner?.id === id ? " (you)" : "";
  cell.textContent = name ? `${name}${you}` : name === "" ? `user ${shortId(id)}${you}` : "…";
  cell.title = name === "" ? `${id}: a user this token cannot see (an operator, or a member elsewhere)` : id;
}

// ---- tokens ---------------------------------------------------------------------------------

/** Rows shown at first and added by each More. */
const PAGE = 50;
/** At most this many tokens are read for one listing (pages of 1000): search and sort work on them. */
const MAX_LISTED = 10_000;

/** The tokens of the organization matching the kind and state filters, in the server's order. */
let tokens = [];
let listedAll = true;
let shown = PAGE;
/** The column the table is sorted by ("" for the server's order: `default` first, then by creation), and the direction. */
let sortKey = "";
let sortDir = 1;
/** Bumped by every listing, so that an answer to an older request is dropped. */
let listing = 0;

/** ListTokens' filter fields from the filter form (kind, enabled; unset means any). */
function tokenFilters() {
  const data = new FormData(/** @type {HTMLFormElement} */ ($("token-filters")));
  const f = {};
  const kind = String(data.get("kind") ?? "");
  if (kind !== "") f.kind = kind;
  const state = String(data.get("state") ?? "");
  if (state !== "") f.enabled = state === "enabled";
  return f;
}

/** Reads every token matching the kind and state filters; search, sort and More work on what was read. */
async function loadTokens() {
  const filters = tokenFilters();
  const mine = ++listing;
  const read = [];
  let pageToken = "";
  do {
    const r = await call("ListTokens", inOrg({ ...filters, pageSize: 1000, pageToken }));
    if (mine !== listing) return;
    read.push(...(r.tokens ?? []));
    pageToken = r.nextPageToken ?? "";
  } while (pageToken !== "" && read.length < MAX_LISTED);
  tokens = read;
  listedAll = pageToken === "";
  shown = PAGE;
  renderTokens();
  void resolveCreators(read);
}

const searchText = () => /** @type {HTMLInputElement} */ ($("tf-search")).value.trim().toLowerCase();

/** What a column sorts by: never-expiring tokens last, never-used ones first, ascending. */
const SORT_VALUES = {
  name: (t) => t.name ?? "",
  created: (t) => Date.parse(t.createTime ?? "") || 0,
  expiry: (t) => (t.expireTime ? Date.parse(t.expireTime) : Number.POSITIVE_INFINITY),
  lastUsed: (t) => (t.lastUsedTime ? Date.parse(t.lastUsedTime) : Number.NEGATIVE_INFINITY),
};

function visibleTokens() {
  const q = searchText();
  const found = q === "" ? tokens : tokens.filter((t) => `${t.name ?? ""}\n${t.description ?? ""}`.toLowerCase().includes(q));
  if (sortKey === "") return found;
  const value = SORT_VALUES[sortKey];
  return [...found].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    const c = typeof x === "string" ? x.localeCompare(String(y)) : x < y ? -1 : x > y ? 1 : 0;
    return c * sortDir || (a.name ?? "").localeCompare(b.name ?? "");
  });
}

function renderTokens() {
  const found = visibleTokens();
  $("tokens-body").replaceChildren(...found.slice(0, shown).map(tokenRow));
  $("tokens-more").hidden = found.length <= shown;
  $("tokens-empty").hidden = found.length > 0;
  const of = found.length === tokens.length ? "" : ` of ${tokens.length}`;
  const capped = listedAll ? "" : ` (only the first ${MAX_LISTED} were read: narrow by kind or state)`;
  $("tokens-count").textContent = `${found.length}${of} ${tokens.length === 1 ? "token" : "tokens"}${capped}`;
  for (const th of $("tokens").querySelectorAll("th[data-sort]")) {
    const key = th.getAttribute("data-sort");
    const button = th.querySelector("button");
    const on = key === sortKey;
    if (on) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
    button?.setAttribute("data-dir", on ? (sortDir > 0 ? "asc" : "desc") : "");
    button?.setAttribute("title", on ? `Sorted ${sortDir > 0 ? "ascending" : "descending"}: click to reverse` : "Sort by this column");
  }
}

/** A header click: that column ascending, then descending. */
function sortBy(key) {
  if (sortKey === key) sortDir = -sortDir;
  else {
    sortKey = key;
    sortDir = 1;
  }
  shown = PAGE;
  renderTokens();
}

function actionButton(label, name, onClick) {
  const b = el("button", label, { type: "button", "aria-label": `${label} ${name}` });
  b.addEventListener("click", onClick);
  return b;
}

/** A time cell: `text` shown, the exact time as its title. */
function timeCell(cls, text, ts) {
  const td = el("td", text, { class: cls });
  if (ts) td.title = exact(ts);
  return td;
}

const isDefaultToken = (t) => t.name === "default" && t.kind === "TOKEN_KIND_INGESTION";

/** Why the page does not delete this token (a short reason and the full title), or undefined when it may. */
function undeletable(t) {
  if (t.id && t.id === caller.tokenId)
    return {
      short: "you are signed in with it",
      title: "This is the token you are signed in with: sign in with another token to delete it.",
    };
  if (isDefaultToken(t))
    return {
      short: "the organization's passcode",
      title: "The default ingestion token is the organization's passcode and cannot be deleted: disable or rotate it instead.",
    };
  return undefined;
}

function tokenRow(t) {
  const name = t.name ?? "";
  const tr = el("tr", undefined, { "data-token-id": t.id ?? "", "data-token-name": name });
  const nameCell = el("td", undefined, { class: "name" });
  nameCell.append(el("span", name, { class: "token-name" }));
  if (t.id === caller.tokenId) nameCell.append(el("span", "you", { class: "badge", title: "The token you are signed in with" }));
  if (isDefaultToken(t)) nameCell.append(el("span", "passcode", { class: "badge", title: "The organization's default ingestion token" }));
  nameCell.append(el("div", t.description ?? "", { class: "description muted small" }));

  const value = el("td", undefined, { class: "value" });
  value.append(el("code", t.maskedValue ?? ""));
  const origin = ORIGIN_LABELS[t.valueOrigin];
  if (origin) value.append(el("div", origin, { class: "muted small origin" }));
  const lastUsed = timeCell("last-used", relative(t.lastUsedTime, "never"), t.lastUsedTime);
  // During a rotation's grace period: the old value, until when it works, and its own last use.
  const previous = t.previousValue;
  if (previous) {
    value.append(el("div", `previous ${previous.maskedValue ?? ""} until ${when(previous.expireTime)}`, { class: "muted small previous" }));
    lastUsed.append(el("div", `previous value: ${relative(previous.lastUsedTime, "never")}`, { class: "muted small previous" }));
  }
  const expiry = timeCell("expiry", when(t.expireTime, "never"), t.expireTime);
  if (t.expireTime) {
    const past = Date.parse(t.expireTime) <= Date.now();
    expiry.append(el("div", past ? `expired ${relative(t.expireTime)}` : relative(t.expireTime), { class: "muted small" }));
    if (past) expiry.classList.add("off");
  }
  const creator = el("td", undefined, { class: "creator", "data-user-id": t.createdBy ?? "" });
  fillCreator(creator);

  const actions = el("td", undefined, { class: "actions" });
  // A refusal gets a line of its own under the row, across the table.
  const rowError = el("p", undefined, { class: "field-error", id: `row-${t.id}-error`, role: "alert" });
  const errorRow = el("tr", undefined, { class: "row-error" });
  errorRow.append(el("td", undefined, { colspan: "10" }));
  errorRow.firstElementChild?.append(rowError);
  /** A row action: its refusal is said in the row, next to the buttons. */
  const act = (fn) =>
    void (async () => {
      clearError();
      errorRow.remove();
      try {
        await fn();
      } catch (err) {
        const gone =
          err instanceof ApiError && err.code === "not_found" ? " It may have been deleted elsewhere: Refresh lists the tokens again." : "";
        rowError.textContent = `${plainError(err)}${gone}`;
        tr.after(errorRow);
      }
    })();
  const del = actionButton("Delete", name, () => {
    if (!confirm(`Delete ${name}? This cannot be undone.`)) return;
    act(async () => {
      await call("DeleteToken", { id: t.id });
      freshValues.delete(t.id);
      await loadTokens();
    });
  });
  const why = undeletable(t);
  if (why !== undefined) {
    del.disabled = true;
    del.title = why.title;
    del.setAttribute("aria-describedby", `row-${t.id}-why`);
  }
  actions.append(
    actionButton(t.enabled ? "Disable" : "Enable", name, () =>
      act(async () => {
        await call("SetTokenEnabled", { id: t.id, enabled: !t.enabled });
        await loadTokens();
      }),
    ),
    actionButton("Rotate", name, () => {
      const grace = /** @type {HTMLSelectElement} */ ($("rotate-grace"));
      const keep = grace.value === "" ? "" : (grace.selectedOptions[0]?.textContent ?? grace.value);
      const what = keep === "" ? "Its current value stops working at once." : `Its current value keeps working for ${keep}.`;
      if (!confirm(`Rotate ${name}? ${what}`)) return;
      act(async () => {
        const r = await call("RotateToken", grace.value === "" ? { id: t.id } : { id: t.id, gracePeriod: grace.value });
        if (r.value) freshValues.set(t.id, r.value);
        showSecret(`New value of ${name}:`, r.value ?? "", r.token ?? t);
        await loadTokens();
      });
    }),
    actionButton("Edit", name, () => editToken(tr, t)),
    del,
  );
  if (why !== undefined)
    actions.append(el("div", `Not deletable: ${why.short}`, { class: "muted small why", id: `row-${t.id}-why`, title: why.title }));
  tr.append(
    nameCell,
    el("td", kindLabel(t.kind), { class: "kind" }),
    el("td", permissionsText(t), { class: "permissions" }),
    value,
    el("td", enabledLabel(t), { class: t.enabled ? "enabled on" : "enabled off" }),
    timeCell("created", t.createTime ? new Date(t.createTime).toLocaleDateString() : "", t.createTime),
    creator,
    lastUsed,
    expiry,
    actions,
  );
  return tr;
}

/** The Edit form, in place of the description under the name: the description and the expiry (emptied: never expires). */
function editToken(tr, t) {
  const cell = tr.querySelector(".description");
  if (!cell || cell.querySelector("form")) return;
  const name = t.name ?? "";
  const form = el("form", undefined, { class: "edit", novalidate: "" });
  const errorKey = `edit-${t.id}`;
  const input = el("input", undefined, { id: `desc-${t.id}`, maxlength: "1024", "aria-describedby": `${errorKey}-desc-error` });
  input.value = t.description ?? "";
  const expiry = el("input", undefined, { id: `exp-${t.id}`, type: "datetime-local", "aria-describedby": `${errorKey}-exp-error` });
  const shownExpiry = localInput(t.expireTime);
  expiry.value = shownExpiry;
  const cancel = el("button", "Cancel", { type: "button" });
  cancel.addEventListener("click", () => cell.replaceChildren(document.createTextNode(t.description ?? "")));
  form.append(
    el("label", `Description of ${name}`, { for: input.id, class: "sr-only" }),
    input,
    el("p", undefined, { id: `${errorKey}-desc-error`, class: "field-error", hidden: "" }),
    el("label", `Expiry of ${name} (local time; empty: never)`, { for: expiry.id, class: "small" }),
    expiry,
    el("p", undefined, { id: `${errorKey}-exp-error`, class: "field-error", hidden: "" }),
    el("span", undefined, { class: "buttons" }),
  );
  form.lastElementChild?.append(el("button", "Save", { type: "submit" }), cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    void (async () => {
      try {
        // Only what changed: an untouched expiry is not rewritten (the input keeps minutes only).
        const req = { id: t.id };
        const paths = [];
        if (input.value !== (t.description ?? "")) {
          req.description = input.value;
          paths.push("description");
        }
        if (expiry.value !== shownExpiry) {
          if (expiry.value !== "") req.expireTime = fromLocalInput(expiry.value, `${errorKey}-exp`);
          paths.push("expireTime");
        }
        // The JSON form of a FieldMask: lowerCamelCase paths joined by commas.
        if (paths.length > 0) await call("UpdateToken", { ...req, updateMask: paths.join(",") });
        await loadTokens();
      } catch (err) {
        placeError(err, [[/description/i, `${errorKey}-desc`]], `${errorKey}-exp`);
      }
    })();
  });
  cell.replaceChildren(form);
  input.focus();
}

// ---- the create dialog ----------------------------------------------------------------------

/** The organization's buckets as last listed (the pickers offer them). */
let buckets = [];

/**
 * A bucket picker, as InfluxDB's token dialog has: a search box, the organization's buckets as
 * checkboxes, Select all (the ones the search shows) and Clear, and a count of the chosen ones.
 */
function bucketPicker(slot, key, title) {
  const wrap = el("div", undefined, { class: "picker", role: "group", "aria-labelledby": `${key}-title` });
  const head = el("div", undefined, { class: "picker-head" });
  const search = el("input", undefined, {
    type: "search",
    id: `${key}-search`,
    placeholder: "Search buckets",
    "aria-label": `Search buckets to ${title.toLowerCase()}`,
    spellcheck: "false",
  });
  const selectAll = el("button", "Select all", { type: "button", "aria-label": `Select all shown buckets to ${title.toLowerCase()}` });
  const clear = el("button", "Clear", { type: "button", "aria-label": `Clear buckets to ${title.toLowerCase()}` });
  head.append(el("span", title, { id: `${key}-title`, class: "picker-title" }), search, selectAll, clear);
  const ul = el("ul", undefined, { class: "picker-list" });
  const count = el("p", undefined, { class: "muted small picker-count", "aria-live": "polite" });
  const none = el("li", "No bucket matches.", { class: "muted small", hidden: "" });
  const boxes = buckets.map((b) => {
    const li = el("li", undefined, { "data-bucket": b.name ?? "" });
    const label = el("label");
    const box = el("input", undefined, { type: "checkbox", value: b.name ?? "", "aria-label": `${title}: ${b.name ?? ""}` });
    label.append(box, el("span", b.name ?? "", { class: "bucket-name" }));
    if (b.description) label.append(el("span", b.description, { class: "muted small" }));
    li.append(label);
    ul.append(li);
    return /** @type {HTMLInputElement} */ (box);
  });
  ul.append(none);
  const update = () => {
    const n = boxes.filter((b) => b.checked).length;
    count.textContent = buckets.length === 0 ? "This organization has no bucket yet." : `${n} of ${buckets.length} selected`;
  };
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    let seen = 0;
    for (const box of boxes) {
      const li = /** @type {HTMLElement} */ (box.closest("li"));
      li.hidden = q !== "" && !box.value.toLowerCase().includes(q);
      if (!li.hidden) seen++;
    }
    none.hidden = seen > 0 || buckets.length === 0;
  };
  search.addEventListener("input", filter);
  // Enter in the search box checks the only bucket it leaves, and never submits the dialog.
  search.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    const left = boxes.filter((b) => !(/** @type {HTMLElement} */ (b.closest("li")).hidden));
    if (left.length === 1 && left[0]) left[0].checked = true;
    update();
  });
  selectAll.addEventListener("click", () => {
    for (const box of boxes) if (!(/** @type {HTMLElement} */ (box.closest("li")).hidden)) box.checked = true;
    update();
  });
  clear.addEventListener("click", () => {
    for (const box of boxes) box.checked = false;
    update();
  });
  ul.addEventListener("change", update);
  wrap.append(head, ul, count);
  slot.replaceChildren(wrap);
  update();
  filter();
  return { selected: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

let pickers = { write: { selected: () => [] }, read: { selected: () => [] }, writeOnly: { selected: () => [] } };

const createForm = () => /** @type {HTMLFormElement} */ ($("create-token"));
const chosenKind = () => String(new FormData(createForm()).get("kind") ?? "TOKEN_KIND_INGESTION");

/** Shows the fields the chosen kind takes. */
function syncKindFields() {
  const form = createForm();
  const kind = chosenKind();
  for (const node of form.querySelectorAll("[data-kinds]")) {
    /** @type {HTMLElement} */ (node).hidden = !(node.getAttribute("data-kinds") ?? "").split(" ").includes(kind);
  }
  const some = new FormData(form).get("scope") === "some";
  $("ct-write-only").hidden = !some;
  const custom = /** @type {HTMLSelectElement} */ ($("ct-expires-in")).value === "custom";
  $("ct-expiry").hidden = !custom;
}

/** The presets a maximum lifetime allows, and the hint under the expiry. */
function syncExpiryChoices() {
  const max = org.maxTokenLifetime ? Number(String(org.maxTokenLifetime).slice(0, -1)) : 0;
  const select = /** @type {HTMLSelectElement} */ ($("ct-expires-in"));
  for (const opt of select.options) {
    const days = Number(opt.value);
    // With a maximum lifetime, "never" and the presets beyond it are not offered (a custom date
    // beyond it is refused by the server, and said under the field).
    opt.disabled = max > 0 && (opt.value === "" || (days > 0 && days * 86400 > max));
  }
  const allowed = [...select.options].filter((o) => !o.disabled);
  select.value = max > 0 ? (allowed.filter((o) => Number(o.value) > 0).pop()?.value ?? "custom") : "";
  $("ct-expiry-hint").textContent =
    max > 0
      ? `This organization's tokens must expire within ${duration(org.maxTokenLifetime, "")} of their creation.`
      : "Local time. The organization sets no maximum lifetime.";
}

function openCreateDialog() {
  const form = createForm();
  form.reset();
  clearFieldErrors(form);
  $("cd-org").textContent = `In ${org.identifier ?? "?"}${org.name && org.name !== org.identifier ? ` (${org.name})` : ""}`;
  $("ct-kind-verifier").hidden = caller.operator !== true;
  pickers = {
    writeOnly: bucketPicker($("ct-write-only"), "ct-pick-ingest", "Write"),
    read: bucketPicker($("ct-read-slot"), "ct-pick-read", "Read"),
    write: bucketPicker($("ct-write-slot"), "ct-pick-write", "Write"),
  };
  syncExpiryChoices();
  syncKindFields();
  /** @type {HTMLDialogElement} */ ($("create-dialog")).showModal();
  $("ct-name").focus();
}

const NAME_RE = /^[A-Za-z0-9_-]{1,256}$/;

/** The CreateToken request the dialog describes; mistakes found here are FieldErrors. */
function createTokenRequest() {
  const data = new FormData(createForm());
  const kind = chosenKind();
  const name = String(data.get("name") ?? "").trim();
  if (name === "") throw new FieldError("ct-name", "Give the token a name.");
  if (!NAME_RE.test(name)) throw new FieldError("ct-name", 'A name may hold only letters, digits, "_" and "-" (at most 256).');
  const req = { ...inOrg(), name, kind, description: String(data.get("description") ?? "") };
  const permissions = {};
  if (kind === "TOKEN_KIND_INGESTION") {
    const signals = data.getAll("signal").map(String);
    if (signals.length === 0) throw new FieldError("ct-signals", "Choose at least one signal it may write.");
    // All three checked: no filter, which also covers any signal added later.
    if (signals.length < ALL_SIGNALS.length) permissions.signals = signals;
    if (data.get("scope") === "some") {
      const chosen = pickers.writeOnly.selected();
      if (chosen.length === 0) throw new FieldError("ct-buckets", "Choose at least one bucket, or let it write to every bucket.");
      permissions.buckets = chosen;
    }
  } else if (kind === "TOKEN_KIND_READ_WRITE") {
    const reads = new Set(pickers.read.selected());
    const writes = new Set(pickers.write.selected());
    const names = [...new Set([...reads, ...writes])].sort();
    if (names.length === 0) throw new FieldError("ct-buckets", "Choose at least one bucket it may read or write.");
    permissions.bucketAccess = names.map((bucket) => ({ bucket, read: reads.has(bucket), write: writes.has(bucket) }));
  } else if (kind === "TOKEN_KIND_SHARED") {
    const dashboards = list(String(data.get("dashboards") ?? ""));
    if (dashboards.length === 0) throw new FieldError("ct-dashboards", "Name at least one dashboard it may view.");
    permissions.dashboards = dashboards;
  }
  if (Object.keys(permissions).length > 0) req.permissions = permissions;
  const expiresIn = String(data.get("expiresIn") ?? "");
  if (expiresIn === "custom") {
    const at = String(data.get("expiry") ?? "");
    if (at === "") throw new FieldError("ct-expiry", "Choose the date and time it expires.");
    req.expireTime = fromLocalInput(at, "ct-expiry");
  } else if (expiresIn !== "") {
    req.expireTime = new Date(Date.now() + Number(expiresIn) * 86_400_000).toISOString();
  } else if (kind === "TOKEN_KIND_SHARED") {
    throw new FieldError("ct-expiry", "A shared token needs an expiry: choose when it ends.");
  }
  return req;
}

/** Kinds bound to a user (the caller's, here): the owner must be a member of the organization. */
const USER_BOUND = ["TOKEN_KIND_ALL_ACCESS", "TOKEN_KIND_READ_WRITE"];

/** Where a refusal of CreateToken belongs in the dialog. */
const CREATE_FIELDS = [
  [/token named|token name|^name\b/i, "ct-name"],
  [/expire_time|expiry|must expire within|lifetime/i, "ct-expiry"],
  [/bucket/i, "ct-buckets"],
  [/signal/i, "ct-signals"],
  [/dashboard|filters/i, "ct-dashboards"],
  [/description/i, "ct-description"],
];

async function submitCreate() {
  const form = createForm();
  clearFieldErrors(form);
  const submit = /** @type {HTMLButtonElement} */ ($("ct-submit"));
  submit.disabled = true;
  try {
    const r = await call("CreateToken", createTokenRequest());
    /** @type {HTMLDialogElement} */ ($("create-dialog")).close();
    if (r.value && r.token?.id) freshValues.set(r.token.id, r.value);
    showSecret(`Value of new token ${r.token?.name ?? ""}:`, r.value ?? "", r.token);
    await attempt(loadTokens);
  } catch (err) {
    const kind = chosenKind();
    if (err instanceof ApiError && err.code === "not_found" && /\buser\b/.test(err.message) && USER_BOUND.includes(kind)) {
      // The owner is the signed-in token's user, who need not be a member of the organization shown.
      setFieldError(
        "ct",
        `Your user is not a member of ${org.identifier ?? "this organization"}, and ${kindLabel(kind)} tokens belong to a member ` +
          "and act with their role: make your user a member there first, or create an ingestion or shared token, which belong to the organization.",
      );
    } else placeError(err, CREATE_FIELDS, "ct");
  } finally {
    submit.disabled = false;
  }
}

// ---- buckets --------------------------------------------------------------------------------

async function loadBuckets() {
  const epoch = orgEpoch;
  const r = await call("ListBuckets", inOrg());
  if (epoch !== orgEpoch) return;
  buckets = r.buckets ?? [];
  $("buckets-body").replaceChildren(
    ...buckets.map((b) => {
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
 * says the refusal under the table if the admin declines.
 */
function deleteBucket(name) {
  if (!confirm(`Delete bucket ${name}?`)) return;
  const status = $("buckets-status");
  status.className = "muted";
  status.textContent = "";
  void (async () => {
    let r;
    try {
      try {
        r = await call("DeleteBucket", inOrg({ name }));
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== "failed_precondition") throw err;
        const ask =
          `${sentence(err.message)}\n\nDelete bucket ${name} anyway? Every token that names it loses it, ` +
          "and a token left with no bucket is deleted.";
        if (!confirm(ask)) throw err;
        r = await call("DeleteBucket", inOrg({ name, force: true }));
      }
    } catch (err) {
      status.className = "field-error";
      status.textContent = `Bucket ${name} was not deleted: ${plainError(err)}`;
      return;
    }
    const narrowed = r.narrowedTokenIds?.length ?? 0;
    const deleted = r.deletedTokenIds?.length ?? 0;
    status.textContent =
      narrowed + deleted === 0
        ? `Bucket ${name} deleted.`
        : `Bucket ${name} deleted; ${narrowed} token(s) no longer name it, ${deleted} token(s) deleted.`;
    await attempt(() => Promise.all([loadBuckets(), loadTokens()]));
  })();
}

const BUCKET_FIELDS = [
  [/description/i, "cb-description"],
  [/name/i, "cb-name"],
];

// ---- ingestion snippets ---------------------------------------------------------------------

/** The organization's enabled ingestion tokens, as last listed for the Ingestion tab. */
let ingestTokens = [];
/** The token the tab's snippets are for, and whether the admin asked to put its fresh value in them. */
let ingestChoice = "";
let ingestFilled = false;
let ingestListing = 0;

async function loadIngestTokens(pick = "") {
  const mine = ++ingestListing;
  const read = [];
  let pageToken = "";
  do {
    const r = await call("ListTokens", inOrg({ kind: "TOKEN_KIND_INGESTION", enabled: true, pageSize: 1000, pageToken }));
    if (mine !== ingestListing) return;
    read.push(...(r.tokens ?? []));
    pageToken = r.nextPageToken ?? "";
  } while (pageToken !== "" && read.length < MAX_LISTED);
  ingestTokens = read;
  const select = /** @type {HTMLSelectElement} */ ($("ig-token"));
  select.replaceChildren(
    ...read.map((t) =>
      el("option", `${t.name ?? ""} — ${permissionsText(t)}${freshValues.has(t.id) ? " — value made here" : ""}`, { value: t.id }),
    ),
  );
  const wanted = [pick, ingestChoice].find((id) => id && read.some((t) => t.id === id)) ?? read[0]?.id ?? "";
  if (wanted !== ingestChoice) ingestFilled = false;
  ingestChoice = wanted;
  select.value = wanted;
  const none = $("ingest-none");
  none.textContent =
    read.length === 0 ? `${org.identifier ?? "This organization"} has no enabled ingestion token: create one under Tokens.` : "";
  none.hidden = read.length > 0;
  $("ingest-form").hidden = read.length === 0;
  renderSnippets();
}

/** The Collector's own syntax for an environment variable in its configuration. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: not a template: the Collector expands it.
const COLLECTOR_ENV = "${env:TESSERA_TOKEN}";

/** POSIX shell single quotes. */
const sq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
/** A YAML double-quoted scalar (JSON's string syntax is YAML's). */
const yq = (s) => JSON.stringify(String(s));

/** The edge's address the admin gave (this page's origin by default), without a trailing slash. */
function ingestBase() {
  const typed = /** @type {HTMLInputElement} */ ($("ig-endpoint")).value.trim();
  return (typed === "" ? location.origin : typed).replace(/\/+$/, "");
}

/** The snippets' text for token `t`: curl per allowed signal, the Collector's exporter, Prometheus' remote_write. */
function snippetTexts(t, { base, basic, bucket, value }) {
  const ident = org.identifier ?? "";
  const signals = signalsOf(t);
  const restricted = (t.permissions?.buckets?.length ?? 0) > 0;
  const auth = value
    ? basic
      ? `-u ${sq(`${ident}:${value}`)}`
      : `-H ${sq(`Authorization: Bearer ${value}`)}`
    : basic
      ? `-u "${ident}:$TESSERA_TOKEN"`
      : '-H "Authorization: Bearer $TESSERA_TOKEN"';
  const now = `${Date.now()}000000`;
  const resource = '{"attributes":[{"key":"service.name","value":{"stringValue":"curl"}}]}';
  const curl = [];
  if (!value) curl.push("export TESSERA_TOKEN='…'   # the value you copied when the token was created or rotated", "");
  const head = curl.length;
  if (signals.includes("SIGNAL_LOGS")) {
    if (restricted) {
      curl.push(
        `# Logs as JSON records into bucket ${bucket} (the OpenObserve route, which names the bucket)`,
        `curl -sS -X POST ${sq(`${base}/api/${ident}/${bucket}/_json`)} \\`,
        `  ${auth} \\`,
        "  -H 'Content-Type: application/json' \\",
        `  -d ${sq('[{"level":"info","message":"hello from curl"}]')}`,
      );
    } else {
      const body = `{"resourceLogs":[{"resource":${resource},"scopeLogs":[{"logRecords":[{"timeUnixNano":"${now}","severityText":"INFO","body":{"stringValue":"hello from curl"}}]}]}]}`;
      curl.push(
        "# Logs (OTLP over HTTP, JSON)",
        `curl -sS -X POST ${sq(`${base}/v1/logs`)} \\`,
        `  ${auth} \\`,
        "  -H 'Content-Type: application/json' \\",
        `  -d ${sq(body)}`,
      );
    }
  }
  if (signals.includes("SIGNAL_METRICS") && bucket !== "") {
    if (curl.length > head) curl.push("");
    curl.push(
      `# Metrics (InfluxDB line protocol) into bucket ${bucket}`,
      `curl -sS -X POST ${sq(`${base}/api/v2/write?org=${encodeURIComponent(ident)}&bucket=${encodeURIComponent(bucket)}&precision=s`)} \\`,
      `  ${auth} \\`,
      `  --data-binary ${sq("cpu,host=example usage=0.5")}`,
    );
  }
  if (signals.includes("SIGNAL_TRACES") && !restricted) {
    if (curl.length > head) curl.push("");
    const span = `{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"hello","kind":1,"startTimeUnixNano":"${now}","endTimeUnixNano":"${now}"}`;
    curl.push(
      "# Traces (OTLP over HTTP, JSON)",
      `curl -sS -X POST ${sq(`${base}/v1/traces`)} \\`,
      `  ${auth} \\`,
      "  -H 'Content-Type: application/json' \\",
      `  -d ${sq(`{"resourceSpans":[{"resource":${resource},"scopeSpans":[{"spans":[${span}]}]}]}`)}`,
    );
  }

  const pipelines = signals.map((s) => ({ SIGNAL_LOGS: "logs", SIGNAL_METRICS: "metrics", SIGNAL_TRACES: "traces" })[s]).filter(Boolean);
  const secret = value ? yq(value) : yq(COLLECTOR_ENV);
  const otel = ["receivers:", "  otlp:", "    protocols:", "      grpc: {}", "      http: {}", ""];
  if (basic)
    otel.push("extensions:", "  basicauth/tessera:", "    client_auth:", `      username: ${yq(ident)}`, `      password: ${secret}`, "");
  otel.push("exporters:", "  otlphttp/tessera:", `    endpoint: ${yq(base)}   # sends to /v1/logs, /v1/metrics, /v1/traces`);
  if (basic) otel.push("    auth:", "      authenticator: basicauth/tessera");
  else otel.push("    headers:", `      Authorization: ${yq(`Bearer ${value || COLLECTOR_ENV}`)}`);
  otel.push("", "service:");
  if (basic) otel.push("  extensions: [basicauth/tessera]");
  otel.push("  pipelines:");
  for (const p of pipelines) otel.push(`    ${p}:`, "      receivers: [otlp]", "      exporters: [otlphttp/tessera]");

  const prom = ["remote_write:", `  - url: ${yq(`${base}/api/v1/write`)}`];
  if (basic) {
    prom.push("    basic_auth:", `      username: ${yq(ident)}`);
    prom.push(
      value ? `      password: ${yq(value)}` : "      password_file: /etc/prometheus/tessera-token   # the token value, alone in the file",
    );
  } else {
    prom.push("    authorization:", "      type: Bearer");
    prom.push(
      value
        ? `      credentials: ${yq(value)}`
        : "      credentials_file: /etc/prometheus/tessera-token   # the token value, alone in the file",
    );
  }
  return { curl: curl.join("\n"), otel: otel.join("\n"), prometheus: prom.join("\n"), metrics: signals.includes("SIGNAL_METRICS") };
}

/** One snippet: a heading, what it is for, the text and a Copy button. */
function snippetBox(key, title, about, text) {
  const box = el("section", undefined, { class: "snippet", "aria-labelledby": `snippet-${key}-title` });
  box.append(el("h3", title, { id: `snippet-${key}-title` }), el("p", about, { class: "muted small" }));
  if (text === "") return box;
  const pre = el("pre");
  const code = el("code", text, { id: `snippet-${key}`, tabindex: "0" });
  pre.append(code);
  const status = el("span", "", { class: "muted", "aria-live": "polite" });
  const copy = el("button", "Copy", { type: "button", "aria-label": `Copy the ${title} snippet` });
  copy.addEventListener("click", () => void copyText(code.textContent ?? "", code, status));
  const actions = el("div", undefined, { class: "actions" });
  actions.append(copy, status);
  box.append(pre, actions);
  return box;
}

function renderSnippets() {
  const t = ingestTokens.find((x) => x.id === ingestChoice);
  const out = $("ingest-snippets");
  const valueBox = $("ingest-value");
  if (t === undefined) {
    out.replaceChildren();
    valueBox.replaceChildren();
    valueBox.hidden = true;
    $("ingest-grants").textContent = "";
    $("ingest-route").hidden = true;
    return;
  }
  const data = new FormData(/** @type {HTMLFormElement} */ ($("ingest-form")));
  const restricted = t.permissions?.buckets ?? [];
  // The bucket for the routes that name one: the token's own, or (any bucket allowed) one of the organization's.
  const choices = restricted.length > 0 ? restricted : buckets.map((b) => b.name ?? "");
  const bucketSelect = /** @type {HTMLSelectElement} */ ($("ig-bucket"));
  const keep = String(data.get("bucket") ?? "");
  bucketSelect.replaceChildren(...choices.map((b) => el("option", b, { value: b })));
  bucketSelect.value = choices.includes(keep) ? keep : (choices[0] ?? "");
  $("ig-bucket-field").hidden = choices.length === 0;
  const bucket = bucketSelect.value;
  const basic = data.get("auth") === "basic";
  const fresh = freshValues.get(t.id) ?? "";
  const value = ingestFilled && fresh !== "" ? fresh : "";

  $("ingest-grants").textContent = `${t.name ?? ""} (${t.maskedValue ?? ""}) may ${permissionsText(t)}.`;
  const route = $("ingest-route");
  route.textContent =
    restricted.length > 0
      ? `${t.name ?? "This token"} may write only to named buckets, and OTLP and remote_write requests name no bucket: ` +
        "for them the edge's route must name one (Envoy's context_extensions bucket=…, /forward-auth?endpoint=ingest&bucket=…, " +
        "or a rule in TESSERA_INGESTION_ROUTES_FILE), or Tessera refuses them (403 FORBIDDEN)."
      : "";
  route.hidden = restricted.length === 0;

  valueBox.replaceChildren();
  if (fresh === "") {
    valueBox.append(
      el(
        "p",
        "Token values are shown only once and never stored, so the snippets read the value from $TESSERA_TOKEN " +
          "(or a file): put the value you copied there. Lost it? Rotate the token (under Tokens) to get a new one.",
      ),
    );
  } else {
    const p = el(
      "p",
      value
        ? `The snippets hold ${t.name}'s value, made in this tab: treat them as secrets.`
        : `${t.name}'s value was made in this tab, so it can go in the snippets instead of $TESSERA_TOKEN.`,
    );
    const b = el("button", value ? "Use the placeholder again" : "Fill in the value", { type: "button", id: "ingest-fill" });
    b.addEventListener("click", () => {
      ingestFilled = !ingestFilled;
      renderSnippets();
    });
    const forget = el("button", "Forget the value", { type: "button", id: "ingest-forget" });
    forget.addEventListener("click", () => {
      freshValues.delete(t.id);
      ingestFilled = false;
      void attempt(() => loadIngestTokens());
    });
    const actions = el("div", undefined, { class: "actions" });
    actions.append(b, forget);
    valueBox.append(p, actions);
  }
  valueBox.hidden = false;

  const s = snippetTexts(t, { base: ingestBase(), basic, bucket, value });
  const how = basic
    ? `Basic credentials: the organization identifier (${org.identifier ?? ""}) as user name, the token as password.`
    : "The token as a Bearer credential in Authorization.";
  out.replaceChildren(
    snippetBox("curl", "curl", `Sends a test record for each signal the token may write. ${how}`, s.curl),
    snippetBox(
      "otel",
      "OpenTelemetry Collector",
      "An otlphttp exporter for the signals the token may write; add your own receivers and processors.",
      s.otel,
    ),
    s.metrics
      ? snippetBox(
          "prometheus",
          "Prometheus remote_write",
          value
            ? "Add to prometheus.yml (it then holds the value: keep the file private)."
            : "Add to prometheus.yml; Prometheus reads the value from the file.",
          s.prometheus,
        )
      : snippetBox("prometheus", "Prometheus remote_write", `${t.name ?? "This token"} may not write metrics: pick a token that may.`, ""),
  );
}

// ---- tabs -----------------------------------------------------------------------------------

const TABS = ["tab-manage", "tab-audit", "tab-ingest"];

/** Shows one tab's panel; opening the audit tab reads the trail's newest entries again, the ingestion tab its tokens. */
function selectTab(id, focus = false, pick = "") {
  for (const tab of TABS) {
    const selected = tab === id;
    const t = $(tab);
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute("aria-controls") ?? "").hidden = !selected;
    if (selected && focus) t.focus();
  }
  if (id === "tab-audit") void loadAudit();
  if (id === "tab-ingest") void attempt(() => loadIngestTokens(pick));
}

const selectedTab = () => TABS.find((t) => $(t).getAttribute("aria-selected") === "true") ?? TABS[0];

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

/** The trail the form names: "" for the shown organization's, or the instance's (operators). */
const auditTrail = () => /** @type {HTMLSelectElement} */ ($("af-trail")).value;

/** ListAuditEvents' fields from the filter form; the time range counts back from now. */
function auditFilters() {
  const data = new FormData(/** @type {HTMLFormElement} */ ($("audit-filters")));
  const f = {};
  // "": the organization the switcher shows (the caller's own unless it picked another).
  const trail = String(data.get("trail") ?? "");
  if (trail !== "" || orgId !== "") f.organizationId = trail || orgId;
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
    r = await call("VerifyAuditLog", trail === "" ? inOrg() : { organizationId: trail });
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

/** Loads everything shown for the selected organization. */
async function loadSelected() {
  await loadOrganization();
  await attempt(() => Promise.all([loadTokens(), loadBuckets(), loadMembers()]));
}

/** The switcher's change: the page shows another organization, from its tokens to its trail. */
async function switchOrganization(id) {
  if (id === orgId || !orgById(id)) return;
  orgId = id;
  ++orgEpoch;
  sessionStorage.setItem(ORG_KEY, id);
  dismissSecret();
  clearError();
  $("buckets-status").textContent = "";
  $("eo-saved").textContent = "";
  clearFieldErrors($("edit-org"));
  clearFieldErrors($("create-bucket"));
  tokens = [];
  buckets = [];
  ingestTokens = [];
  ingestChoice = "";
  ingestFilled = false;
  for (const b of ["tokens-body", "buckets-body", "members-body", "ingest-snippets"]) $(b).replaceChildren();
  resetAudit();
  renderSwitcher();
  await attempt(loadSelected);
  const tab = selectedTab();
  if (tab === "tab-audit") void loadAudit();
  if (tab === "tab-ingest") void attempt(() => loadIngestTokens());
}

/** Shows the console for the stored token; a token the server refuses is forgotten at once. */
async function enter() {
  clearError();
  setFieldError("signin-token", "");
  try {
    const { caller: w = {} } = await call("GetCaller", {});
    caller = w;
    if (w.owner?.id && w.owner.name) userNames.set(w.owner.id, w.owner.name);
    try {
      await loadOrganizations();
    } catch {
      orgs = []; // a token that may not list organizations still manages its own
    }
    const kept = sessionStorage.getItem(ORG_KEY) ?? "";
    orgId = kept !== "" && orgById(kept) ? kept : (w.organizationId ?? "");
    if (!orgById(orgId)) orgs = [...orgs, { id: orgId, identifier: w.organizationIdentifier ?? "", depth: 0, enabled: true }];
    ++orgEpoch;
    await loadOrganization();
  } catch (err) {
    signOut();
    const refused = err instanceof ApiError && err.code === "unauthenticated";
    setFieldError("signin-token", refused ? `This token was not accepted: ${sentence(plainWords(err.message))}` : plainError(err));
    return;
  }
  renderWhoami();
  renderSwitcher();
  $("signin").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  // Only operators read other trails than their organization's: the instance's own.
  $("af-trail-field").hidden = caller.operator !== true;
  await attempt(() => Promise.all([loadTokens(), loadBuckets(), loadMembers()]));
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ORG_KEY);
  const dialog = /** @type {HTMLDialogElement} */ ($("create-dialog"));
  if (dialog.open) dialog.close();
  dismissSecret();
  clearError();
  nextMembersToken = "";
  org = {};
  caller = {};
  orgs = [];
  orgId = "";
  ++orgEpoch;
  ++listing;
  tokens = [];
  buckets = [];
  sortKey = "";
  sortDir = 1;
  freshValues.clear();
  userNames.clear();
  ingestTokens = [];
  ingestChoice = "";
  ingestFilled = false;
  resetAudit();
  selectTab("tab-manage");
  for (const id of ["tokens-body", "buckets-body", "members-body", "ingest-snippets", "org-switch", "ingest-value"])
    $(id).replaceChildren();
  for (const id of ["org-name", "org-identifier", "org-id", "org-parent", "org-enabled", "org-created", "org-passcode", "whoami"])
    $(id).textContent = "";
  for (const id of ["buckets-status", "tokens-count", "eo-saved", "ingest-grants", "viewing"]) $(id).textContent = "";
  $("viewing").hidden = true;
  $("org-switcher").hidden = true;
  $("tokens-more").hidden = true;
  $("tokens-empty").hidden = true;
  const forms = ["create-token", "create-bucket", "edit-org", "token-filters", "audit-filters", "ingest-form"];
  for (const id of forms) {
    /** @type {HTMLFormElement} */ ($(id)).reset();
    clearFieldErrors($(id));
  }
  /** @type {HTMLInputElement} */ ($("ig-endpoint")).value = location.origin;
  syncKindFields();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  $("signin-token").focus();
}

/** A form's submit, with the page's own handling (no navigation). */
function onSubmit(id, fn) {
  $(id).addEventListener("submit", (e) => {
    e.preventDefault();
    fn(/** @type {HTMLFormElement} */ (e.currentTarget));
  });
}

function init() {
  $("alert-dismiss").addEventListener("click", clearError);
  $("secret-dismiss").addEventListener("click", dismissSecret);
  $("secret-copy").addEventListener(
    "click",
    () => void copyText($("secret-value").textContent ?? "", $("secret-value"), $("secret-copied")),
  );
  $("secret-ingest").addEventListener("click", () => selectTab("tab-ingest", true, secretTokenId));
  $("sign-out").addEventListener("click", signOut);
  $("org-switch").addEventListener("change", (e) => void switchOrganization(/** @type {HTMLSelectElement} */ (e.target).value));
  $("tokens-more").addEventListener("click", () => {
    shown += PAGE;
    renderTokens();
  });
  $("members-more").addEventListener("click", () => void attempt(() => loadMembers(true)));

  // Kind and state are asked of the server; the search and the sort work on what it answered.
  const filters = $("token-filters");
  filters.addEventListener("submit", (e) => e.preventDefault());
  filters.addEventListener("change", (e) => {
    const id = /** @type {HTMLElement} */ (e.target).id;
    if (id === "tf-kind" || id === "tf-state") void attempt(loadTokens);
  });
  $("tf-search").addEventListener("input", () => {
    shown = PAGE;
    renderTokens();
  });
  for (const th of $("tokens").querySelectorAll("th[data-sort]")) {
    th.querySelector("button")?.addEventListener("click", () => sortBy(th.getAttribute("data-sort") ?? ""));
  }

  $("new-token").addEventListener("click", openCreateDialog);
  $("tokens-refresh").addEventListener("click", () => void attempt(loadTokens));
  $("ct-cancel").addEventListener("click", () => /** @type {HTMLDialogElement} */ ($("create-dialog")).close());
  createForm().addEventListener("change", (e) => {
    const target = /** @type {HTMLInputElement} */ (e.target);
    // A shared token must expire: picking the kind picks an expiry it can have.
    const expires = /** @type {HTMLSelectElement} */ ($("ct-expires-in"));
    if (target.name === "kind" && target.value === "TOKEN_KIND_SHARED" && expires.value === "") {
      expires.value = [...expires.options].find((o) => o.value === "30" && !o.disabled)?.value ?? "custom";
    }
    syncKindFields();
  });
  onSubmit("create-token", () => void submitCreate());
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

  /** @type {HTMLInputElement} */ ($("ig-endpoint")).value = location.origin;
  const ingestForm = $("ingest-form");
  ingestForm.addEventListener("submit", (e) => e.preventDefault());
  ingestForm.addEventListener("input", (e) => {
    if (/** @type {HTMLElement} */ (e.target).id === "ig-endpoint") renderSnippets();
  });
  ingestForm.addEventListener("change", (e) => {
    const target = /** @type {HTMLSelectElement} */ (e.target);
    if (target.id === "ig-token") {
      ingestChoice = target.value;
      ingestFilled = false;
    }
    renderSnippets();
  });

  onSubmit("signin-form", () => {
    const input = /** @type {HTMLInputElement} */ ($("signin-token"));
    const token = input.value.trim();
    input.value = "";
    if (token === "") {
      setFieldError("signin-token", "Paste a token to sign in.");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    void enter();
  });

  onSubmit("edit-org", (form) => {
    clearFieldErrors(form);
    $("eo-saved").textContent = "";
    void (async () => {
      try {
        const req = updateOrganizationRequest(form);
        if (req !== undefined) await call("UpdateOrganization", req);
        await loadOrganization();
        await loadOrganizations().then(renderSwitcher, () => undefined);
        $("eo-saved").textContent = req === undefined ? "Nothing changed." : "Saved.";
      } catch (err) {
        placeError(err, ORG_FIELDS, "eo");
      }
    })();
  });

  onSubmit("create-bucket", (form) => {
    clearFieldErrors(form);
    const data = new FormData(form);
    const name = String(data.get("name") ?? "").trim();
    void (async () => {
      try {
        if (name === "") throw new FieldError("cb-name", "Give the bucket a name.");
        await call("CreateBucket", inOrg({ name, description: String(data.get("description") ?? "") }));
        form.reset();
        await loadBuckets();
      } catch (err) {
        placeError(err, BUCKET_FIELDS, "cb");
      }
    })();
  });

  if (sessionStorage.getItem(TOKEN_KEY)) void enter();
}

init();
