/**
 * POST /api/uploads (admin): a pcap / pcapng file as multipart/form-data, streamed to a temporary
 * file (never held in memory) up to the configured limit; a Capture row with source 'upload' is
 * created and the file queued for analysis (UploadService). 202 with the capture id.
 * GET /api/uploads/:id (signed in): the analysis' progress and the capture's counters.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { HttpError, badRequest, notFound } from '../http-errors.ts';
import { ErrorResponse, UuidParam, commonErrors } from '../schemas.ts';
import type { UploadService } from './upload-service.ts';

export interface UploadRoutesOptions {
  readonly uploads: UploadService;
  /** Folder for the temporary files (created if missing). */
  readonly tempDir: string;
  /** Largest file accepted, bytes (UPLOAD_LIMIT_MB). */
  readonly limitBytes: number;
}

/** Longest file name kept for display. */
const MAX_FILE_NAME_CHARS = 255;

const UploadStatus = Type.Object({
  id: Type.String(),
  fileName: Type.Union([Type.String(), Type.Null()]),
  /** 'queued', 'analysing', 'done' or 'failed'. */
  status: Type.String(),
  error: Type.Union([Type.String(), Type.Null()]),
  bytesRead: Type.Number(),
  totalBytes: Type.Number(),
  frames: Type.Number(),
  packets: Type.Number(),
  sessions: Type.Integer(),
  mails: Type.Integer(),
});

export const uploadRoutes: FastifyPluginAsyncTypebox<UploadRoutesOptions> = async (app, opts) => {
  await app.register(multipart, { limits: { fileSize: opts.limitBytes, files: 1, fields: 0, parts: 1 } });
  const db = app.db;

  app.post('/uploads', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['uploads'],
      summary: 'Upload a pcap / pcapng capture (multipart/form-data, one file) for analysis',
      consumes: ['multipart/form-data'],
      response: { 202: UploadStatus, 413: ErrorResponse, 415: ErrorResponse, ...commonErrors },
    },
  }, async (request, reply) => {
    if (!request.isMultipart()) throw new HttpError(415, 'send the capture as multipart/form-data');
    const file = await request.file();
    if (file === undefined) throw badRequest('no file in the upload');
    await mkdir(opts.tempDir, { recursive: true });
    const path = join(opts.tempDir, `${randomUUID()}.upload`);
    const tooLarge = (): HttpError => new HttpError(413, `the file is larger than the upload limit (${Math.floor(opts.limitBytes / 1048576)} MB)`);
    try {
      await pipeline(file.file, createWriteStream(path));
    } catch (e) {
      await rm(path, { force: true });
      if (e instanceof Error && 'code' in e && e.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
      throw e;
    }
    // busboy ends the stream at the limit and only flags it: a cut capture must not be analysed.
    if (file.file.truncated) {
      await rm(path, { force: true });
      throw tooLarge();
    }
    const size = (await stat(path)).size;
    const fileName = displayName(file.filename);
    const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'queued', fileName } });
    request.log.info({ captureId: capture.id, fileName, size }, 'capture uploaded');
    opts.uploads.enqueue(capture.id, path, fileName, size);
    return reply.status(202).send({
      id: capture.id, fileName, status: 'queued', error: null, bytesRead: 0, totalBytes: size, frames: 0, packets: 0, sessions: 0, mails: 0,
    });
  });

  app.get('/uploads/:id', {
    preHandler: app.authenticate,
    schema: { tags: ['uploads'], summary: 'Progress of an uploaded capture\'s analysis', params: Type.Object({ id: UuidParam }), response: { 200: UploadStatus, ...commonErrors } },
  }, async (request) => {
    const c = await db.prisma.capture.findUnique({ where: { id: request.params.id } });
    if (c === null || c.source !== 'upload') throw notFound('no such upload');
    const p = opts.uploads.progressOf(c.id);
    return {
      id: c.id, fileName: c.fileName, status: c.status, error: c.error,
      bytesRead: p?.bytesRead ?? 0, totalBytes: p?.totalBytes ?? 0, frames: p?.frames ?? 0,
      packets: Number(c.packets), sessions: c.sessions, mails: c.mails,
    };
  });
};

/** The browser's file name for display: last path segment, no control characters, bounded. */
function displayName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const base = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return (base === '' ? 'capture' : base).slice(0, MAX_FILE_NAME_CHARS);
}
