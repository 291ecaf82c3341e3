// grpc/health/v1/health.proto as a FileDescriptorProto, for server reflection only.
//
// grpc-health-check serves the service but only ships proto-loader's rebuilt descriptor, which
// uses relative type names and names its map entry "Statuses"; Go tools (buf curl, grpcurl)
// reject that file, so reflection could list grpc.health.v1.Health but not describe it. This is
// the upstream file (https://github.com/grpc/grpc-proto/blob/master/grpc/health/v1/health.proto),
// comments and options dropped.

import { create, toBinary } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

const OPTIONAL = Label.OPTIONAL;
const REPEATED = Label.REPEATED;

export const HEALTH_FILE_NAME = "grpc/health/v1/health.proto";

export function healthFileDescriptor(): Uint8Array {
  return toBinary(
    FileDescriptorProtoSchema,
    create(FileDescriptorProtoSchema, {
      name: HEALTH_FILE_NAME,
      package: "grpc.health.v1",
      syntax: "proto3",
      messageType: [
        {
          name: "HealthCheckRequest",
          field: [{ name: "service", jsonName: "service", number: 1, label: OPTIONAL, type: Type.STRING }],
        },
        {
          name: "HealthCheckResponse",
          field: [
            {
              name: "status",
              jsonName: "status",
              number: 1,
              label: OPTIONAL,
              type: Type.ENUM,
              typeName: ".grpc.health.v1.HealthCheckResponse.ServingStatus",
            },
          ],
          enumType: [
            {
              name: "ServingStatus",
              value: [
                { name: "UNKNOWN", number: 0 },
                { name: "SERVING", number: 1 },
                { name: "NOT_SERVING", number: 2 },
                { name: "SERVICE_UNKNOWN", number: 3 },
              ],
            },
          ],
        },
        { name: "HealthListRequest" },
        {
          name: "HealthListResponse",
          field: [
            {
              name: "statuses",
              jsonName: "statuses",
              number: 1,
              label: REPEATED,
              type: Type.MESSAGE,
              typeName: ".grpc.health.v1.HealthListResponse.StatusesEntry",
            },
          ],
          nestedType: [
            {
              name: "StatusesEntry",
              options: { mapEntry: true },
              field: [
                { name: "key", jsonName: "key", number: 1, label: OPTIONAL, type: Type.STRING },
                {
                  name: "value",
                  jsonName: "value",
                  number: 2,
                  label: OPTIONAL,
                  type: Type.MESSAGE,
                  typeName: ".grpc.health.v1.HealthCheckResponse",
                },
              ],
            },
          ],
        },
      ],
      service: [
        {
          name: "Health",
          method: [
            { name: "Check", inputType: ".grpc.health.v1.HealthCheckRequest", outputType: ".grpc.health.v1.HealthCheckResponse" },
            { name: "List", inputType: ".grpc.health.v1.HealthListRequest", outputType: ".grpc.health.v1.HealthListResponse" },
            {
              name: "Watch",
              inputType: ".grpc.health.v1.HealthCheckRequest",
              outputType: ".grpc.health.v1.HealthCheckResponse",
              serverStreaming: true,
            },
          ],
        },
      ],
    }),
  );
}
