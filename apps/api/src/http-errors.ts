/** Errors a route throws to answer with a 4xx: the error handler (app.ts) sends their message. */

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    /** Extra fields for the response body, e.g. per-field messages of a form. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>): HttpError => new HttpError(400, message, details);
export const unauthorized = (message = 'sign in first'): HttpError => new HttpError(401, message);
export const forbidden = (message = 'this needs the admin role'): HttpError => new HttpError(403, message);
export const notFound = (message: string): HttpError => new HttpError(404, message);
export const conflict = (message: string): HttpError => new HttpError(409, message);
