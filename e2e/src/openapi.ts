import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;
interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: Json }> }>;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; schema?: unknown }>;
  requestBody?: Json;
}
export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Json> };
};

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Validates an OpenAPI document with @apidevtools/swagger-parser; throws what is wrong. */
export async function validateDocument(doc: OpenApiDocument): Promise<void> {
  // validate() dereferences in place: give it a copy.
  await SwaggerParser.validate(structuredClone(doc) as never);
}

/** `$ref: '#/components/schemas/X'` replaced by X (the components are not recursive). */
function inline(schema: unknown, doc: OpenApiDocument): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, doc));
  if (typeof schema !== 'object' || schema === null) return schema;
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    const target = name ? doc.components?.schemas?.[name] : undefined;
    if (!target) throw new Error(`unresolvable $ref ${ref}`);
    return inline(target, doc);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inline(v, doc)]));
}

const mediaType = (contentType: string | null): string =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase();
const isJson = (type: string): boolean => type === 'application/json' || type.endsWith('+json');

/**
 * Checks real answers against the OpenAPI document of the app that gave them: the route must be
 * declared, the status among its responses, the media type among that response's, and a JSON
 * body valid against the declared schema (ajv, JSON Schema 2020-12 as in OpenAPI 3.1). Records
 * which operations answered with a success, for coverage.
 */
export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ template: string; pattern: RegExp; params: number }>;
  readonly succeeded = new Set<string>();
  checked = 0;

  constructor(readonly doc: OpenApiDocument) {
    addFormats(this.ajv);
    this.templates = Object.keys(doc.paths)
      .map((template) => {
        const source = template
          .split(/(\{[^}]+\}|\*)/)
          .map((part) =>
            part === '*' || part === '{*}' || part === '{path}'
              ? '.*'
              : part.startsWith('{')
                ? '[^/]+'
                : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('');
        return {
          template,
          pattern: new RegExp(`^${source}$`),
          params: (template.match(/\{|\*/g) ?? []).length,
        };
      })
      .sort((a, b) => a.params - b.params);
  }

  static async load(baseUrl: string): Promise<ResponseChecker> {
    const res = await fetch(`${baseUrl}/openapi.json`);
    if (!res.ok) throw new Error(`GET ${baseUrl}/openapi.json: HTTP ${res.status}`);
    return new ResponseChecker((await res.json()) as OpenApiDocument);
  }

  /** The declared operation of a request, as `METHOD template`. */
  operationOf(method: string, url: string): { key: string; operation: Operation } {
    const path = new URL(url, 'http://x').pathname;
    const m = method.toLowerCase();
    for (const { template, pattern } of this.templates) {
      const operation = this.doc.paths[template]?.[m];
      if (operation && pattern.test(path))
        return { key: `${method.toUpperCase()} ${template}`, operation };
    }
    throw new Error(
      `${method.toUpperCase()} ${path} is not declared in the OpenAPI document (${Object.keys(this.doc.paths).join(', ')})`,
    );
  }

  /** Throws naming the route, the status and what does not match; the response stays readable. */
  async check(method: string, url: string, res: Response): Promise<void> {
    const { key, operation } = this.operationOf(method, url);
    const where = `${key} -> ${res.status}`;
    const declared = operation.responses?.[String(res.status)];
    if (!declared)
      throw new Error(
        `${where}: status not declared (declared: ${Object.keys(operation.responses ?? {}).join(', ')})`,
      );
    const text = await res.clone().text();
    const type = mediaType(res.headers.get('content-type'));
    const content = declared.content ?? {};
    const types = Object.keys(content).map((t) => mediaType(t));
    if (types.length === 0) {
      if (text !== '') throw new Error(`${where}: a body, but none is declared`);
    } else {
      const at = types.indexOf(type);
      if (at === -1)
        throw new Error(`${where}: content-type ${type} not declared (${types.join(', ')})`);
      const schema = Object.values(content)[at]?.schema;
      if (isJson(type) && schema) {
        const id = `${key} ${res.status} ${type}`;
        let validate = this.compiled.get(id);
        if (!validate) {
          validate = this.ajv.compile(inline(schema, this.doc) as Json);
          this.compiled.set(id, validate);
        }
        if (!validate(JSON.parse(text)))
          throw new Error(
            `${where}: body does not match the declared schema: ${this.ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`,
          );
      }
    }
    this.checked += 1;
    if (res.status < 300) this.succeeded.add(key);
  }

  /** Every declared operation, as `METHOD template`. */
  operations(): string[] {
    return Object.entries(this.doc.paths).flatMap(([template, item]) =>
      METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${template}`),
    );
  }
}
