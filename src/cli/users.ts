/**
 * Users as people name them on the command line: by id or by name. An id goes to the server as
 * given; a name is looked up among the users the token may see (ListUsers), since the API takes
 * ids only, so a user the token may not see is "no user" either way.
 */
import { isUuid } from "../domain/ids.js";
import type { AdminClient } from "./api.js";
import { CliError, UsageError } from "./command.js";
import { clean } from "./output.js";

/** The id of the user `ref` names (an id or a name); `flag` names it in errors. */
export async function userId(api: AdminClient, ref: string, flag: string): Promise<string> {
  if (ref === "") throw new UsageError(`${flag} needs a user name or id`);
  if (isUuid(ref)) return ref.toLowerCase();
  let pageToken = "";
  do {
    const page = await api.listUsers({ pageSize: 1000, pageToken });
    const found = page.users.find((u) => u.name === ref);
    if (found !== undefined) return found.id;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  throw new CliError(`${flag}: no user "${clean(ref)}" that your token may see (give its id or name)`);
}
