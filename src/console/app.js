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

async function loadOrganization() {
  const { organization: o = {} } = await call("GetOrganization", {});
  $("org-name").textContent = o.name ?? "";
  $("org-identifier").textContent = o.identifier ?? "";
  $("org-id").textContent = o.id ?? "";
  $("org-enabled").textContent = o.enabled ? "yes" : "no";
  $("org-created").textContent = when(o.createTime);
  $("org-policies").textContent =
    `maximum lifetime ${duration(o.maxTokenLifetime, "none")}; disabled after ${duration(o.tokenIdleLimit, "never")} unused`;
  $("whoami").textContent = `Signed in to ${o.identifier ?? "?"}`;
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

// ---- tokens ---------------------------------------------------------------------------------

let nextPageToken = "";

async function loadTokens(more = false) {
  const r = await call("ListTokens", { pageSize: 50, pageToken: more ? nextPageToken : "" });
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
    el("td", t.enabled ? "yes" : t.disabledReason === "TOKEN_DISABLED_REASON_IDLE" ? "no (idle)" : "no", {
      class: t.enabled ? "on" : "off",
    }),
    el("td", t.description ?? "", { class: "description" }),
    el("td", when(t.createTime)),
    el("td", when(t.lastUsedTime, "never")),
  );
  tr.children[2].append(el("code", t.maskedValue ?? ""));
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
    actionButton("Edit", name, () => editDescription(tr, t)),
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

function editDescription(tr, t) {
  const cell = tr.querySelector("td.description");
  if (!cell || cell.querySelector("form")) return;
  const form = el("form", undefined, { class: "inline" });
  const id = `desc-${t.id}`;
  const input = el("input", undefined, { id, maxlength: "1024" });
  input.value = t.description ?? "";
  form.append(
    el("label", `Description of ${t.name ?? ""}`, { for: id, class: "sr-only" }),
    input,
    el("button", "Save", { type: "submit" }),
  );
  const cancel = el("button", "Cancel", { type: "button" });
  cancel.addEventListener("click", () => cell.replaceChildren(document.createTextNode(t.description ?? "")));
  form.append(cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void attempt(async () => {
      await call("UpdateToken", { id: t.id, description: input.value });
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
  if (expiry !== "") {
    const d = new Date(expiry); // datetime-local: the browser's local time
    if (Number.isNaN(d.getTime())) throw new ApiError("invalid_argument", "The expiry is not a valid date and time.");
    req.expireTime = d.toISOString();
  }
  return req;
}

// ---- buckets --------------------------------------------------------------------------------

async function loadBuckets() {
  const r = await call("ListBuckets", {});
  $("buckets-body").replaceChildren(
    ...(r.buckets ?? []).map((b) => {
      const tr = el("tr", undefined, { "data-bucket-name": b.name ?? "" });
      tr.append(el("td", b.name ?? ""), el("td", b.description ?? ""), el("td", when(b.createTime)));
      return tr;
    }),
  );
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
  await attempt(() => Promise.all([loadTokens(), loadBuckets()]));
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  dismissSecret();
  clearError();
  nextPageToken = "";
  for (const id of ["tokens-body", "buckets-body"]) $(id).replaceChildren();
  for (const id of ["org-name", "org-identifier", "org-id", "org-enabled", "org-created", "org-passcode", "whoami"]) $(id).textContent = "";
  /** @type {HTMLFormElement} */ ($("create-token")).reset();
  /** @type {HTMLFormElement} */ ($("create-bucket")).reset();
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
