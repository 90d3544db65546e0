import { STATUS_CODES } from 'node:http';
import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  type SchemaObject,
} from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from '@tokenledger/errors';
import { z } from 'zod';
import { oauthErrorSchema, problemSchema } from './problem';

/** The components every document holds: the error shapes, referenced by every route. */
export const PROBLEM_REF = '#/components/schemas/Problem';
export const OAUTH_ERROR_REF = '#/components/schemas/OAuthError';

/**
 * The JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of a zod schema: `input` for what
 * a route accepts (defaults optional), `output` for what it answers.
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): SchemaObject {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** The error components of a document: `Problem` (RFC 9457) and `OAuthError` (RFC 6749 §5.2). */
export function errorComponents(): Record<string, SchemaObject> {
  return {
    Problem: openApiSchema(problemSchema, 'output'),
    OAuthError: openApiSchema(oauthErrorSchema, 'output'),
  };
}

export interface RouteResponse {
  /** Default 200. */
  status?: number;
  description: string;
  /** The JSON body's schema (validated in e2e against real answers); omit for an empty answer. */
  schema?: z.ZodType;
  /** A non-JSON answer (text, bytes, NDJSON): its media type, and optionally its string schema. */
  contentType?: string;
}

export interface RouteDoc {
  summary: string;
  description?: string;
  /** The JSON body, the zod schema the handler validates it with. */
  body?: z.ZodType;
  /** An `application/x-www-form-urlencoded` body (the OAuth routes). */
  form?: z.ZodType;
  /** The query string: each key of this object schema is one parameter. */
  query?: z.ZodObject;
  /** Path parameters, by name. */
  params?: Record<string, z.ZodType>;
  response: RouteResponse;
  /** Other answers of the route (e.g. 202 while something is still running). */
  otherResponses?: RouteResponse[];
  /** Error statuses this route answers beyond those every route may (404, 409, 422, 503...). */
  errors?: Record<number, string>;
  /** No operator token needed (health): no 401/403, and not rate limited. */
  public?: boolean;
  /** Errors are RFC 6749 §5.2 bodies (the route is in the app's `oauthPaths`). */
  oauth?: boolean;
}

function responseContent(response: RouteResponse): Record<string, { schema: SchemaObject }> {
  if (response.contentType)
    return {
      [response.contentType]: {
        schema: response.schema ? openApiSchema(response.schema, 'output') : { type: 'string' },
      },
    };
  return response.schema
    ? { 'application/json': { schema: openApiSchema(response.schema, 'output') } }
    : {};
}

/**
 * One route's whole OpenAPI description from the zod schemas its handler validates with: body,
 * query and path parameters, the answer, and every error it can give as RFC 9457 problem details
 * (400 when it takes input, 401 and 403 unless public, 413 and 415 when it takes a body, 429 from
 * the rate limit, 500), or RFC 6749 bodies on OAuth routes.
 */
export function ApiRoute(doc: RouteDoc): MethodDecorator {
  const decorators: MethodDecorator[] = [
    ApiOperation({
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
    }),
  ];
  // A body whose every member is optional may be left out (the handler reads `body ?? {}`).
  if (doc.body)
    decorators.push(
      ApiBody({ schema: openApiSchema(doc.body), required: !doc.body.safeParse({}).success }),
    );
  if (doc.form)
    decorators.push(
      ApiConsumes('application/x-www-form-urlencoded'),
      ApiBody({ schema: openApiSchema(doc.form) }),
    );
  for (const [name, schema] of Object.entries(doc.params ?? {}))
    decorators.push(ApiParam({ name, required: true, schema: openApiSchema(schema) }));
  if (doc.query) {
    const object = openApiSchema(doc.query) as {
      properties?: Record<string, SchemaObject>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(object.properties ?? {}))
      decorators.push(
        ApiQuery({
          name,
          required: object.required?.includes(name) ?? false,
          schema,
          ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
        }),
      );
  }
  // Answers with the same status (JSON or CSV) are one response with several media types.
  const byStatus = new Map<number, { description: string; content: Record<string, unknown> }>();
  for (const response of [doc.response, ...(doc.otherResponses ?? [])]) {
    const status = response.status ?? 200;
    const seen = byStatus.get(status);
    if (seen) {
      seen.description = `${seen.description} ${response.description}`;
      Object.assign(seen.content, responseContent(response));
    } else
      byStatus.set(status, {
        description: response.description,
        content: responseContent(response),
      });
  }
  for (const [status, { description, content }] of byStatus)
    decorators.push(ApiResponse({ status, description, content: content as never }));
  const errors: Record<number, string> = {};
  if (doc.body || doc.form || doc.query || doc.params) errors[400] = 'Invalid input';
  if (!doc.public) {
    errors[401] = 'No operator token, or one that is malformed, unknown, expired or revoked';
    errors[403] = 'A scope the route needs is missing';
    errors[429] = 'Rate limit exceeded (Retry-After says when to come back)';
  }
  if (doc.body || doc.form) {
    errors[413] = 'Body larger than HTTP_BODY_LIMIT';
    errors[415] = 'Body neither JSON nor a form';
  }
  Object.assign(errors, doc.errors);
  errors[500] = 'Internal error (the detail reveals nothing)';
  const content: Record<string, { schema: { $ref: string } }> = doc.oauth
    ? { 'application/json': { schema: { $ref: OAUTH_ERROR_REF } } }
    : { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: PROBLEM_REF } } };
  for (const [status, description] of Object.entries(errors))
    decorators.push(
      ApiResponse({
        status: Number(status),
        description: description || (STATUS_CODES[Number(status)] ?? 'Error'),
        content,
      }),
    );
  return applyDecorators(...decorators);
}
