/**
 * A declarative input validator. Each operation states its input shape as data (types, lengths,
 * patterns, ranges, enums, required members, "at least one of" groups) and gets back a typed, normalised value
 * (timestamps become epoch milliseconds) or an InvalidArgumentException worded the way AWS's
 * validation layer words it:
 *   1 validation error detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+
 * The SDKs validate almost nothing (the JS SDK nothing at all), so this is the only guard.
 */
import { invalidArgument } from './errors.js';
import { epochSecondsToMs } from './timestamps.js';

export type Shape =
  | { type: 'string'; min?: number; max?: number; pattern?: string; enum?: readonly string[] }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'timestamp' }
  | { type: 'boolean' }
  | {
      type: 'structure';
      members: Members /** Groups of members of which at least one must be present (e.g. StreamName / StreamARN). */;
      anyOf?: readonly (readonly string[])[];
    }
  | { type: 'list'; member: Shape; min?: number; max?: number }
  | { type: 'map'; key: Shape; value: Shape; min?: number; max?: number };

export type Member = Shape & { required?: boolean };
export type Members = Record<string, Member>;

/** The operation's input: a structure at the top. */
export type InputShape = Extract<Shape, { type: 'structure' }>;

/**
 * The TypeScript type of a value that passed `validate` against shape S: declared with `as const` (or
 * through a `const` type parameter), a shape is its own input type, so handlers are checked by the compiler.
 * Timestamps arrive as epoch milliseconds; members without `required: true` are optional.
 */
export type Infer<S> = S extends { type: 'string'; enum: readonly (infer E)[] }
  ? E
  : S extends { type: 'string' }
    ? string
    : S extends { type: 'integer' } | { type: 'timestamp' }
      ? number
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'list'; member: infer M }
          ? Infer<M>[]
          : S extends { type: 'map'; value: infer V }
            ? Record<string, Infer<V>>
            : S extends { type: 'structure'; members: infer M }
              ? InferMembers<M>
              : never;

type Required_<M> = { [K in keyof M]: M[K] extends { required: true } ? K : never }[keyof M];
type InferMembers<M> = { [K in Required_<M>]: Infer<M[K]> } & {
  [K in Exclude<keyof M, Required_<M>>]?: Infer<M[K]>;
} extends infer T
  ? { [K in keyof T]: T[K] }
  : never;

const compiled = new WeakMap<object, RegExp>();
function regex(shape: { pattern?: string }): RegExp {
  let re = compiled.get(shape);
  if (!re) {
    // AWS patterns are matched against the whole value; `u` for the \p{L} classes in tag patterns.
    re = new RegExp(`^(?:${shape.pattern})$`, 'u');
    compiled.set(shape, re);
  }
  return re;
}

/** 'StreamName' -> 'streamName', 'StreamARN' -> 'streamARN', as AWS names members in messages. */
const fieldName = (member: string) => member.charAt(0).toLowerCase() + member.slice(1);

/** How much of a value a validation message shows: the first characters, and structure a few levels deep. */
const SHOWN_CHARS = 256;
const SHOWN_DEPTH = 4;

/**
 * A value as a validation message quotes it: JSON, cut after SHOWN_CHARS characters, nesting below
 * SHOWN_DEPTH shown as [...] / {...}. Bounded in time and stack whatever the value (JSON.stringify is not:
 * thousands of nested levels overflowed the stack, and a 1 MB array was serialised whole to show 256 chars).
 */
function show(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const out: string[] = [];
  let length = 0;
  const emit = (text: string) => {
    out.push(text);
    length += text.length;
  };
  const walk = (v: unknown, depth: number) => {
    if (length > SHOWN_CHARS) return;
    if (Array.isArray(v)) {
      if (depth >= SHOWN_DEPTH) return emit(v.length ? '[...]' : '[]');
      emit('[');
      for (let i = 0; i < v.length && length <= SHOWN_CHARS; i++) {
        if (i) emit(',');
        walk(v[i], depth + 1);
      }
      emit(']');
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      if (depth >= SHOWN_DEPTH) return emit(keys.length ? '{...}' : '{}');
      emit('{');
      for (let i = 0; i < keys.length && length <= SHOWN_CHARS; i++) {
        if (i) emit(',');
        emit(`${JSON.stringify(keys[i]!.slice(0, SHOWN_CHARS))}:`);
        walk((v as Record<string, unknown>)[keys[i]!], depth + 1);
      }
      emit('}');
    } else if (typeof v === 'string') {
      emit(depth === 0 ? v.slice(0, SHOWN_CHARS + 1) : JSON.stringify(v.slice(0, SHOWN_CHARS + 1)));
    } else {
      emit(String(JSON.stringify(v) ?? v));
    }
  };
  walk(value, 0);
  const text = out.join('');
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}...` : text;
}

class Collector {
  readonly problems: string[] = [];
  fail(path: string, value: unknown, constraint: string) {
    const shown = value === null || value === undefined ? 'null' : `'${show(value)}'`;
    this.problems.push(`Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`);
  }
}

function check(shape: Shape, value: unknown, path: string, out: Collector): unknown {
  switch (shape.type) {
    case 'string': {
      if (typeof value !== 'string') return out.fail(path, value, 'Member must be a string');
      const length = [...value].length;
      if (shape.min !== undefined && length < shape.min)
        out.fail(path, value, `Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && length > shape.max)
        out.fail(path, value, `Member must have length less than or equal to ${shape.max}`);
      if (shape.pattern !== undefined && !regex(shape).test(value))
        out.fail(path, value, `Member must satisfy regular expression pattern: ${shape.pattern}`);
      if (shape.enum && !shape.enum.includes(value))
        out.fail(path, value, `Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      return value;
    }
    case 'integer': {
      // A JSON number, as AWS's JSON protocol requires: no numeric strings ("24"), no fractions.
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        return out.fail(path, value, 'Member must be an integer');
      if (shape.min !== undefined && value < shape.min)
        out.fail(path, value, `Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value > shape.max)
        out.fail(path, value, `Member must have value less than or equal to ${shape.max}`);
      return value;
    }
    case 'timestamp': {
      const ms = epochSecondsToMs(value);
      if (ms === undefined) return out.fail(path, value, 'Member must be a timestamp in epoch seconds');
      return ms;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return out.fail(path, value, 'Member must be a boolean');
      return value;
    case 'list': {
      if (!Array.isArray(value)) return out.fail(path, value, 'Member must be a list');
      if (shape.min !== undefined && value.length < shape.min)
        out.fail(path, value, `Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max)
        out.fail(path, value, `Member must have length less than or equal to ${shape.max}`);
      return value.map((item, i) => check(shape.member, item, `${path}.${i + 1}.member`, out));
    }
    case 'map': {
      if (!isObject(value)) return out.fail(path, value, 'Member must be a map');
      const entries = Object.entries(value);
      if (shape.min !== undefined && entries.length < shape.min)
        out.fail(path, value, `Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && entries.length > shape.max)
        out.fail(path, value, `Member must have length less than or equal to ${shape.max}`);
      const result: Record<string, unknown> = {};
      for (const [k, v] of entries) {
        check(shape.key, k, `${path}.${k}.key`, out);
        // defineProperty, not assignment: a key such as "__proto__" (a legal tag key) must stay an own entry.
        Object.defineProperty(result, k, {
          value: check(shape.value, v, `${path}.${k}.value`, out),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return result;
    }
    case 'structure': {
      if (!isObject(value)) return out.fail(path, value, 'Member must be a structure');
      const result: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members)) {
        const memberPath = path ? `${path}.${fieldName(name)}` : fieldName(name);
        const v = value[name];
        if (v === undefined || v === null) {
          if (member.required) out.fail(memberPath, null, 'Member must not be null');
          continue;
        }
        result[name] = check(member, v, memberPath, out);
      }
      for (const group of shape.anyOf ?? []) {
        if (!group.some((name) => value[name] !== undefined && value[name] !== null)) {
          out.problems.push(`Either ${group.join(' or ')} must be specified${path ? ` in '${path}'` : ''}`);
        }
      }
      return result;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates `body` against `shape`; returns the normalised value or throws InvalidArgumentException. */
export function validate<T>(shape: InputShape, body: unknown): T {
  const out = new Collector();
  const result = check(shape, body, '', out);
  if (out.problems.length > 0) {
    const n = out.problems.length;
    throw invalidArgument(`${n} validation error${n > 1 ? 's' : ''} detected: ${out.problems.join('; ')}`);
  }
  return result as T;
}
