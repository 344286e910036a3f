-- Packet rows carry no foreign keys: the per-row checks cost 40% of a packet COPY (schema.prisma, model Packet).

-- DropForeignKey
ALTER TABLE "Packet" DROP CONSTRAINT "Packet_captureId_fkey";

-- DropForeignKey
ALTER TABLE "Packet" DROP CONSTRAINT "Packet_sessionId_fkey";
