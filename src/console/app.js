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
  try {
    const { caller: w = {} } = await call("GetCaller", {});
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
  await attempt(() => Promise.all([loadTokens(), loadBuckets(), loadMembers()]));
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  dismissSecret();
  clearError();
  nextPageToken = "";
  nextMembersToken = "";
  org = {};
  for (const id of ["tokens-body", "buckets-body", "members-body"]) $(id).replaceChildren();
  for (const id of ["org-name", "org-identifier", "org-id", "org-enabled", "org-created", "org-passcode", "whoami", "buckets-status"])
    $(id).textContent = "";
  for (const id of ["create-token", "create-bucket", "edit-org", "token-filters"]) /** @type {HTMLFormElement} */ ($(id)).reset();
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
