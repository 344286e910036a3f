-- TimelineEntry rows carry no foreign key: its per-row check was a fifth of PostgreSQL's CPU in the ingest (schema.prisma, model TimelineEntry).

-- DropForeignKey
ALTER TABLE "TimelineEntry" DROP CONSTRAINT "TimelineEntry_sessionId_fkey";
