// Server reflection whose file descriptors list their imports, so grpcurl can `describe` and call the API.
//
// @grpc/proto-loader leaves FileDescriptorProto.dependency empty (grpc/grpc-node#2595), and @grpc/reflection
// passes that on (grpc/grpc-node#3034): grpcurl then fails on google.protobuf.Struct ("cannot resolve type").
// We fill in each file's dependencies from the types it references before handing the definition over.
import { createRequire } from 'node:module';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const FileDescriptorProto = protobuf.Root.fromJSON(
  require('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace,
).lookupType('google.protobuf.FileDescriptorProto');

interface MessageDescriptor {
  name: string;
  field?: { typeName?: string }[];
  nestedType?: MessageDescriptor[];
  enumType?: { name: string }[];
}

interface FileDescriptor {
  name: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageDescriptor[];
  enumType?: { name: string }[];
  service?: { name: string; method?: { inputType?: string; outputType?: string }[] }[];
}

function decode(bytes: Uint8Array): FileDescriptor {
  return FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes), { defaults: false }) as FileDescriptor;
}

/** Every fully qualified type a file defines (messages, nested messages, enums), with a leading dot. */
function definedTypes(file: FileDescriptor): string[] {
  const prefix = file.package ? `.${file.package}` : '';
  const out: string[] = [];
  const visit = (scope: string, m: MessageDescriptor) => {
    const name = `${scope}.${m.name}`;
    out.push(name);
    for (const e of m.enumType ?? []) out.push(`${name}.${e.name}`);
    for (const n of m.nestedType ?? []) visit(name, n);
  };
  for (const m of file.messageType ?? []) visit(prefix, m);
  for (const e of file.enumType ?? []) out.push(`${prefix}.${e.name}`);
  return out;
}

/** Every type name a file refers to (field types, method input and output types). */
function referencedTypes(file: FileDescriptor): string[] {
  const out: string[] = [];
  const visit = (m: MessageDescriptor) => {
    for (const f of m.field ?? []) if (f.typeName) out.push(f.typeName);
    for (const n of m.nestedType ?? []) visit(n);
  };
  for (const m of file.messageType ?? []) visit(m);
  for (const s of file.service ?? []) {
    for (const method of s.method ?? []) out.push(method.inputType ?? '', method.outputType ?? '');
  }
  return out.filter((t) => t !== '');
}

/** A copy of `definition` whose file descriptors declare their dependencies. */
export function withFileDependencies(definition: PackageDefinition): PackageDefinition {
  const files = new Map<string, FileDescriptor>();
  for (const entry of Object.values(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? [];
    for (const bytes of protos) {
      const file = decode(bytes);
      if (!files.has(file.name)) files.set(file.name, file);
    }
  }
  const owner = new Map<string, string>();
  for (const file of files.values()) for (const t of definedTypes(file)) owner.set(t, file.name);
  const encoded = new Map<string, Buffer>();
  for (const file of files.values()) {
    const deps = new Set(file.dependency ?? []);
    for (const t of referencedTypes(file)) {
      const from = owner.get(t.startsWith('.') ? t : `.${t}`);
      if (from !== undefined && from !== file.name) deps.add(from);
    }
    const patched = { ...file, dependency: [...deps].sort() };
    encoded.set(file.name, Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(patched)).finish()));
  }
  const out: PackageDefinition = {};
  for (const [name, entry] of Object.entries(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    out[name] = protos
      ? ({ ...entry, fileDescriptorProtos: protos.map((b) => encoded.get(decode(b).name) ?? b) } as typeof entry)
      : entry;
  }
  return out;
}

export function createReflectionService(definition: PackageDefinition): ReflectionService {
  return new ReflectionService(withFileDependencies(definition));
}
