/** Update masks: every path is one the RPC changes, or INVALID_ARGUMENT says which and why. */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { TesseraError } from "../../src/domain/errors.js";
import { OrganizationSchema } from "../../src/gen/tessera/v1/resources_pb.js";
import { maskPaths, type MaskRules } from "../../src/services/field-mask.js";

const RULES: MaskRules = {
  field: "update_mask",
  updatable: ["name", "parent_access"],
  resource: OrganizationSchema,
  explain: { enabled: "use SetOrganizationEnabled" },
};
const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

function refuses(paths: string[], re: RegExp): void {
  assert.throws(
    () => maskPaths(mask(...paths), RULES),
    (e: unknown) => e instanceof TesseraError && e.code === "INVALID_ARGUMENT" && re.test(e.publicMessage),
  );
}

describe("update masks", () => {
  it("returns the distinct updatable paths in the order given, and nothing for an empty or absent mask", () => {
    assert.deepEqual(maskPaths(mask("parent_access", "name", "parent_access"), RULES), ["parent_access", "name"]);
    assert.deepEqual(maskPaths(mask(), RULES), []);
    assert.deepEqual(maskPaths(undefined, RULES), []);
  });

  it("refuses a fixed field by name, with the reason when there is one, and lists what can change", () => {
    refuses(
      ["enabled"],
      /^update_mask path "enabled" cannot be changed \(use SetOrganizationEnabled\); update_mask may name name, parent_access$/,
    );
    refuses(["identifier"], /^update_mask path "identifier" cannot be changed; update_mask may name name, parent_access$/);
  });

  it("refuses unknown paths by name, and malformed ones without repeating them", () => {
    refuses(["colour"], /"colour" is not a field of Organization/);
    refuses(["name.first"], /"name\.first" is not a field of Organization/);
    for (const p of ["", "Name", "parentAccess", "a b", "x".repeat(65), "name;drop", "ä"]) {
      assert.throws(
        () => maskPaths(mask(p), RULES),
        (e: unknown) => e instanceof TesseraError && /malformed path/.test(e.publicMessage) && (p === "" || !e.publicMessage.includes(p)),
        JSON.stringify(p),
      );
    }
    refuses(["*"], /"\*" \(replace everything\) is not supported/);
    refuses(
      Array.from({ length: 65 }, () => "name"),
      /at most 64 paths/,
    );
  });
});
