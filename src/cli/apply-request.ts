/**
 * The ApplyManifest request for a checked manifest: the desired state with each entry's manifest
 * path, values from the environment or files, and the values apply generated for the tokens the
 * server's plan creates (`generated`, by manifest path).
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ApplyManifestRequestSchema, type ApplyManifestRequest } from "../gen/tessera/v1/token_admin_service_pb.js";
import type { DesiredState, DesiredToken } from "../domain/manifest/desired.js";
import { valueSourceText } from "../domain/manifest/plan-text.js";
import { KIND_TO_PB, ROLE_TO_PB, permissionsToPb } from "../services/convert.js";

export function applyRequest(
  desired: DesiredState,
  opts: { prune: boolean; dryRun: boolean; generated: ReadonlyMap<string, string> },
): ApplyManifestRequest {
  return create(ApplyManifestRequestSchema, {
    prune: opts.prune,
    dryRun: opts.dryRun,
    users: desired.users.map((u) => ({ path: u.path, name: u.name, root: u.root })),
    organizations: desired.organizations.map((o) => ({
      path: o.path,
      identifier: o.identifier,
      name: o.name,
      parent: o.parent ?? "",
      denyParentAccess: o.parent !== null && !o.parentAccess,
      buckets: o.buckets.map((b) => ({ path: b.path, name: b.name, description: b.description })),
      members: o.members.map((m) => ({ path: m.path, user: m.user, role: ROLE_TO_PB[m.role] })),
      tokens: o.tokens.map((t) => token(t, opts.generated)),
    })),
  });
}

function token(t: DesiredToken, generated: ReadonlyMap<string, string>) {
  const v = t.value;
  const value = v.from === "env" || v.from === "file" || v.from === "supplied" ? (v.value?.reveal() ?? "") : (generated.get(t.path) ?? "");
  return {
    path: t.path,
    name: t.name,
    kind: KIND_TO_PB[t.kind],
    description: t.description,
    owner: t.owner ?? "",
    permissions: permissionsToPb(t.permissions),
    ...(t.expiry.kind === "at" && { expireTime: timestampFromDate(t.expiry.time) }),
    ...(t.expiry.kind === "in" && { expiresIn: durationFromMs(t.expiry.ms) }),
    value,
    valueSource: v.from === "organization" ? (v.save ? "generated, written to the values file" : "") : valueSourceText(v),
  };
}

/** The manifest paths whose values apply generates: new tokens with `generate: true`, and kept default tokens of new organizations. */
export function pathsToGenerate(desired: DesiredState, createdTokens: ReadonlySet<string>, createdOrgs: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const o of desired.organizations) {
    for (const t of o.tokens) {
      if (t.value.from === "generate" && createdTokens.has(t.path)) out.push(t.path);
      if (t.value.from === "organization" && t.value.save && createdOrgs.has(o.path)) out.push(t.path);
    }
  }
  return out;
}
