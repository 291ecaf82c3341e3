/**
 * Update masks (AIP-134), checked the same way for every Update RPC: each path must be one the
 * RPC can change, or the call is INVALID_ARGUMENT naming the path and what can be changed. A path
 * that names a real field which never changes (`kind`, `permissions`) says so, rather than
 * "unknown". The mask's paths are named in messages only when they look like field paths: the
 * text is the client's, and anything else might be something it should not have sent.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../domain/errors.js";

const MAX_PATHS = 64;
const FIELD_PATH = /^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63}){0,3}$/;

export interface MaskRules {
  /** The request field holding the mask, for messages (`update_mask`). */
  field: string;
  /** The paths this RPC changes, in the order they are listed in messages. */
  updatable: readonly string[];
  /** The resource the paths are relative to: its other fields are known but fixed. */
  resource: DescMessage;
  /** Why some fixed fields do not change, or where to change them instead. */
  explain?: Readonly<Record<string, string>>;
}

/** The mask's distinct paths (empty for an empty or absent mask), each one `rules` allows. */
export function maskPaths(mask: FieldMask | undefined, rules: MaskRules): string[] {
  const paths = mask?.paths ?? [];
  if (paths.length > MAX_PATHS) throw invalidArgument(`${rules.field} may name at most ${MAX_PATHS} paths`);
  const can = `${rules.field} may name ${rules.updatable.join(", ")}`;
  const out: string[] = [];
  for (const path of paths) {
    if (rules.updatable.includes(path)) {
      if (!out.includes(path)) out.push(path);
      continue;
    }
    if (path === "*") throw invalidArgument(`${rules.field} path "*" (replace everything) is not supported; ${can}`);
    if (!FIELD_PATH.test(path)) throw invalidArgument(`${rules.field} holds a malformed path; ${can}`);
    const fixed = rules.resource.fields.some((f) => f.name === path);
    if (!fixed) throw invalidArgument(`${rules.field} path "${path}" is not a field of ${rules.resource.name}; ${can}`);
    const why = rules.explain?.[path];
    throw invalidArgument(`${rules.field} path "${path}" cannot be changed${why === undefined ? "" : ` (${why})`}; ${can}`);
  }
  return out;
}
