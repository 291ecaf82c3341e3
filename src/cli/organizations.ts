/**
 * Organizations as people name them on the command line: by id or by identifier. An id goes to
 * the server as given (the server decides whether the token reaches it); an identifier is looked
 * up among the organizations the token reaches, since the API takes ids only.
 */
import { isUuid } from "../domain/ids.js";
import type { AdminClient } from "./api.js";
import { CliError, UsageError, str, type Flags, type Options } from "./command.js";
import { clean, flagHelp } from "./output.js";

export interface OrganizationRef {
  id: string;
  identifier: string;
}

/**
 * `--org` (`-o`) on every command that acts on an organization. `--org-id`, its name before
 * identifiers were accepted, still works (and takes identifiers too) so scripts keep running.
 */
export const ORG_OPTIONS: Options = { org: { type: "string", short: "o" }, "org-id": { type: "string" } };

/** The usage lines for ORG_OPTIONS, descriptions from column `width` on. */
export function orgUsage(width = 20): string {
  return flagHelp(
    "-o, --org ORG",
    "organization, by identifier or id (default: your token's\norganization; --org-id is its older name)",
    width,
  );
}

/** Identifier and id of every organization the caller reaches, each keyed by both. */
export async function reachableOrganizations(api: AdminClient): Promise<Map<string, OrganizationRef>> {
  const out = new Map<string, OrganizationRef>();
  let pageToken = "";
  do {
    const page = await api.listOrganizations({ pageSize: 1000, pageToken });
    for (const o of page.organizations) {
      const org = { id: o.id, identifier: o.identifier };
      out.set(o.identifier, org);
      out.set(o.id, org);
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

/** The id of the organization `ref` names (an id or an identifier); `flag` names it in errors. */
export async function organizationId(api: AdminClient, ref: string, flag: string): Promise<string> {
  if (isUuid(ref)) return ref.toLowerCase();
  const org = (await reachableOrganizations(api)).get(ref);
  if (org === undefined) throw new CliError(`${flag}: no organization "${clean(ref)}" that your token reaches (give its id or identifier)`);
  return org.id;
}

/** What `--org`/`--org-id` say, checked before anything is sent: undefined when neither is given. */
export function orgRef(flags: Flags): { ref: string; flag: string } | undefined {
  const org = str(flags, "org");
  const old = str(flags, "org-id");
  if (org !== undefined && old !== undefined) throw new UsageError("give either --org or --org-id (its older name), not both");
  const ref = org ?? old;
  if (ref === undefined) return undefined;
  const flag = org !== undefined ? "--org" : "--org-id";
  if (ref === "") throw new UsageError(`${flag} needs an organization identifier or id`);
  return { ref, flag };
}

/** The organization the flags name as the API's organization_id: "" (the token's own) when none is. */
export async function orgFromFlags(api: AdminClient, flags: Flags): Promise<string> {
  const r = orgRef(flags);
  return r === undefined ? "" : organizationId(api, r.ref, r.flag);
}
