/**
 * Organizations as people name them on the command line: by id or by identifier. An id goes to
 * the server as given (the server decides whether the token reaches it); an identifier is looked
 * up among the organizations the token reaches, since the API takes ids only.
 */
import { isUuid } from "../domain/ids.js";
import type { AdminClient } from "./api.js";
import { CliError } from "./command.js";
import { clean } from "./output.js";

export interface OrganizationRef {
  id: string;
  identifier: string;
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
