/**
 * Reads a manifest (`tessera.yaml`) into the desired state, or into every problem it has: YAML
 * syntax, unknown fields, wrong types, bad names, duplicates, references that do not resolve
 * inside the file, tokens whose owner is not a member or would exceed the member's role, and
 * value sources that cannot be read or hold no acceptable value. Each problem has the path of
 * what is wrong (`organizations[2].tokens[0].permissions.buckets[1]`) and its line:column.
 *
 * Pure: the environment and value files come in through `ValueInputs`, the clock as `now`.
 * What only the server can answer (does a bucket or parent organization the file does not
 * declare exist there?) is left to the plan (plan.ts), which has the server's state.
 */
import { roleAtLeast } from "../decide.js";
import type { RoleName } from "../model.js";
import { validateBucketName, validateDescription, validateDisplayName, validateOrgIdentifier, validateUserName } from "../names.js";
import type { DesiredBucket, DesiredMember, DesiredOrganization, DesiredState, DesiredUser, Pos, Problem } from "./desired.js";
import { check, readToken, type TokenContext, type ValueInputs } from "./read-token.js";
import { Tree, join, type Value } from "./yaml-tree.js";

export interface ManifestInputs extends ValueInputs {
  /** The clock, for expiry times that must lie ahead. */
  now: number;
  /** `--values-out`, which wins over the file's `values_out`. */
  valuesOut?: string;
}

export type ReadResult = { ok: true; desired: DesiredState } | { ok: false; problems: Problem[] };

/** The manifest format this code reads; a later format gets a new number. */
const VERSION = 1;

const ROLE_NAMES: Readonly<Record<string, RoleName>> = { viewer: "VIEWER", editor: "EDITOR", admin: "ADMIN" };

const ORG_FIELDS = ["identifier", "name", "parent", "parent_access", "buckets", "members", "tokens", "organizations"] as const;

export function readManifest(text: string, inputs: ManifestInputs): ReadResult {
  const tree = Tree.parse(text);
  if (tree.failed) return { ok: false, problems: sorted(tree.problems) };
  if (tree.root === null) {
    tree.problem("", { line: 1, col: 1 }, `the manifest is empty: it starts with version: ${VERSION}`);
    return { ok: false, problems: tree.problems };
  }
  const top = tree.mapping("", tree.root, ["version", "values_out", "users", "organizations"], "the manifest");
  if (top === undefined) return { ok: false, problems: tree.problems };
  const rootPos = tree.posOf(tree.root);
  const field = (name: string) => {
    const e = top.get(name);
    return e === undefined ? undefined : { path: name, node: tree.at(name, e.node, e.pos) };
  };

  const version = field("version");
  if (version === undefined) tree.problem("version", rootPos, `is required: version: ${VERSION}`);
  else {
    const v = tree.integer(version.path, version.node);
    if (v !== undefined && v !== VERSION)
      tree.problem("version", tree.posOr(version.node, "version"), `must be ${VERSION}: the only version this Tessera reads`);
  }

  let valuesOut: DesiredState["valuesOut"];
  const vo = field("values_out");
  if (vo !== undefined) {
    const v = tree.string(vo.path, vo.node);
    if (v === "") tree.problem(vo.path, tree.posOr(vo.node, vo.path), "must name a file (relative to the manifest)");
    else if (v !== undefined) valuesOut = { file: v, source: "manifest" };
  }
  if (inputs.valuesOut !== undefined) valuesOut = { file: inputs.valuesOut, source: "flag" };

  const users: DesiredUser[] = [];
  const usersF = field("users");
  if (usersF !== undefined) {
    tree.sequence("users", usersF.node, "users: a list of name and root")?.forEach((raw, i) => {
      const u = readUser(tree, join("users", i), tree.at(join("users", i), raw, rootPos));
      if (u !== undefined) users.push(u);
    });
  }

  const organizations: DesiredOrganization[] = [];
  const orgsF = field("organizations");
  const ctx: TokenContext = { tree, inputs, now: inputs.now, seenValues: new Map() };
  if (orgsF !== undefined) readOrganizations(ctx, "organizations", orgsF.node, null, organizations);

  // A document that expands aliases without end is refused as a whole: what was read of it is noise.
  if (tree.aliasLimit !== undefined) return { ok: false, problems: [tree.aliasLimit] };
  checkReferences(tree, users, organizations, valuesOut);
  if (tree.failed) return { ok: false, problems: sorted(tree.problems) };
  return { ok: true, desired: { users, organizations: parentsFirst(organizations), valuesOut, positions: tree.positions } };
}

function readUser(tree: Tree, path: string, node: Value): DesiredUser | undefined {
  const f = tree.mapping(path, node, ["name", "root"], "a user: name, root");
  if (f === undefined) return undefined;
  let ok = true;
  const n = f.get("name");
  let name: string | undefined;
  if (n === undefined) {
    tree.problem(join(path, "name"), tree.posOr(node, path), "is required (the user's name)");
    ok = false;
  } else {
    const np = join(path, "name");
    const nn = tree.at(np, n.node, n.pos);
    name = tree.string(np, nn);
    if (name === undefined || !check(tree, np, nn, () => validateUserName(name!))) ok = false;
  }
  let root = false;
  const r = f.get("root");
  if (r !== undefined) {
    const rp = join(path, "root");
    const v = tree.boolean(rp, tree.at(rp, r.node, r.pos));
    if (v === undefined) ok = false;
    else root = v;
  }
  return ok && name !== undefined ? { path, name, root } : undefined;
}

/** Reads a list of organizations; nested lists are sub-organizations of `parent`. */
function readOrganizations(ctx: TokenContext, path: string, node: Value, parent: string | null, out: DesiredOrganization[]): void {
  const { tree } = ctx;
  const items = tree.sequence(path, node, "organizations: a list of organizations");
  items?.forEach((raw, i) => {
    const p = join(path, i);
    readOrganization(ctx, p, tree.at(p, raw, tree.posOr(node, path)), parent, out);
  });
}

function readOrganization(ctx: TokenContext, path: string, node: Value, nestedIn: string | null, out: DesiredOrganization[]): void {
  const { tree } = ctx;
  const f = tree.mapping(path, node, ORG_FIELDS, "an organization");
  if (f === undefined) return;
  const at = tree.posOr(node, path);
  const field = (name: string) => {
    const e = f.get(name);
    return e === undefined ? undefined : { path: join(path, name), node: tree.at(join(path, name), e.node, e.pos) };
  };
  let ok = true;

  let identifier: string | undefined;
  const idF = field("identifier");
  if (idF === undefined) {
    tree.problem(join(path, "identifier"), at, "is required (the organization's identifier)");
    ok = false;
  } else {
    identifier = tree.string(idF.path, idF.node);
    if (identifier === undefined || !check(tree, idF.path, idF.node, () => validateOrgIdentifier(identifier!))) ok = false;
  }

  let name = identifier ?? "";
  const nameF = field("name");
  if (nameF !== undefined) {
    const n = tree.string(nameF.path, nameF.node);
    if (n === undefined || !check(tree, nameF.path, nameF.node, () => validateDisplayName(n, "name"))) ok = false;
    else name = n;
  }

  let parent = nestedIn;
  const parentF = field("parent");
  if (parentF !== undefined) {
    const v = tree.string(parentF.path, parentF.node);
    if (nestedIn !== null) {
      tree.problem(
        parentF.path,
        tree.posOr(parentF.node, parentF.path),
        "a nested organization's parent is the one it is nested in: leave parent out",
      );
      ok = false;
    } else if (v === undefined || !check(tree, parentF.path, parentF.node, () => validateOrgIdentifier(v))) ok = false;
    else if (v === identifier) {
      tree.problem(parentF.path, tree.posOr(parentF.node, parentF.path), "an organization cannot be its own parent");
      ok = false;
    } else parent = v;
  }

  let parentAccess = true;
  const paF = field("parent_access");
  if (paF !== undefined) {
    const v = tree.boolean(paF.path, paF.node);
    if (v === undefined) ok = false;
    else if (nestedIn === null && parentF === undefined) {
      tree.problem(paF.path, tree.posOr(paF.node, paF.path), "applies only to sub-organizations (nested, or with a parent)");
      ok = false;
    } else parentAccess = v;
  }

  const buckets: DesiredBucket[] = [];
  const bF = field("buckets");
  if (bF !== undefined) {
    (tree.sequence(bF.path, bF.node, "buckets: a list of name and description") ?? []).forEach((raw, i) => {
      const p = join(bF.path, i);
      const b = readBucket(tree, p, tree.at(p, raw, tree.posOr(bF.node, bF.path)));
      if (b !== undefined) buckets.push(b);
    });
  }

  const members: DesiredMember[] = [];
  const mF = field("members");
  if (mF !== undefined) {
    (tree.sequence(mF.path, mF.node, "members: a list of user and role") ?? []).forEach((raw, i) => {
      const p = join(mF.path, i);
      const m = readMember(tree, p, tree.at(p, raw, tree.posOr(mF.node, mF.path)));
      if (m !== undefined) members.push(m);
    });
  }

  const tokens: DesiredOrganization["tokens"] = [];
  const tF = field("tokens");
  if (tF !== undefined) {
    (tree.sequence(tF.path, tF.node, "tokens: a list of tokens") ?? []).forEach((raw, i) => {
      const p = join(tF.path, i);
      const t = readToken(ctx, p, tree.at(p, raw, tree.posOr(tF.node, tF.path)));
      if (t !== undefined) tokens.push(t);
    });
  }

  if (ok && identifier !== undefined) out.push({ path, identifier, name, parent, parentAccess, buckets, members, tokens });
  const subF = field("organizations");
  // Sub-organizations are read even when their parent has problems, so all are reported at once.
  if (subF !== undefined) readOrganizations(ctx, subF.path, subF.node, identifier ?? null, out);
}

function readBucket(tree: Tree, path: string, node: Value): DesiredBucket | undefined {
  const f = tree.mapping(path, node, ["name", "description"], "a bucket: name, description");
  if (f === undefined) return undefined;
  let ok = true;
  let name: string | undefined;
  const n = f.get("name");
  if (n === undefined) {
    tree.problem(join(path, "name"), tree.posOr(node, path), "is required (the bucket's name)");
    ok = false;
  } else {
    const np = join(path, "name");
    const nn = tree.at(np, n.node, n.pos);
    name = tree.string(np, nn);
    if (name === undefined || !check(tree, np, nn, () => validateBucketName(name!))) ok = false;
  }
  let description = "";
  const d = f.get("description");
  if (d !== undefined) {
    const dp = join(path, "description");
    const dn = tree.at(dp, d.node, d.pos);
    const v = tree.string(dp, dn);
    if (v === undefined || !check(tree, dp, dn, () => validateDescription(v))) ok = false;
    else description = v;
  }
  return ok && name !== undefined ? { path, name, description } : undefined;
}

function readMember(tree: Tree, path: string, node: Value): DesiredMember | undefined {
  const f = tree.mapping(path, node, ["user", "role"], "a member: user, role");
  if (f === undefined) return undefined;
  let ok = true;
  let user: string | undefined;
  const u = f.get("user");
  if (u === undefined) {
    tree.problem(join(path, "user"), tree.posOr(node, path), "is required (a user name from users)");
    ok = false;
  } else {
    const up = join(path, "user");
    const un = tree.at(up, u.node, u.pos);
    user = tree.string(up, un);
    if (user === undefined || !check(tree, up, un, () => validateUserName(user!))) ok = false;
  }
  let role: RoleName | undefined;
  const r = f.get("role");
  if (r === undefined) {
    tree.problem(join(path, "role"), tree.posOr(node, path), "is required: viewer, editor or admin");
    ok = false;
  } else {
    const rp = join(path, "role");
    const rn = tree.at(rp, r.node, r.pos);
    const v = tree.string(rp, rn);
    role = v !== undefined && Object.hasOwn(ROLE_NAMES, v) ? ROLE_NAMES[v] : undefined;
    if (v !== undefined && role === undefined) tree.problem(rp, tree.posOr(rn, rp), "is not a role: use viewer, editor or admin");
    if (role === undefined) ok = false;
  }
  return ok && user !== undefined && role !== undefined ? { path, user, role } : undefined;
}

/**
 * Checks across entries: duplicates, and references that must resolve inside the file. They run
 * on the entries that read without problems of their own, as a compiler skips follow-on errors:
 * a token whose permissions are malformed is not also checked against its owner's role.
 */
function checkReferences(tree: Tree, users: DesiredUser[], orgs: DesiredOrganization[], valuesOut: DesiredState["valuesOut"]): void {
  const pos = (path: string): Pos => tree.positions.get(path) ?? { line: 1, col: 1 };
  const firstBy = <T extends { path: string }>(items: T[], key: (t: T) => string, what: string, field: string): Map<string, T> => {
    const seen = new Map<string, T>();
    for (const item of items) {
      const k = key(item);
      const earlier = seen.get(k);
      if (earlier === undefined) seen.set(k, item);
      else tree.problem(join(item.path, field), pos(join(item.path, field)), `${what} "${k}" is declared twice (first at ${earlier.path})`);
    }
    return seen;
  };

  const userByName = firstBy(users, (u) => u.name, "user", "name");
  const orgById = firstBy(orgs, (o) => o.identifier, "organization", "identifier");

  for (const org of orgs) {
    firstBy(org.buckets, (b) => b.name, "bucket", "name");
    firstBy(org.tokens, (t) => t.name, "token", "name");
    const members = firstBy(org.members, (m) => m.user, "member", "user");
    for (const m of org.members) {
      if (!userByName.has(m.user)) {
        tree.problem(join(m.path, "user"), pos(join(m.path, "user")), `user "${m.user}" is not in the manifest's users: add it there`);
      }
    }
    for (const t of org.tokens) {
      if ((t.value.from === "generate" || (t.value.from === "organization" && t.value.save)) && valuesOut === undefined) {
        tree.problem(
          join(t.path, "generate"),
          pos(join(t.path, "generate")),
          "generate: true needs a file to write the value to: --values-out FILE, or values_out in the manifest",
        );
      }
      if (t.owner === null) continue;
      const ownerPath = join(t.path, "owner");
      const m = members.get(t.owner);
      if (m === undefined) {
        tree.problem(ownerPath, pos(ownerPath), `user "${t.owner}" is not a member of organization "${org.identifier}": add it to members`);
        continue;
      }
      if (t.kind === "ALL_ACCESS" && m.role !== "ADMIN") {
        tree.problem(
          ownerPath,
          pos(ownerPath),
          `an all-access token would exceed ${t.owner}'s ${m.role.toLowerCase()} role: make the user an admin, or use a read-write token`,
        );
      }
      if (t.kind === "READ_WRITE" && !roleAtLeast(m.role, "EDITOR")) {
        (t.permissions.bucketAccess ?? []).forEach((g, i) => {
          if (!g.write) return;
          const p = join(join(join(t.path, "permissions"), "bucket_access"), i);
          tree.problem(
            join(p, "write"),
            pos(join(p, "write")),
            `write access would exceed ${t.owner}'s viewer role in "${org.identifier}"`,
          );
        });
      }
    }
  }

  // A parent the file declares must not lead back to the organization itself.
  for (const org of orgs) {
    const chain = new Set([org.identifier]);
    let p = org.parent;
    while (p !== null) {
      if (chain.has(p)) {
        tree.problem(join(org.path, "parent"), pos(join(org.path, "parent")), `organization "${org.identifier}" would be its own ancestor`);
        break;
      }
      chain.add(p);
      p = orgById.get(p)?.parent ?? null;
    }
  }
}

/** Organizations in file order, except that one the file declares as a parent comes before its children. */
function parentsFirst(orgs: DesiredOrganization[]): DesiredOrganization[] {
  const byId = new Map(orgs.map((o) => [o.identifier, o]));
  const out: DesiredOrganization[] = [];
  const placed = new Set<string>();
  const place = (o: DesiredOrganization) => {
    if (placed.has(o.identifier)) return;
    placed.add(o.identifier);
    const parent = o.parent === null ? undefined : byId.get(o.parent);
    if (parent !== undefined) place(parent);
    out.push(o);
  };
  for (const o of orgs) place(o);
  return out;
}

function sorted(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}
