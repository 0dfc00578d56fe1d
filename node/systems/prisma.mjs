// Prisma ORM 7 on a local file: the `prisma-client` generator's client (compiled to JavaScript
// at install time, see prisma/build.mjs) with the libSQL driver adapter. Idiomatic Prisma calls:
// findMany with an ordered include, nested writes, $transaction for the two deletes. Prisma
// decides the transactions: a nested write or $transaction is one (BEGIN DEFERRED, the adapter's
// choice); a single-statement write runs without one.
//
// The adapter is given the same @libsql/client as node-libsql (package.json overrides its
// ^0.17 range): 0.17's file client opens a new connection after every transaction, which
// silently drops PRAGMA synchronous back to FULL (and busy_timeout to 0) after the first write.
import { PrismaLibSql } from "@prisma/adapter-libsql";
import { PrismaClient } from "../generated/prisma-client.mjs";
import * as sql from "./sql.mjs";
import { packageVersion } from "../versions.mjs";

export const synchronous = false;

export async function open(target, settings) {
  const adapter = new PrismaLibSql({ url: `file:${target.path}`, concurrency: 1 });
  const prisma = new PrismaClient({ adapter });
  await prisma.$connect();
  for (const pragma of sql.settingPragmas(settings)) await prisma.$queryRawUnsafe(pragma);
  return new PrismaStore(prisma);
}

const messageData = ({ conversationId, ...message }) => message;

class PrismaStore {
  constructor(prisma) {
    this.prisma = prisma;
  }

  async schema() {
    // prisma migrate / db push need the native schema engine (not installable offline here):
    // the tables are created with the workload's SQL, which the Prisma schema mirrors.
    await this.prisma.$transaction(sql.SCHEMA.map((statement) => this.prisma.$executeRawUnsafe(statement)));
  }

  async preload(conversations) {
    await this.prisma.$transaction([
      this.prisma.conversation.createMany({ data: conversations.map(({ messages, ...c }) => c) }),
      this.prisma.message.createMany({ data: conversations.flatMap((c) => c.messages) }),
    ]);
  }

  load_all() {
    return this.prisma.conversation.findMany({
      orderBy: [{ updatedAt: "desc" }, { id: "asc" }],
      include: { messages: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] } },
    });
  }

  load_page(limit) {
    return this.prisma.conversation.findMany({
      orderBy: [{ updatedAt: "desc" }, { id: "asc" }],
      take: limit,
      include: { messages: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] } },
    });
  }

  async create_conversation({ messages, ...c }) {
    const data = messages.length ? { ...c, messages: { create: messages.map(messageData) } } : c;
    await this.prisma.conversation.create({ data });
  }

  async add_message(m) {
    await this.prisma.conversation.update({
      where: { id: m.conversationId },
      data: { updatedAt: m.createdAt, messages: { create: messageData(m) } },
    });
  }

  async update_title(id, title, updatedAt) {
    await this.prisma.conversation.update({ where: { id }, data: { title, updatedAt } });
  }

  async delete_conversation(id) {
    await this.prisma.$transaction([
      this.prisma.message.deleteMany({ where: { conversationId: id } }),
      this.prisma.conversation.delete({ where: { id } }),
    ]);
  }

  async describe() {
    const one = async (query) => Object.values((await this.prisma.$queryRawUnsafe(query))[0])[0];
    const values = [];
    for (const query of ["SELECT sqlite_version()", ...sql.READ_BACK]) values.push(await one(query));
    const [version, ...settings] = values;
    return {
      driver_version: `prisma ${packageVersion("@prisma/client")}, @prisma/adapter-libsql ${packageVersion("@prisma/adapter-libsql")}, ` +
        `@libsql/client ${packageVersion("@libsql/client")}`,
      sqlite_version: version,
      settings: sql.settingsFrom(...settings,
        "Prisma's own: one transaction per nested write or $transaction (BEGIN DEFERRED), none for single-statement writes"),
    };
  }

  async close() {
    await this.prisma.$disconnect();
  }
}
