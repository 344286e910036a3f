-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateEnum
CREATE TYPE "CaptureSource" AS ENUM ('live', 'upload');

-- CreateEnum
CREATE TYPE "MailProtocol" AS ENUM ('smtp', 'pop3');

-- CreateEnum
CREATE TYPE "Direction" AS ENUM ('client', 'server');

-- CreateEnum
CREATE TYPE "TimelineKind" AS ENUM ('tcp', 'command', 'reply', 'data', 'auth', 'tls', 'anomaly');

-- CreateEnum
CREATE TYPE "MailDirection" AS ENUM ('sent', 'retrieved');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('viewer', 'admin');

-- CreateTable
CREATE TABLE "Agent" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "interfaces" JSONB NOT NULL DEFAULT '[]',
    "tokenHash" TEXT NOT NULL,
    "lastSeen" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Agent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Capture" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "agentId" UUID,
    "source" "CaptureSource" NOT NULL,
    "interface" TEXT,
    "filter" TEXT NOT NULL DEFAULT '',
    "fileName" TEXT,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stoppedAt" TIMESTAMPTZ(3),
    "status" TEXT NOT NULL,
    "error" TEXT,
    "packets" BIGINT NOT NULL DEFAULT 0,
    "drops" BIGINT NOT NULL DEFAULT 0,
    "sessions" INTEGER NOT NULL DEFAULT 0,
    "mails" INTEGER NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "Capture_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" BIGSERIAL NOT NULL,
    "captureId" UUID NOT NULL,
    "engineSessionId" INTEGER NOT NULL,
    "protocol" "MailProtocol" NOT NULL,
    "clientAddr" TEXT NOT NULL,
    "clientPort" INTEGER NOT NULL,
    "serverAddr" TEXT NOT NULL,
    "serverPort" INTEGER NOT NULL,
    "startTs" BIGINT NOT NULL,
    "endTs" BIGINT,
    "state" TEXT NOT NULL DEFAULT 'open',
    "outcome" TEXT,
    "authUser" TEXT,
    "authMechanism" TEXT,
    "authSuccess" BOOLEAN,
    "encrypted" BOOLEAN NOT NULL DEFAULT false,
    "helo" TEXT,
    "greeting" TEXT,
    "sawSyn" BOOLEAN NOT NULL DEFAULT true,
    "detectedBy" TEXT NOT NULL DEFAULT 'port',
    "closeReason" TEXT,
    "mails" INTEGER NOT NULL DEFAULT 0,
    "deleted" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "packetsClient" INTEGER NOT NULL DEFAULT 0,
    "packetsServer" INTEGER NOT NULL DEFAULT 0,
    "bytesClient" BIGINT NOT NULL DEFAULT 0,
    "bytesServer" BIGINT NOT NULL DEFAULT 0,
    "retransmissions" INTEGER NOT NULL DEFAULT 0,
    "gaps" INTEGER NOT NULL DEFAULT 0,
    "gapBytes" BIGINT NOT NULL DEFAULT 0,
    "anomalies" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TimelineEntry" (
    "sessionId" BIGINT NOT NULL,
    "seq" INTEGER NOT NULL,
    "ts" BIGINT NOT NULL,
    "dir" "Direction" NOT NULL,
    "kind" "TimelineKind" NOT NULL,
    "verb" TEXT NOT NULL,
    "arg" TEXT NOT NULL,
    "frames" INTEGER[],
    "latencyUs" BIGINT,
    "authMechanism" TEXT,
    "authUser" TEXT,
    "authPassword" TEXT,
    "authSuccess" BOOLEAN,

    CONSTRAINT "TimelineEntry_pkey" PRIMARY KEY ("sessionId","seq")
);

-- CreateTable
CREATE TABLE "Packet" (
    "captureId" UUID NOT NULL,
    "frameNo" INTEGER NOT NULL,
    "sessionId" BIGINT,
    "ts" BIGINT NOT NULL,
    "src" TEXT NOT NULL,
    "dst" TEXT NOT NULL,
    "srcPort" INTEGER,
    "dstPort" INTEGER,
    "protocol" TEXT NOT NULL,
    "length" INTEGER NOT NULL,
    "capturedLength" INTEGER NOT NULL,
    "tcpFlags" SMALLINT,
    "seq" BIGINT,
    "ack" BIGINT,
    "payloadLength" INTEGER,
    "info" TEXT NOT NULL,
    "dir" "Direction",
    "tcpAnalysis" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "linkType" SMALLINT NOT NULL,
    "raw" BYTEA NOT NULL,

    CONSTRAINT "Packet_pkey" PRIMARY KEY ("captureId","frameNo")
);

-- CreateTable
CREATE TABLE "Mail" (
    "id" BIGSERIAL NOT NULL,
    "sessionId" BIGINT NOT NULL,
    "index" INTEGER NOT NULL,
    "direction" "MailDirection" NOT NULL,
    "command" TEXT NOT NULL,
    "messageNumber" INTEGER,
    "mailFrom" TEXT,
    "mailParams" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "rcptTo" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "subject" TEXT,
    "from" TEXT,
    "to" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "cc" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "date" TEXT,
    "messageId" TEXT,
    "parseError" TEXT,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "complete" BOOLEAN NOT NULL,
    "finalReply" TEXT,
    "startTs" BIGINT NOT NULL,
    "endTs" BIGINT NOT NULL,
    "frames" INTEGER[],
    "raw" BYTEA,
    "savedPath" TEXT,

    CONSTRAINT "Mail_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Attachment" (
    "id" BIGSERIAL NOT NULL,
    "mailId" BIGINT NOT NULL,
    "filename" TEXT,
    "contentType" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "disposition" TEXT,

    CONSTRAINT "Attachment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Setting" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "saveMail" BOOLEAN NOT NULL DEFAULT false,
    "saveLocation" TEXT,
    "smtpPorts" INTEGER[] DEFAULT ARRAY[25, 587]::INTEGER[],
    "pop3Ports" INTEGER[] DEFAULT ARRAY[110]::INTEGER[],
    "captureFilter" TEXT NOT NULL DEFAULT '',
    "anyPort" BOOLEAN NOT NULL DEFAULT false,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedBy" UUID,

    CONSTRAINT "Setting_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "username" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'viewer',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LoginSession" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tokenHash" TEXT NOT NULL,
    "userId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "LoginSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "userId" UUID,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Agent_name_key" ON "Agent"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Agent_tokenHash_key" ON "Agent"("tokenHash");

-- CreateIndex
CREATE INDEX "Capture_startedAt_idx" ON "Capture"("startedAt");

-- CreateIndex
CREATE INDEX "Capture_agentId_startedAt_idx" ON "Capture"("agentId", "startedAt");

-- CreateIndex
CREATE INDEX "Session_startTs_idx" ON "Session"("startTs");

-- CreateIndex
CREATE INDEX "Session_protocol_startTs_idx" ON "Session"("protocol", "startTs");

-- CreateIndex
CREATE INDEX "Session_clientAddr_idx" ON "Session"("clientAddr");

-- CreateIndex
CREATE INDEX "Session_serverAddr_idx" ON "Session"("serverAddr");

-- CreateIndex
CREATE INDEX "Session_outcome_idx" ON "Session"("outcome");

-- CreateIndex
CREATE INDEX "Session_authUser_idx" ON "Session"("authUser");

-- CreateIndex
CREATE UNIQUE INDEX "Session_captureId_engineSessionId_key" ON "Session"("captureId", "engineSessionId");

-- CreateIndex
CREATE INDEX "Packet_sessionId_frameNo_idx" ON "Packet"("sessionId", "frameNo");

-- CreateIndex
CREATE INDEX "Packet_captureId_ts_idx" ON "Packet"("captureId", "ts");

-- CreateIndex
CREATE INDEX "Mail_sha256_idx" ON "Mail"("sha256");

-- CreateIndex
CREATE INDEX "Mail_messageId_idx" ON "Mail"("messageId");

-- CreateIndex
CREATE INDEX "Mail_subject_trgm_idx" ON "Mail" USING GIN ("subject" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Mail_mailFrom_trgm_idx" ON "Mail" USING GIN ("mailFrom" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Mail_from_trgm_idx" ON "Mail" USING GIN ("from" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Mail_rcptTo_idx" ON "Mail" USING GIN ("rcptTo");

-- CreateIndex
CREATE INDEX "Mail_to_idx" ON "Mail" USING GIN ("to");

-- CreateIndex
CREATE INDEX "Mail_cc_idx" ON "Mail" USING GIN ("cc");

-- CreateIndex
CREATE UNIQUE INDEX "Mail_sessionId_index_key" ON "Mail"("sessionId", "index");

-- CreateIndex
CREATE INDEX "Attachment_mailId_idx" ON "Attachment"("mailId");

-- CreateIndex
CREATE INDEX "Attachment_sha256_idx" ON "Attachment"("sha256");

-- CreateIndex
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

-- CreateIndex
CREATE UNIQUE INDEX "LoginSession_tokenHash_key" ON "LoginSession"("tokenHash");

-- CreateIndex
CREATE INDEX "LoginSession_userId_idx" ON "LoginSession"("userId");

-- CreateIndex
CREATE INDEX "LoginSession_expiresAt_idx" ON "LoginSession"("expiresAt");

-- CreateIndex
CREATE INDEX "AuditLog_ts_idx" ON "AuditLog"("ts");

-- CreateIndex
CREATE INDEX "AuditLog_userId_ts_idx" ON "AuditLog"("userId", "ts");

-- CreateIndex
CREATE INDEX "AuditLog_action_ts_idx" ON "AuditLog"("action", "ts");

-- AddForeignKey
ALTER TABLE "Capture" ADD CONSTRAINT "Capture_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "Agent"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_captureId_fkey" FOREIGN KEY ("captureId") REFERENCES "Capture"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TimelineEntry" ADD CONSTRAINT "TimelineEntry_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Packet" ADD CONSTRAINT "Packet_captureId_fkey" FOREIGN KEY ("captureId") REFERENCES "Capture"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Packet" ADD CONSTRAINT "Packet_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Mail" ADD CONSTRAINT "Mail_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_mailId_fkey" FOREIGN KEY ("mailId") REFERENCES "Mail"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Setting" ADD CONSTRAINT "Setting_updatedBy_fkey" FOREIGN KEY ("updatedBy") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LoginSession" ADD CONSTRAINT "LoginSession_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditLog" ADD CONSTRAINT "AuditLog_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
