// Configuration of the prisma CLI (Prisma 7 reads the connection here, not in schema.prisma).
// The CLI is used for `prisma generate` only: migrations are applied by src/migrate.ts, because
// Prisma's schema engine is a binary download this project's machines cannot make (README.md).
// `prisma migrate deploy` still works where the engine exists, against DATABASE_URL.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
